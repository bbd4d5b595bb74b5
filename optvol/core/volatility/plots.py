"""
PNG charts of volatility-forecast evaluations.

Each chart is drawn and written as :mod:`optvol.core.reports.plotting` says (no pyplot,
thread-safe, atomic, byte-identical for identical input) to ``path``, which the function
returns as a :class:`~pathlib.Path`.

Volatilities and returns are decimals (0.15 is 15 %) and are shown in percent.
Every function raises :class:`ValueError` on empty input rather than writing an
empty chart.
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
from matplotlib.ticker import PercentFormatter

from optvol.core.common.data_summary import require_columns
from optvol.core.reports.plotting import empty_panel, figure, save_png, subsample
from optvol.core.volatility.summary import pearson

__all__ = [
    "plot_forecast_vs_realized",
    "plot_market_data_distributions",
    "plot_qlike_by_year",
    "plot_return_scatter",
]

REALIZED = "realized"
MARKET_CHART_COLUMNS = ("date", "log_return", "rv_21", "vix_close", "target_rv_21")
# With more years than this, QLIKE per year is drawn as lines rather than grouped bars.
MAX_BAR_YEARS = 6
# Font sizes (pt) of the QLIKE chart: at 10 in wide it is shrunk to about 6.8 in on an
# A4 page, and its text should stay at 8 pt or more there.
FONT = 12.0
TITLE_FONT = 14.0


def plot_forecast_vs_realized(
    forecasts: pd.DataFrame, models: Sequence[str], path: str | os.PathLike
) -> Path:
    """
    Line chart over time of realized volatility and each model's forecast of it.

    Realized volatility is a thick grey line, each model a thinner coloured line;
    gaps (NaN) are left blank. The y axis is annualised volatility in percent, the
    title gives the date range and the number of dates.

    Parameters
    ----------
    forecasts : DataFrame
        Column ``date`` (datetime), column ``realized`` (the realized annualised
        volatility over the next 21 trading days, decimal) and one column per model
        with that model's forecast of it (decimal; NaN allowed). Any row order.
    models : sequence of str
        The model columns to draw, in legend order.

    Raises
    ------
    ValueError
        If there are no rows or no models, a column is missing (the message names
        the unknown models), a date is missing, or no value at all is finite.
    """
    frame, dates = _checked_frame(forecasts, models, "forecasts")
    values = frame[[REALIZED, *models]].to_numpy(dtype=np.float64)
    if not np.isfinite(values).any():
        raise ValueError("forecasts: no finite volatility in 'realized' or the models")
    fig = figure(width=11.0, height=5.0)
    ax = fig.add_subplot()
    ax.plot(dates, values[:, 0], color="0.35", linewidth=2.5, label="realized (next 21 days)")
    for i, model in enumerate(models, start=1):
        ax.plot(dates, values[:, i], linewidth=1.0, label=model)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("Forecast date")
    ax.set_ylabel("annualised volatility")
    ax.set_title(
        "Volatility forecasts vs realized volatility over the next 21 trading days\n"
        + _date_span(dates)
    )
    ax.legend(title="Model", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def plot_qlike_by_year(
    qlike_by_year: Mapping[str, Mapping[str, float | None]], path: str | os.PathLike
) -> Path:
    """
    Chart of each model's mean QLIKE loss per calendar year.

    Years (sorted) lie evenly spaced on the x axis. With up to ``MAX_BAR_YEARS`` years
    it is a grouped bar chart, one group per year and one bar per model (in mapping
    order); with more, one line with markers per model. A year a model has no value
    for, or whose value is None or NaN, draws no bar or point (the line is broken
    there). Model ``i`` in mapping order is drawn in colour ``C{i}``. The figure is at
    most 10 in wide, so that it stays legible on an A4 page.

    Parameters
    ----------
    qlike_by_year : mapping of str to mapping of str to float or None
        ``{model: {"2016": 0.12, "2017": 0.30, ...}}``, years as strings.

    Raises
    ------
    ValueError
        If there are no models, no years, or no finite value.
    """
    years = sorted({year for by_year in qlike_by_year.values() for year in by_year})
    if not qlike_by_year or not years:
        raise ValueError("qlike_by_year has no models or no years: nothing to plot")
    models = list(qlike_by_year)
    values = np.array(
        [[_float(qlike_by_year[m].get(year)) for year in years] for m in models], dtype=np.float64
    )
    if not np.isfinite(values).any():
        raise ValueError("qlike_by_year has no finite value: nothing to plot")
    width = min(10.0, max(8.0, 0.3 * len(years) * max(len(models), 2) + 2.0))
    fig = figure(width=width, height=5.0)
    ax = fig.add_subplot()
    x = np.arange(len(years))
    if len(years) > MAX_BAR_YEARS:
        for i, model in enumerate(models):
            ax.plot(x, values[i], marker="o", markersize=5, color=f"C{i}", label=model)
        ax.set_ylim(bottom=0.0)
        ax.grid(alpha=0.3)
    else:
        bar = 0.8 / len(models)
        for i, model in enumerate(models):
            drawn = np.isfinite(values[i])
            offset = (i - (len(models) - 1) / 2) * bar
            # Bar colours follow the model even when a model draws no bar at all.
            ax.bar(x[drawn] + offset, values[i][drawn], bar, label=model, color=f"C{i}")
        ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_xticks(x, years)
    ax.set_xlim(-0.5, len(years) - 0.5)
    ax.tick_params(labelsize=FONT)
    ax.set_xlabel("Year", fontsize=FONT)
    ax.set_ylabel("mean QLIKE (lower is better)", fontsize=FONT)
    ax.set_title("Mean QLIKE loss of the volatility forecasts per year", fontsize=TITLE_FONT)
    fig.legend(
        title="Model",
        loc="outside lower center",
        ncols=_legend_columns(models, width),
        fontsize=FONT,
        title_fontsize=FONT,
    )
    return save_png(fig, path)


def _legend_columns(labels: Sequence[str], width: float) -> int:
    """Legend columns so that rows of ``labels`` at ``FONT`` fit in ``width`` inches:
    all in one row if they fit, else rows of equal length."""
    # About 9 characters per inch at 12 pt (underscores and the legend's padding make
    # names wider than running text), and some 6 characters for each handle and gap.
    chars = sum(len(label) + 6 for label in labels)
    rows = max(1, math.ceil(chars / (9.0 * (width - 0.5) * 12.0 / FONT)))
    return math.ceil(len(labels) / rows)


def plot_return_scatter(
    returns: pd.DataFrame,
    models: Sequence[str],
    path: str | os.PathLike,
    max_points: int = 20000,
) -> Path:
    """
    Scatter of realized against forecast 21-trading-day log return, one panel per model.

    Panels stand side by side with shared, symmetric axes in percent, the line
    ``realized = forecast`` dashed and lines at zero. Each panel's title gives the
    model, its hit rate (the share of rows where the sign of the forecast equals the
    sign of the realized return) and its number of points; rows where the forecast
    or the realized return is NaN are skipped. With more than ``max_points`` rows,
    the same random subsample of rows (fixed seed, so the chart is reproducible) is
    drawn in every panel; hit rates and counts are over all rows.

    Parameters
    ----------
    returns : DataFrame
        Column ``date`` (datetime), column ``realized`` (the realized log return
        over the next 21 trading days, decimal) and one column per model with its
        forecast of it (decimal; NaN allowed).
    models : sequence of str
        The model columns to draw, one panel each, left to right.
    max_points : int, default 20000
        Most rows drawn per panel; must be >= 1.

    Raises
    ------
    ValueError
        If there are no rows or no models, a column is missing (the message names
        the unknown models), a date is missing, no model has a point where both
        values are finite, or ``max_points < 1``.
    """
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    frame, dates = _checked_frame(returns, models, "returns")
    realized = frame[REALIZED].to_numpy(dtype=np.float64)
    forecast = {m: frame[m].to_numpy(dtype=np.float64) for m in models}
    finite = {m: np.isfinite(f) & np.isfinite(realized) for m, f in forecast.items()}
    if not any(mask.any() for mask in finite.values()):
        raise ValueError("returns: no row has both a finite realized return and a forecast")
    shown = subsample(len(frame), max_points)
    reach = max(
        float(np.abs(v[shown][finite[m][shown]]).max(initial=0.0))
        for m in models
        for v in (forecast[m], realized)
    )
    limit = 1.05 * reach if reach > 0 else 0.01
    fig = figure(width=4.2 * len(models), height=5.6)  # room for square panels and titles
    axes = fig.subplots(1, len(models), squeeze=False, sharex=True, sharey=True).ravel()
    for ax, model in zip(axes, models, strict=True):
        mask = finite[model]
        drawn = shown[mask[shown]]
        _return_panel(ax, forecast[model][drawn], realized[drawn], limit)
        hits = np.sign(forecast[model][mask]) == np.sign(realized[mask])
        rate = f"{hits.mean():.1%}" if mask.any() else "n/a"
        ax.set_title(f"{model}\nhit rate {rate}, n={int(mask.sum()):,}")
    axes[0].set_ylabel("realized 21-day log return")
    rows = f"{shown.size:,} of {len(frame):,} rows" if shown.size < len(frame) else "all rows"
    fig.suptitle(
        f"Forecast vs realized 21-trading-day log return ({rows} drawn)\n{_date_span(dates)}"
    )
    return save_png(fig, path)


def _return_panel(ax: Axes, x: np.ndarray, y: np.ndarray, limit: float) -> None:
    ax.scatter(x, y, s=4, alpha=0.25, linewidths=0)
    ax.plot((-limit, limit), (-limit, limit), color="black", linestyle="--", linewidth=1)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel("forecast 21-day log return")
    ax.grid(alpha=0.3)


def plot_market_data_distributions(
    frame: pd.DataFrame, path: str | os.PathLike, max_points: int = 20000
) -> Path:
    """
    Three panels on the cleaned ``market_features`` table.

    1. Histogram (density, log scale) of the daily log returns in percent with the normal
       density of the same mean and standard deviation: fat tails show as bars above the
       curve far from the centre; the legend gives the excess kurtosis.
    2. Histogram of the 21-day realized volatility ``rv_21`` (annualised, %), with its
       median.
    3. Scatter of VIX / 100 against the realized volatility of the next 21 trading days
       (``target_rv_21``), both annualised in %, with the line ``realized = VIX`` and
       their Pearson correlation in the legend; with more than ``max_points`` such days a
       random subsample (fixed seed) is drawn, the correlation is over all of them. If no
       day has both, the panel says so.

    Parameters
    ----------
    frame : DataFrame
        The ``market_features`` table: at least ``date``, ``log_return``, ``rv_21``,
        ``vix_close`` (points) and ``target_rv_21`` (decimal).
    max_points : int, default 20000
        Most points of the scatter; must be >= 1.

    Raises
    ------
    ValueError
        If a column is missing, no log return is finite, or ``max_points < 1``.
    """
    require_columns(frame, MARKET_CHART_COLUMNS, "market_features")
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    values = {
        c: frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in MARKET_CHART_COLUMNS[1:]
    }
    returns = values["log_return"][np.isfinite(values["log_return"])]
    if returns.size == 0:
        raise ValueError("market_features has no finite log return: nothing to plot")
    fig = figure(width=12.0, height=3.8)
    return_ax, rv_ax, vix_ax = fig.subplots(1, 3)
    _return_histogram(return_ax, returns)
    _rv_histogram(rv_ax, values["rv_21"])
    _vix_scatter(vix_ax, values["vix_close"] / 100.0, values["target_rv_21"], max_points)
    dates = pd.to_datetime(frame["date"]).dropna().to_numpy()
    span = _date_span(np.sort(dates)) if dates.size else "no dates"
    fig.suptitle(f"Market data: {span}")
    return save_png(fig, path)


def _return_histogram(ax: Axes, returns: np.ndarray) -> None:
    pct = 100.0 * returns
    mean = float(pct.mean())
    sd = float(pct.std(ddof=1)) if pct.size > 1 else 0.0
    reach = float(np.abs(pct - mean).max()) or 1.0
    density, edges, _ = ax.hist(
        pct,
        bins=100,
        range=(mean - reach, mean + reach),
        density=True,
        color="C0",
        alpha=0.6,
        label=f"S&P 500, n={pct.size:,}",
    )
    if sd > 0:
        grid = np.linspace(edges[0], edges[-1], 400)
        normal = np.exp(-0.5 * ((grid - mean) / sd) ** 2) / (sd * math.sqrt(2.0 * math.pi))
        kurtosis = pd.Series(pct).kurt()
        ax.plot(
            grid,
            normal,
            color="black",
            linewidth=1.2,
            label=f"normal, same mean & sd\n(excess kurtosis {kurtosis:.1f})",
        )
    ax.set_yscale("log")
    positive = density[density > 0]
    # Headroom above the peak for the legend.
    ax.set_ylim(bottom=0.5 * float(positive.min()), top=30.0 * float(positive.max()))
    ax.set_xlabel("daily log return (%)")
    ax.set_ylabel("density (log scale)")
    ax.set_title("Daily log returns")
    ax.legend(fontsize=9, loc="upper right")
    ax.grid(alpha=0.3)


def _rv_histogram(ax: Axes, rv: np.ndarray) -> None:
    rv = rv[np.isfinite(rv)]
    ax.set_xlabel("RV21, annualised (%)")
    ax.set_ylabel("trading days per bin")
    ax.set_title("21-day realized volatility")
    ax.grid(alpha=0.3)
    if rv.size == 0:
        empty_panel(ax, "no 21-day realized volatility")
        return
    ax.hist(
        rv,
        bins=80,
        range=(0.0, float(rv.max()) or 1.0),
        color="C1",
        alpha=0.7,
        label=f"n={rv.size:,}",
    )
    median = float(np.median(rv))
    ax.axvline(median, color="black", linestyle="--", linewidth=1, label=f"median {median:.1%}")
    ax.set_xlim(left=0.0)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.legend(fontsize=9)


def _vix_scatter(ax: Axes, vix: np.ndarray, future_rv: np.ndarray, max_points: int) -> None:
    both = np.isfinite(vix) & np.isfinite(future_rv)
    ax.set_xlabel("VIX / 100 (annualised, %)")
    ax.set_ylabel("realized vol, next 21 days (%)")
    ax.set_title("VIX vs realized volatility ahead")
    ax.grid(alpha=0.3)
    if not both.any():
        empty_panel(ax, "no day has both VIX and\nthe realized volatility ahead")
        return
    x, y = vix[both], future_rv[both]
    shown = subsample(x.size, max_points)
    corr = pearson(x, y)
    label = f"days, n={x.size:,}" + ("" if corr is None else f"\ncorrelation {corr:.2f}")
    ax.scatter(x[shown], y[shown], s=5, alpha=0.35, linewidths=0, color="C2", label=label)
    top = 1.05 * max(float(x.max()), float(y.max()))
    ax.plot(
        (0.0, top), (0.0, top), color="black", linestyle="--", linewidth=1, label="realized = VIX"
    )
    ax.set_xlim(0.0, top)
    ax.set_ylim(0.0, top)
    ax.set_aspect("equal")
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.legend(fontsize=9, loc="upper left", markerscale=3)


def _checked_frame(
    frame: pd.DataFrame, models: Sequence[str], name: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """The frame sorted by date, and its dates; ValueError on empty or unknown input."""
    if isinstance(models, str):
        raise TypeError(f"models must be a sequence of column names, not the string {models!r}")
    if len(frame) == 0 or not models:
        raise ValueError(f"{name} has no rows or no models: nothing to plot")
    unknown = [m for m in models if m not in frame.columns]
    if unknown:
        raise ValueError(f"{name} has no column for the models {unknown}")
    missing = [c for c in ("date", REALIZED) if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} has no column {missing}")
    dates = pd.to_datetime(frame["date"])
    if dates.isna().any():
        raise ValueError(f"{name}: column 'date' has missing dates")
    order = np.argsort(dates.to_numpy(), kind="stable")
    return frame.iloc[order], dates.to_numpy()[order]


def _date_span(dates: np.ndarray) -> str:
    first, last = pd.Timestamp(dates[0]), pd.Timestamp(dates[-1])
    count = len(np.unique(dates))
    return f"{first:%Y-%m-%d} to {last:%Y-%m-%d}, {count:,} date{'s' if count != 1 else ''}"


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)
