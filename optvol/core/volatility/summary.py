"""
Summary statistics of the cleaned ``market_features`` table, for the reports.

What an analyst checks before trusting the daily market data: its span and rows by
year, where VIX and the 21-day targets exist, missing values, the distributions of
daily and 21-day log returns (with their fat tails: skewness and excess kurtosis), of
realized volatility, VIX and the variance risk premium, and how well VIX tracks realized
volatility on the same day and over the next 21 trading days. Volatilities are
annualized decimals (0.15 = 15 %); VIX is divided by 100 to match. The result holds plain
Python values only (see :mod:`optvol.core.common.data_summary`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optvol.core.common.data_summary import (
    TAIL_QUANTILES,
    distribution,
    finite_values,
    iso_date,
    json_number,
    missing_counts,
    require_columns,
)
from optvol.core.volatility.features import TARGET_COLUMNS, TARGET_RV, TRADING_DAYS_PER_YEAR

__all__ = ["MIN_CORRELATION_ROWS", "REQUIRED_COLUMNS", "pearson", "summarize_market_features"]

REQUIRED_COLUMNS = ("date", "vix_close", "log_return", "return_21", "rv_21", "vrp", *TARGET_COLUMNS)
MIN_CORRELATION_ROWS = 3


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation ``sum dx dy / sqrt(sum dx^2 sum dy^2)`` (``dx = x - mean x``) of
    two equally long float arrays, as ``np.corrcoef``; None with fewer than
    ``MIN_CORRELATION_ROWS`` pairs or when either is constant."""
    if x.size < MIN_CORRELATION_ROWS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return json_number(np.corrcoef(x, y)[0, 1])


def summarize_market_features(frame: pd.DataFrame) -> dict:
    """
    Summary statistics of a ``market_features`` table (one row per trading day).

    Keys:

    - ``rows``; ``first_date``, ``last_date`` (ISO, None when empty); ``rows_with_vix``
      (rows with a finite ``vix_close``);
    - ``by_year``: ``{"1999": {"rows", "rows_with_vix", "rows_with_targets"}}`` by the year
      of ``date``, years sorted; a row with targets has both ``target_rv_21`` and
      ``target_return_21``;
    - ``missing_values``: missing values of every column
      (:func:`~optvol.core.common.data_summary.missing_counts`);
    - ``daily_log_return``: :func:`~optvol.core.common.data_summary.distribution` of
      ``log_return`` with the 1/5/50/95/99 % quantiles, skewness and excess kurtosis,
      plus ``annualized_mean = 252 mean`` and ``annualized_vol = sqrt(252) std``;
    - ``return_21``: the same distribution of the 21-trading-day log return;
    - ``rv_21``: distribution of the 21-day realized volatility;
    - ``vix``: distribution of ``vix_close / 100``, comparable with realized volatility;
    - ``vrp``: distribution of the variance risk premium ``(VIX/100)^2 - RV21^2``, plus
      ``share_positive``, the share of its finite values that are > 0 (None if none);
    - ``vix_rv_correlation``: ``rows`` (days with VIX and ``rv_21``), ``vix_vs_rv21``
      (their Pearson correlation on the same day), ``rows_ahead`` (days with VIX and
      ``target_rv_21``), ``vix_vs_rv21_ahead`` (correlation of VIX/100 with the realized
      volatility of the next 21 trading days) and ``log_vix_vs_log_rv21_ahead`` (the
      correlation of ``ln(VIX/100)`` and ``ln(target_rv_21)`` over those days where both
      are > 0); a correlation is None on fewer than 3 rows (:func:`pearson`).

    Raises
    ------
    ValueError
        If a column of ``REQUIRED_COLUMNS`` is missing; the message names it.
    """
    require_columns(frame, REQUIRED_COLUMNS, "market_features")
    dates = pd.to_datetime(frame["date"])
    vix = _floats(frame["vix_close"]) / 100.0
    has_vix = np.isfinite(vix)
    has_targets = np.isfinite(_floats(frame[list(TARGET_COLUMNS)])).all(axis=1)

    daily = distribution(frame["log_return"], TAIL_QUANTILES, moments=True)
    mean, std = daily["mean"], daily["std"]
    daily["annualized_mean"] = None if mean is None else mean * TRADING_DAYS_PER_YEAR
    daily["annualized_vol"] = None if std is None else std * math.sqrt(TRADING_DAYS_PER_YEAR)

    vrp = distribution(frame["vrp"])
    vrp_values = finite_values(frame["vrp"])
    vrp["share_positive"] = float(np.mean(vrp_values > 0)) if vrp_values.size else None

    return {
        "rows": len(frame),
        "first_date": iso_date(dates.min()),
        "last_date": iso_date(dates.max()),
        "rows_with_vix": int(has_vix.sum()),
        "by_year": _by_year(dates, has_vix, has_targets),
        "missing_values": missing_counts(frame),
        "daily_log_return": daily,
        "return_21": distribution(frame["return_21"], TAIL_QUANTILES, moments=True),
        "rv_21": distribution(frame["rv_21"]),
        "vix": distribution(vix),
        "vrp": vrp,
        "vix_rv_correlation": _vix_rv_correlation(
            vix, _floats(frame["rv_21"]), _floats(frame[TARGET_RV])
        ),
    }


def _floats(values: pd.Series | pd.DataFrame) -> np.ndarray:
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _by_year(dates: pd.Series, has_vix: np.ndarray, has_targets: np.ndarray) -> dict:
    table = pd.DataFrame({"year": dates.dt.year, "vix": has_vix, "targets": has_targets})
    grouped = table.dropna(subset=["year"]).groupby("year", sort=True)
    counts = grouped.agg(rows=("vix", "size"), vix=("vix", "sum"), targets=("targets", "sum"))
    return {
        str(int(year)): {
            "rows": int(row["rows"]),
            "rows_with_vix": int(row["vix"]),
            "rows_with_targets": int(row["targets"]),
        }
        for year, row in counts.iterrows()
    }


def _vix_rv_correlation(vix: np.ndarray, rv21: np.ndarray, target: np.ndarray) -> dict:
    same_day = np.isfinite(vix) & np.isfinite(rv21)
    ahead = np.isfinite(vix) & np.isfinite(target)
    positive = ahead & (vix > 0) & (target > 0)
    return {
        "rows": int(same_day.sum()),
        "vix_vs_rv21": pearson(vix[same_day], rv21[same_day]),
        "rows_ahead": int(ahead.sum()),
        "vix_vs_rv21_ahead": pearson(vix[ahead], target[ahead]),
        "log_vix_vs_log_rv21_ahead": pearson(np.log(vix[positive]), np.log(target[positive])),
    }
