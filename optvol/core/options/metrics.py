"""
Error metrics for option-price models, overall and by contract bucket.

Every model is scored on exactly the same rows (docs/architecture.md §4): a model
that cannot price a row is an error, never a silently smaller denominator.
With actual mids :math:`y_i`, predictions :math:`\\hat y_i` and strikes
:math:`K_i` over :math:`n` rows,

.. math::

   \\mathrm{RMSE} = \\sqrt{\\tfrac{1}{n}\\sum_i (\\hat y_i - y_i)^2}, \\qquad
   \\mathrm{MAE} = \\tfrac{1}{n}\\sum_i |\\hat y_i - y_i|, \\qquad
   \\mathrm{RMSE}/K = \\sqrt{\\tfrac{1}{n}\\sum_i \\big((\\hat y_i - y_i)/K_i\\big)^2}

   \\mathrm{MdAPE} = 100 \\cdot \\operatorname{median}_{i:\\, y_i \\ge 0.50}
   \\; |\\hat y_i - y_i| / y_i

RMSE and MAE are in dollars; RMSE/K is a fraction of the strike; MdAPE is a
percentage, taken only over mids of at least ``MIN_MID_FOR_PCT`` dollars because
percentage errors on penny options are noise.

Rows are bucketed by signed log-moneyness (see :func:`moneyness_bucket`) and by
calendar days to expiry (see :func:`dte_bucket`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DTE_BUCKETS",
    "LOSS_METRICS",
    "MIN_MID_FOR_PCT",
    "MONEYNESS_BUCKETS",
    "best_model",
    "dte_bucket",
    "evaluate_models",
    "moneyness_bucket",
    "price_errors",
    "signed_log_moneyness",
]

MONEYNESS_BUCKETS = ("deep_otm", "otm", "atm", "itm", "deep_itm")
DTE_BUCKETS = ("<=7", "8-30", "31-90", ">90")
MIN_MID_FOR_PCT = 0.50
# Metrics of price_errors where lower is better; the others are row counts.
LOSS_METRICS = ("rmse", "mae", "rmse_over_strike", "median_ape_pct")

REQUIRED_COLUMNS = ("quote_date", "option_type", "strike", "underlying", "dte_days", "mid")

Float = NDArray[np.float64]


def signed_log_moneyness(underlying: ArrayLike, strike: ArrayLike, is_call: ArrayLike) -> Float:
    """
    Log-moneyness signed so that positive means in the money.

    .. math::

       m = \\begin{cases} \\ln(S/K) & \\text{call} \\\\ \\ln(K/S) & \\text{put} \\end{cases}

    Parameters
    ----------
    underlying, strike : array_like
        Underlying price :math:`S` and strike :math:`K`; both must be finite and > 0.
    is_call : array_like of bool
        True for calls, False for puts. All three broadcast against each other.

    Returns
    -------
    ndarray of float64
        The signed log-moneyness :math:`m`.

    Raises
    ------
    ValueError
        If any underlying price or strike is not finite and positive.
    """
    s = np.asarray(underlying, dtype=np.float64)
    k = np.asarray(strike, dtype=np.float64)
    for label, values in (("underlying", s), ("strike", k)):
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"{label} prices must be finite and positive")
    log_s_over_k = np.log(s / k)
    return np.where(np.asarray(is_call, dtype=bool), log_s_over_k, -log_s_over_k)


def moneyness_bucket(log_moneyness: ArrayLike) -> NDArray[np.object_]:
    """
    Name the moneyness bucket of each signed log-moneyness.

    With :math:`m` from :func:`signed_log_moneyness` (positive = in the money):

    ============  =============================
    bucket        range
    ============  =============================
    ``deep_otm``  :math:`m < -0.10`
    ``otm``       :math:`-0.10 \\le m < -0.02`
    ``atm``       :math:`-0.02 \\le m \\le 0.02`
    ``itm``       :math:`0.02 < m \\le 0.10`
    ``deep_itm``  :math:`m > 0.10`
    ============  =============================

    The ATM band is closed on both sides, so a threshold always falls in the
    bucket nearer the money.

    Parameters
    ----------
    log_moneyness : array_like
        Signed log-moneyness; must be finite.

    Returns
    -------
    ndarray of object
        Bucket names from ``MONEYNESS_BUCKETS``, same shape as the input.

    Raises
    ------
    ValueError
        If any value is NaN or infinite.
    """
    return np.asarray(MONEYNESS_BUCKETS, dtype=object)[_moneyness_index(log_moneyness)]


def dte_bucket(dte_days: ArrayLike) -> NDArray[np.object_]:
    """
    Name the days-to-expiry bucket of each option.

    ========  =======================
    bucket    calendar days to expiry
    ========  =======================
    ``<=7``   :math:`d \\le 7`
    ``8-30``  :math:`7 < d \\le 30`
    ``31-90`` :math:`30 < d \\le 90`
    ``>90``   :math:`d > 90`
    ========  =======================

    Parameters
    ----------
    dte_days : array_like
        Calendar days from the quote date to expiry; must be finite and >= 0.

    Returns
    -------
    ndarray of object
        Bucket names from ``DTE_BUCKETS``, same shape as the input.

    Raises
    ------
    ValueError
        If any value is negative, NaN or infinite.
    """
    return np.asarray(DTE_BUCKETS, dtype=object)[_dte_index(dte_days)]


def _moneyness_index(log_moneyness: ArrayLike) -> NDArray[np.intp]:
    m = np.asarray(log_moneyness, dtype=np.float64)
    if not np.all(np.isfinite(m)):
        raise ValueError("log-moneyness must be finite")
    index = (m >= -0.10).astype(np.intp)
    index += m >= -0.02
    index += m > 0.02
    index += m > 0.10
    return index


def _dte_index(dte_days: ArrayLike) -> NDArray[np.intp]:
    d = np.asarray(dte_days, dtype=np.float64)
    if not np.all(np.isfinite(d) & (d >= 0)):
        raise ValueError("days to expiry must be finite and non-negative")
    index = (d > 7).astype(np.intp)
    index += d > 30
    index += d > 90
    return index


def price_errors(
    actual: ArrayLike, predicted: ArrayLike, strike: ArrayLike, *, name: str | None = None
) -> dict:
    """
    Price-error metrics of one model on one set of rows.

    Parameters
    ----------
    actual : array_like
        Actual mid prices :math:`y_i` in dollars, 1-D.
    predicted : array_like
        Predicted prices :math:`\\hat y_i` in dollars, same shape; must be finite.
    strike : array_like
        Strikes :math:`K_i` in dollars, same shape; must be finite and > 0.
    name : str, optional
        Model name, used in error messages.

    Returns
    -------
    dict
        JSON-serialisable, with plain Python numbers:

        - ``rows``: :math:`n`;
        - ``rmse``: :math:`\\sqrt{\\operatorname{mean}((\\hat y - y)^2)}` in dollars;
        - ``mae``: :math:`\\operatorname{mean}|\\hat y - y|` in dollars;
        - ``rmse_over_strike``: :math:`\\sqrt{\\operatorname{mean}(((\\hat y - y)/K)^2)}`;
        - ``median_ape_pct``: :math:`100\\,\\operatorname{median}(|\\hat y - y|/y)` over
          rows with :math:`y \\ge` ``MIN_MID_FOR_PCT``, or None if there are none;
        - ``rows_ape``: the number of those rows.

        With no rows every metric is None and both counts are 0.

    Raises
    ------
    ValueError
        If the shapes differ or are not 1-D, a prediction is not finite, an actual
        price is not finite, or a strike is not finite and positive.
    """
    y, y_hat, k = _checked_arrays(actual, predicted, strike, name)
    if y.size == 0:
        return {"rows": 0, **dict.fromkeys(LOSS_METRICS), "rows_ape": 0}
    error = y_hat - y
    priced = y >= MIN_MID_FOR_PCT
    ape = np.abs(error[priced]) / y[priced]
    return {
        "rows": int(y.size),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "rmse_over_strike": float(np.sqrt(np.mean((error / k) ** 2))),
        "median_ape_pct": float(np.median(ape) * 100.0) if ape.size else None,
        "rows_ape": int(ape.size),
    }


def _checked_arrays(
    actual: ArrayLike, predicted: ArrayLike, strike: ArrayLike, name: str | None
) -> tuple[Float, Float, Float]:
    who = f"model {name!r}: " if name is not None else ""
    y = np.asarray(actual, dtype=np.float64)
    y_hat = np.asarray(predicted, dtype=np.float64)
    k = np.asarray(strike, dtype=np.float64)
    if y.ndim != 1 or y_hat.shape != y.shape or k.shape != y.shape:
        raise ValueError(
            f"{who}actual, predicted and strike must be 1-D of one length, "
            f"got shapes {y.shape}, {y_hat.shape}, {k.shape}"
        )
    bad = int(np.count_nonzero(~np.isfinite(y_hat)))
    if bad:
        raise ValueError(f"{who}{bad} of {y_hat.size} predictions are not finite")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{who}actual prices must be finite")
    if not np.all(np.isfinite(k) & (k > 0)):
        raise ValueError(f"{who}strikes must be finite and positive")
    return y, y_hat, k


def evaluate_models(rows: pd.DataFrame, predictions: Mapping[str, ArrayLike]) -> dict:
    """
    Score every model on the same rows: overall, by option type, bucket and date.

    Parameters
    ----------
    rows : DataFrame
        One row per priced option side, with columns ``quote_date`` (datetime64),
        ``option_type`` ("C" or "P", may be categorical), ``strike``, ``underlying``
        (:math:`S_t`), ``dte_days`` and ``mid`` (the actual price).
    predictions : mapping of str to array_like
        Model name to predicted prices aligned with ``rows`` (positionally).

    Returns
    -------
    dict
        JSON-serialisable::

            {"rows": n, "models": [names], "first_date": iso | None,
             "last_date": iso | None, "dates": count,
             "overall": {model: price_errors},
             "by_type": {"call": {model: price_errors}, "put": {...}},
             "by_bucket": [{"moneyness": b, "dte": d, "rows": n,
                            "metrics": {model: price_errors}}, ...],
             "by_date": {"date": [iso], "rmse": {model: [float]}}}

        ``by_bucket`` lists only non-empty buckets, moneyness-major in the order of
        ``MONEYNESS_BUCKETS`` then ``DTE_BUCKETS``; moneyness is
        :func:`signed_log_moneyness` of ``underlying`` and ``strike``. ``by_date`` is
        sorted by date, with the RMSE of each model over that date's rows.

    Raises
    ------
    ValueError
        If a column is missing, there are no models, an option type is not "C"/"P",
        a quote date is missing, or any model's predictions fail
        :func:`price_errors` checks (wrong length, not finite).
    """
    _check_frame(rows, predictions)
    y = rows["mid"].to_numpy(dtype=np.float64)
    k = rows["strike"].to_numpy(dtype=np.float64)
    preds = {name: np.asarray(p, dtype=np.float64) for name, p in predictions.items()}
    is_call = _is_call(rows["option_type"])
    overall = {name: price_errors(y, p, k, name=name) for name, p in preds.items()}

    def scored(index: NDArray[np.intp]) -> dict:
        return {name: price_errors(y[index], p[index], k[index]) for name, p in preds.items()}

    dates = pd.to_datetime(rows["quote_date"]).dt.normalize()
    return {
        "rows": len(rows),
        "models": list(preds),
        "first_date": _iso(dates.min()) if len(dates) else None,
        "last_date": _iso(dates.max()) if len(dates) else None,
        "dates": int(dates.nunique()),
        "overall": overall,
        "by_type": {
            "call": scored(np.flatnonzero(is_call)),
            "put": scored(np.flatnonzero(~is_call)),
        },
        "by_bucket": _by_bucket(rows, is_call, scored),
        "by_date": _by_date(dates, y, preds),
    }


def _check_frame(rows: pd.DataFrame, predictions: Mapping[str, ArrayLike]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"rows lack columns {missing}")
    if not predictions:
        raise ValueError("no model predictions to evaluate")
    if rows["quote_date"].isna().any():
        raise ValueError("rows have missing quote dates")


def _is_call(option_type: pd.Series) -> NDArray[np.bool_]:
    types = option_type.astype(object).to_numpy()
    unknown = set(pd.unique(types)) - {"C", "P"}
    if unknown:
        raise ValueError(f"option_type must be 'C' or 'P', found {sorted(map(str, unknown))}")
    return types == "C"


def _by_bucket(
    frame: pd.DataFrame, is_call: NDArray[np.bool_], scored: Callable[[NDArray[np.intp]], dict]
) -> list[dict]:
    m = signed_log_moneyness(frame["underlying"], frame["strike"], is_call)
    code = _moneyness_index(m) * len(DTE_BUCKETS) + _dte_index(frame["dte_days"])
    buckets = []
    for group, index in _groups(code, len(MONEYNESS_BUCKETS) * len(DTE_BUCKETS)):
        moneyness, dte = divmod(group, len(DTE_BUCKETS))
        buckets.append(
            {
                "moneyness": MONEYNESS_BUCKETS[moneyness],
                "dte": DTE_BUCKETS[dte],
                "rows": int(index.size),
                "metrics": scored(index),
            }
        )
    return buckets


def _groups(code: NDArray[np.intp], n_groups: int) -> Iterator[tuple[int, NDArray[np.intp]]]:
    """Yield (group, row indices) for each non-empty group, from one stable sort."""
    order = np.argsort(code, kind="stable")
    counts = np.bincount(code, minlength=n_groups)
    ends = np.cumsum(counts)
    for group in np.flatnonzero(counts):
        yield int(group), order[ends[group] - counts[group] : ends[group]]


def _by_date(dates: pd.Series, y: Float, preds: Mapping[str, Float]) -> dict:
    # factorize with sort=True gives dense date codes in date order.
    code, uniques = pd.factorize(dates, sort=True)
    counts = np.bincount(code, minlength=len(uniques))
    rmse = {
        name: np.sqrt(np.bincount(code, weights=(p - y) ** 2, minlength=len(uniques)) / counts)
        for name, p in preds.items()
    }
    return {
        "date": [_iso(d) for d in uniques],
        "rmse": {name: [float(v) for v in values] for name, values in rmse.items()},
    }


def _iso(timestamp: pd.Timestamp) -> str:
    return pd.Timestamp(timestamp).date().isoformat()


def best_model(evaluation: Mapping, candidates: Iterable[str], metric: str = "rmse") -> str:
    """
    The candidate with the lowest overall ``metric`` in an evaluation.

    Parameters
    ----------
    evaluation : mapping
        A result of :func:`evaluate_models`.
    candidates : iterable of str
        Model names to choose among; each must be in ``evaluation["overall"]``.
    metric : str, default "rmse"
        One of ``LOSS_METRICS``.

    Returns
    -------
    str
        The best candidate; ties go to the one listed first. Candidates whose metric
        is None (no rows) are skipped.

    Raises
    ------
    ValueError
        If ``metric`` is not a loss metric, a candidate is unknown, or no candidate
        has a value for ``metric``.
    """
    if metric not in LOSS_METRICS:
        raise ValueError(f"metric must be one of {LOSS_METRICS}, got {metric!r}")
    overall = evaluation["overall"]
    names = list(candidates)
    unknown = [n for n in names if n not in overall]
    if unknown:
        raise ValueError(f"unknown candidate models {unknown}; evaluated: {list(overall)}")
    scores = {n: overall[n][metric] for n in names if overall[n][metric] is not None}
    if not scores:
        raise ValueError(f"no candidate among {names} has a {metric!r} value")
    return min(scores, key=scores.__getitem__)
