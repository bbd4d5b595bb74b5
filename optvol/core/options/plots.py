"""
PNG charts of option-price model evaluations.

Each chart is drawn and written as :mod:`optvol.core.reports.plotting` says (no pyplot,
thread-safe, atomic, byte-identical for identical input) to ``path``, which the function
returns as a :class:`~pathlib.Path`.

``evaluation`` is a result of :func:`optvol.core.options.metrics.evaluate_models`.
Every function raises :class:`ValueError` on empty input rather than writing an empty
chart.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.patches import Patch
from matplotlib.ticker import (
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
    StrMethodFormatter,
)
from numpy.typing import ArrayLike

from optvol.core.common.data_summary import require_columns
from optvol.core.options.evaluation_file import Hedging, OutOfSampleScores, Regression
from optvol.core.options.metrics import DTE_BUCKETS, MONEYNESS_BUCKETS
from optvol.core.reports.plotting import empty_panel, figure, save_png, subsample

__all__ = [
    "plot_error_over_time",
    "plot_hedging_gains",
    "plot_iv_dynamics",
    "plot_loss_curves",
    "plot_option_data_distributions",
    "plot_predicted_vs_actual",
    "plot_rmse_by_bucket",
]

# Prices below a cent are drawn at a cent so that log axes can show them.
PRICE_FLOOR = 0.01
# The distribution charts cut their x axis at these percentiles, so that a few extreme
# quotes do not squeeze the bulk into one bin.
IV_AXIS_PERCENTILE = 99.5
RELATIVE_SPREAD_AXIS_PERCENTILE = 99.0
HISTOGRAM_BINS = 80
# Font sizes (pt) of the RMSE small multiples: the 10 in wide chart is shrunk to about
# 6.8 in on an A4 page, and its text should stay at 8 pt or more there.
FONT = 12.0
TITLE_FONT = 14.0


# The evaluation's charts: name -> file under plots/.
def plot_rmse_by_bucket(evaluation: OutOfSampleScores, path: str | os.PathLike) -> Path:
    """
    Small multiples of RMSE ($) per moneyness bucket, one panel per days-to-expiry bucket.

    Panels follow ``DTE_BUCKETS``, one for each bucket present in
    ``evaluation.by_bucket``, two per row unless there is only one (four make a 2 x 2
    grid of 10 x 7.5 in; one row is 10 x 4.5 in). Within a panel the x axis holds the
    moneyness buckets present for that days to expiry, in ``MONEYNESS_BUCKETS`` order,
    each tick labelled with the bucket and its row count. The order of
    ``evaluation.by_bucket`` does not matter; names outside those constants come
    last, sorted. Each bucket has one bar per model of ``evaluation.models``, in that
    order and in the same colour (``C{i}``) in every panel; a missing (None) RMSE draws
    no bar. The y axis is shared by all panels and logarithmic when every RMSE drawn is
    positive, as model errors span orders of magnitude; otherwise linear from zero. One
    legend serves the figure, in the spare slot of the grid if there is one, else below
    the panels; the title gives the test span. Text is at least ``FONT`` pt, so that it
    stays legible with the chart shrunk to an A4 text width.

    Raises
    ------
    ValueError
        If the evaluation has no buckets (no rows) or no models.
    """
    buckets, models = evaluation.by_bucket, evaluation.models
    if not buckets or not models:
        raise ValueError("evaluation has no rows or no models: nothing to plot")
    by_key = {(b.dte, b.moneyness): b for b in buckets}
    panels = _in_order({dte for dte, _ in by_key}, DTE_BUCKETS)
    rmse = np.array(
        [[_nan_if_none(b.metrics[m].rmse) for m in models] for b in buckets],
        dtype=np.float64,
    )
    drawn = rmse[np.isfinite(rmse)]
    log_y = drawn.size > 0 and bool(np.all(drawn > 0))
    ncols = 1 if len(panels) == 1 else 2
    nrows = math.ceil(len(panels) / ncols)
    fig = figure(width=10.0, height=7.5 if nrows > 1 else 4.5)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
    width = 0.8 / len(models)
    for ax, dte in zip(axes, panels, strict=False):
        moneyness = _in_order({m for d, m in by_key if d == dte}, MONEYNESS_BUCKETS)
        cells = [by_key[dte, m] for m in moneyness]
        x = np.arange(len(cells))
        for i, model in enumerate(models):
            heights = [_nan_if_none(b.metrics[model].rmse) for b in cells]
            offset = (i - (len(models) - 1) / 2) * width
            ax.bar(x + offset, heights, width, color=f"C{i}", label=model)
        ax.set_xticks(x, [f"{m}\nn={b.rows:,}" for m, b in zip(moneyness, cells, strict=True)])
        ax.set_xlim(-0.5, len(cells) - 0.5)
        ax.set_title(f"{dte} days to expiry", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    for ax in axes[max(0, len(panels) - ncols) : len(panels)]:  # no panel below
        ax.set_xlabel("Moneyness bucket, n = rows", fontsize=FONT)
    for ax in axes[0::ncols]:
        ax.set_ylabel("RMSE ($, log scale)" if log_y else "RMSE ($)", fontsize=FONT)
    if log_y:
        axes[0].set_yscale("log")
        axes[0].set_ylim(float(drawn.min()) / 1.4, float(drawn.max()) * 1.4)
        axes[0].yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axes[0].yaxis.set_minor_formatter(NullFormatter())
    fig.suptitle(
        f"Price RMSE by moneyness and days to expiry{_span(evaluation)}", fontsize=TITLE_FONT
    )
    handles = [Patch(color=f"C{i}", label=model) for i, model in enumerate(models)]
    spare = axes[len(panels) :]
    for ax in spare:
        ax.set_visible(False)
    if spare.size:
        spare[0].set_visible(True)
        spare[0].axis("off")
        spare[0].legend(
            handles=handles, title="Model", loc="center", fontsize=FONT, title_fontsize=FONT
        )
    else:
        fig.legend(
            handles=handles,
            title="Model",
            loc="outside lower center",
            ncols=min(3, len(models)),
            fontsize=FONT,
            title_fontsize=FONT,
        )
    return save_png(fig, path)


def _in_order(names: set[str], order: Sequence[str]) -> list[str]:
    """``names`` in the order of ``order``; names not in it after those, sorted."""
    return [n for n in order if n in names] + sorted(names.difference(order))


def plot_predicted_vs_actual(
    actual: ArrayLike,
    predictions: Mapping[str, ArrayLike],
    path: str | os.PathLike,
    max_points: int = 20000,
) -> Path:
    """
    Scatter of predicted against actual price, one log-log panel per model.

    Each panel has the 45 degree line ``predicted = actual`` and, in its title, the
    RMSE over all rows. Prices below ``PRICE_FLOOR`` are drawn at the floor. With
    more than ``max_points`` rows, the same random subsample (fixed seed, so the
    chart is reproducible) is drawn in every panel.

    Parameters
    ----------
    actual : array_like
        Actual mid prices in dollars, 1-D.
    predictions : mapping of str to array_like
        Model name to predicted prices, each the shape of ``actual``.
    max_points : int, default 20000
        Most points drawn per panel; must be >= 1.

    Raises
    ------
    ValueError
        If there are no rows or no models, a prediction has the wrong shape or is
        not finite, an actual price is not finite, or ``max_points < 1``.
    """
    y, preds = _checked_scatter_input(actual, predictions, max_points)
    rmse = {name: math.sqrt(float(np.mean((p - y) ** 2))) for name, p in preds.items()}
    shown = subsample(y.size, max_points)
    y_shown = np.maximum(y[shown], PRICE_FLOOR)
    top = max(float(y_shown.max()), *(float(p[shown].max()) for p in preds.values()))
    limits = (PRICE_FLOOR / 1.5, max(top, PRICE_FLOOR) * 1.5)
    ncols = min(3, len(preds))
    nrows = math.ceil(len(preds) / ncols)
    fig = figure(width=4.2 * ncols, height=4.2 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (name, p) in zip(axes, preds.items(), strict=False):
        _scatter_panel(ax, y_shown, np.maximum(p[shown], PRICE_FLOOR), limits)
        ax.set_title(f"{name}  (RMSE ${rmse[name]:.3f})")
    for ax in axes[len(preds) :]:
        ax.set_visible(False)
    sample = f"{shown.size:,} of {y.size:,} rows" if shown.size < y.size else f"{y.size:,} rows"
    fig.suptitle(
        f"Predicted vs actual option price ({sample})\n"
        # Two unescaped dollar signs would start mathtext.
        rf"prices below \${PRICE_FLOOR:.2f} drawn at \${PRICE_FLOOR:.2f}"
    )
    return save_png(fig, path)


def _checked_scatter_input(
    actual: ArrayLike, predictions: Mapping[str, ArrayLike], max_points: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    y = np.asarray(actual, dtype=np.float64)
    if y.ndim != 1 or y.size == 0 or not predictions:
        raise ValueError("need a non-empty 1-D array of actual prices and at least one model")
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    if not np.all(np.isfinite(y)):
        raise ValueError("actual prices must be finite")
    preds = {name: np.asarray(p, dtype=np.float64) for name, p in predictions.items()}
    for name, p in preds.items():
        if p.shape != y.shape:
            raise ValueError(f"model {name!r}: predictions shape {p.shape} != actual {y.shape}")
        if not np.all(np.isfinite(p)):
            raise ValueError(f"model {name!r}: predictions are not all finite")
    return y, preds


def _scatter_panel(ax: Axes, x: np.ndarray, y: np.ndarray, limits: tuple[float, float]) -> None:
    ax.scatter(x, y, s=2, alpha=0.3, linewidths=0, label="option sides")
    ax.plot(limits, limits, color="black", linestyle="--", linewidth=1, label="predicted = actual")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(limits)
    ax.set_ylim(limits)
    ax.set_aspect("equal")
    ax.set_xlabel("Actual mid ($)")
    ax.set_ylabel("Predicted price ($)")
    ax.grid(alpha=0.3)
    ax.minorticks_off()  # log-axis minor ticks double the drawing time and add little
    ax.legend(loc="upper left", fontsize=8, markerscale=4)


def plot_loss_curves(
    history: Sequence[Mapping], path: str | os.PathLike, *, ylabel: str = "Loss"
) -> Path:
    """
    Training and validation loss per epoch, with the best validation epoch marked.

    The best epoch is the one with the lowest ``val_loss`` (the first on ties), as
    early stopping would choose. The loss axis is logarithmic when every loss is
    positive.

    Parameters
    ----------
    history : sequence of mapping
        Items ``{"epoch": int, "train_loss": float, "val_loss": float | None}``.
    ylabel : str, default "Loss"
        Loss axis label; name the objective and its units, e.g. ``"MSE ($²)"``.

    Raises
    ------
    ValueError
        If ``history`` is empty.
    """
    if not history:
        raise ValueError("empty training history: nothing to plot")
    items = sorted(history, key=lambda h: h["epoch"])
    epochs = np.array([h["epoch"] for h in items])
    train = np.array([_nan_if_none(h["train_loss"]) for h in items], dtype=np.float64)
    val = np.array([_nan_if_none(h.get("val_loss")) for h in items], dtype=np.float64)
    fig = figure(width=8.0, height=5.0)
    ax = fig.add_subplot()
    ax.plot(epochs, train, marker=".", label="train")
    ax.plot(epochs, val, marker=".", label="validation")
    if np.isfinite(val).any():
        best = int(np.nanargmin(val))
        ax.axvline(epochs[best], color="grey", linestyle=":", linewidth=1)
        ax.plot(
            epochs[best],
            val[best],
            marker="*",
            markersize=14,
            color="tab:red",
            linestyle="none",
            label=f"best validation: epoch {epochs[best]} ({val[best]:.4g})",
        )
    losses = np.concatenate([train, val])
    if np.all(losses[np.isfinite(losses)] > 0):
        ax.set_yscale("log")
    ax.set_xlabel("Epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title("Training and validation loss")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def plot_error_over_time(evaluation: OutOfSampleScores, path: str | os.PathLike) -> Path:
    """
    RMSE ($) per quote date, one line per model, from ``evaluation.by_date``.

    Raises
    ------
    ValueError
        If the evaluation has no dates (no rows) or no models.
    """
    by_date = evaluation.by_date
    if not by_date.date or not by_date.rmse:
        raise ValueError("evaluation has no dates or no models: nothing to plot")
    dates = np.array(by_date.date, dtype="datetime64[D]")
    fig = figure(width=10.0, height=5.0)
    ax = fig.add_subplot()
    for model, rmse in by_date.rmse.items():
        ax.plot(dates, [_nan_if_none(v) for v in rmse], marker=".", linewidth=1, label=model)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_xlabel("Quote date")
    ax.set_ylabel("RMSE ($)")
    ax.set_title(f"Price RMSE per quote date{_span(evaluation)}")
    ax.legend(title="Model", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def plot_hedging_gains(hedging: Hedging, path: str | os.PathLike) -> Path:
    """
    The one-day hedging gain of each delta over Black-Scholes's, ``1 - SSE/SSE_BS`` (%),
    per |delta| bucket: calls left, puts right, one bar per delta of
    ``hedging.deltas``, each bucket labelled with its pairs; the overall gains in the
    title, the legend below. ``hedging`` is the evaluation's (from
    :func:`optvol.core.options.hedging.hedging_gains`).

    Raises
    ------
    ValueError
        If there is no bucket (no pairs).
    """
    buckets, deltas = hedging.by_bucket, hedging.deltas
    if not buckets:
        raise ValueError("no hedge pairs: nothing to plot")
    fig = figure(width=12.0, height=5.5)
    axes = fig.subplots(1, 2, sharey=True)
    width = 0.8 / len(deltas)
    small = FONT - 2
    for ax, kind in zip(axes, ("call", "put"), strict=True):
        cells = [b for b in buckets if b.type == kind]
        x = np.arange(len(cells))
        for i, name in enumerate(deltas):
            heights = [100.0 * _nan_if_none(b.gain_vs_bs_delta[name]) for b in cells]
            ax.bar(x + (i - (len(deltas) - 1) / 2) * width, heights, width, color=f"C{i}",
                   label=name)  # fmt: skip
        labels = [f"{b.abs_delta[0]:g}-{b.abs_delta[1]:g}\n{b.pairs:,}" for b in cells]
        ax.set_xticks(x, labels, fontsize=small)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_title(f"{kind}s", fontsize=FONT)
        ax.set_xlabel("|Black-Scholes delta| at t-1 (pairs)", fontsize=FONT)
        ax.tick_params(axis="y", labelsize=FONT)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].set_ylabel("Gain over the Black-Scholes delta (%)", fontsize=FONT)
    overall = ", ".join(
        f"{name} {100.0 * _nan_if_none(gain):.1f}%"
        for name, gain in hedging.gain_vs_bs_delta.items()
    )
    fig.suptitle(f"One-day hedging, 1 - SSE/SSE_BS over {hedging.pairs:,} pairs\n{overall}",
                 fontsize=FONT)  # fmt: skip
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=len(deltas), fontsize=small)
    return save_png(fig, path)


def _span(evaluation: OutOfSampleScores) -> str:
    first, last, rows = evaluation.first_date, evaluation.last_date, evaluation.rows
    if first is None:
        return ""
    return f"\n{first} to {last}, {rows:,} rows"


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)


def plot_option_data_distributions(quotes: pd.DataFrame, path: str | os.PathLike) -> Path:
    """
    Histograms of the usable quotes of an ``option_quotes`` table, calls and puts overlaid.

    Left, the vendor's implied volatility (%) of usable rows with a finite one, the axis
    cut at its ``IV_AXIS_PERCENTILE`` percentile; right, the relative bid-ask spread
    ``spread / mid`` (% of mid, log-spaced bins on a log axis, as it spans decades) of
    usable rows with ``mid > 0``, the axis cut at its ``RELATIVE_SPREAD_AXIS_PERCENTILE``
    percentile. Calls and puts share the bins; the legends give their row counts, the x
    labels how many rows lie beyond the cut. A panel without data says so.

    Parameters
    ----------
    quotes : DataFrame
        The ``option_quotes`` table: at least ``option_type``, ``usable``, ``iv``,
        ``spread`` and ``mid``.

    Raises
    ------
    ValueError
        If a column is missing or no row is usable.
    """
    require_columns(quotes, ("option_type", "usable", "iv", "spread", "mid"), "option_quotes")
    usable = quotes.loc[quotes["usable"].fillna(False).to_numpy(dtype=bool)]
    if usable.empty:
        raise ValueError("option_quotes has no usable row: nothing to plot")
    option_type = usable["option_type"].astype(object).to_numpy()
    iv = usable["iv"].to_numpy(dtype=np.float64, na_value=np.nan)
    mid = usable["mid"].to_numpy(dtype=np.float64)
    spread = usable["spread"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(mid > 0, spread / mid, np.nan)
    fig = figure(width=10.0, height=3.8)
    iv_ax, spread_ax = fig.subplots(1, 2)
    _side_histogram(iv_ax, iv, option_type, IV_AXIS_PERCENTILE, "implied volatility")
    iv_ax.set_title("Implied volatility of usable quotes")
    _side_histogram(
        spread_ax,
        relative,
        option_type,
        RELATIVE_SPREAD_AXIS_PERCENTILE,
        "bid-ask spread / mid",
        log_x=True,
    )
    spread_ax.set_title("Relative bid-ask spread of usable quotes")
    dates = pd.to_datetime(usable["quote_date"]) if "quote_date" in usable else None
    span = "" if dates is None else f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}, "
    fig.suptitle(f"Option data: {span}{len(usable):,} usable quotes of {len(quotes):,}")
    return save_png(fig, path)


def _side_histogram(
    ax: Axes,
    values: np.ndarray,
    option_type: np.ndarray,
    percentile: float,
    label: str,
    *,
    log_x: bool = False,
) -> None:
    """Step histograms of the finite ``values`` (decimals, shown in %) of calls and puts on
    shared bins, the x axis up to the ``percentile`` of both: from 0 (or the minimum, if
    negative), or with ``log_x`` on log-spaced bins from the smallest positive value."""
    drawable = np.isfinite(values) & (values > 0) if log_x else np.isfinite(values)
    ax.set_ylabel("usable quotes per bin")
    ax.grid(alpha=0.3)
    if not drawable.any():
        empty_panel(ax, f"no {label} to show")
        ax.set_xlabel(f"{label} (%)")
        return
    shown = values[drawable]
    low = float(shown.min()) if log_x else min(0.0, float(shown.min()))
    high = float(np.percentile(shown, percentile))
    high = high if high > low else low * 1.01 + 1e-6
    spaced = np.geomspace if log_x else np.linspace
    bins = spaced(low, high, HISTOGRAM_BINS + 1)
    for side, code in (("calls", "C"), ("puts", "P")):
        x = shown[option_type[drawable] == code]
        ax.hist(x, bins=bins, histtype="step", linewidth=1.5, label=f"{side} (n={x.size:,})")
    beyond = int(np.isfinite(values).sum()) - int((shown <= high).sum())
    ax.set_xlim(low, high)
    if log_x:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100.0 * v:g}%"))
    else:
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    scale = ", log scale" if log_x else ""
    ax.set_xlabel(
        f"{label} (%{scale})\naxis cut at the {percentile:g}th percentile ({high:.1%}): "
        f"{beyond:,} quotes beyond"
    )
    ax.legend(fontsize=9)


def plot_contract_history(
    history: pd.DataFrame, models: Sequence[str], title: str, path: str | os.PathLike
) -> Path:
    """
    One contract's mid price over time and each model's price of it, day by day.

    The realized mid is a thick grey line with dots (gaps where the contract had no
    usable quote), each model a thinner line; prices in dollars.

    Parameters
    ----------
    history : DataFrame
        Columns ``date`` (datetime), ``realized`` (the mid, NaN where unknown) and one
        column per model of ``models``, one row per day priced.
    models : sequence of str
        The model columns to draw, in legend order.
    title : str
        The first title line (the contract).

    Raises
    ------
    ValueError
        If there are no rows or a model column is missing.
    """
    missing = [name for name in ("date", "realized", *models) if name not in history.columns]
    if missing:
        raise ValueError(f"history lacks the columns {missing}")
    if history.empty:
        raise ValueError("history has no row: the contract was never priced")
    dates = pd.to_datetime(history["date"]).to_numpy()
    fig = figure(width=11.0, height=5.0)
    ax = fig.add_subplot()
    ax.plot(dates, history["realized"].to_numpy(float), color="0.35", linewidth=2.5,
            marker="o", markersize=3, label="realized mid")  # fmt: skip
    for name in models:
        ax.plot(dates, history[name].to_numpy(float), linewidth=1.0, label=name)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(StrMethodFormatter("${x:,.2f}"))
    ax.set_xlabel("Quote date")
    ax.set_ylabel("price")
    first, last = (f"{pd.Timestamp(d):%Y-%m-%d}" for d in (dates.min(), dates.max()))
    ax.set_title(f"{title}\n{len(history):,} days priced, {first} to {last}")
    ax.legend(title="Model", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def plot_iv_dynamics(
    pairs: pd.DataFrame, fit: Regression, path: str | os.PathLike, max_points: int = 5000
) -> Path:
    """
    Scatter of the change of mid implied vol (vol points) against the underlying's log
    return into the day (%), for near-the-money contract pairs, with the least-squares
    line of ``fit`` (:attr:`optvol.core.options.dynamics.IvDynamics.near_money`).

    Parameters
    ----------
    pairs : DataFrame
        ``underlying_return`` and ``iv_change`` of each pair (``contract_pairs`` rows in
        the near-money band); rows with a missing value are left out.
    fit : Regression
        The regression of the evaluation's ``dynamics.near_money``.

    Raises
    ------
    ValueError
        If no pair has both values.
    """
    x = pairs["underlying_return"].to_numpy(np.float64)
    y = pairs["iv_change"].to_numpy(np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if not keep.any():
        raise ValueError("no near-the-money contract pair to plot")
    x, y = x[keep], y[keep]
    shown = subsample(x.size, max_points)
    fig = figure(width=6.4, height=4.6)
    ax = fig.subplots()
    ax.scatter(100 * x[shown], 100 * y[shown], s=4, alpha=0.35, linewidths=0)
    line = np.linspace(float(x.min()), float(x.max()), 2)
    slope, intercept, r2 = (_nan_if_none(v) for v in (fit.slope, fit.intercept, fit.r2))
    if np.isfinite(slope):
        ax.plot(100 * line, 100 * (intercept + slope * line), color="C3", linewidth=2,
                label=f"slope {slope:+.2f}, R² {r2:.2f}, n {fit.n:,}")  # fmt: skip
        ax.legend(fontsize=9, loc="upper right")
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.axvline(0, color="0.6", linewidth=0.8)
    low, high = np.percentile(100 * y, [0.5, 99.5])
    reach = 1.2 * max(abs(low), abs(high), 1e-3)
    ax.set_ylim(-reach, reach)
    beyond = int(np.sum(np.abs(100 * y) > reach))
    ax.set_xlabel("underlying log return into the day (%)")
    ax.set_ylabel(f"change of mid implied vol (vol points)\n{beyond:,} pairs beyond the axis")
    ax.grid(alpha=0.3)
    sample = f"{shown.size:,} of {x.size:,} pairs" if shown.size < x.size else f"{x.size:,} pairs"
    ax.set_title(f"Near-the-money implied vols against the underlying\n({sample} drawn)")
    return save_png(fig, path)
