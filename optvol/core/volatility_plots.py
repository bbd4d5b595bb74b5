"""
PNG charts of volatility-forecast evaluations.

Each function draws on its own :class:`matplotlib.figure.Figure` with an Agg
canvas, never through :mod:`matplotlib.pyplot`, so it touches no global figure
state and may run in several threads at once. The PNG is written atomically
(:func:`optvol.core.atomic.atomic_path`): if drawing or saving fails, an existing
file at ``path`` is left as it was. Output is byte-identical for identical input
(fixed size and dpi, no software-version metadata).

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

from optvol.core.plotting import figure, save_png, subsample

__all__ = ["plot_forecast_vs_realized", "plot_qlike_by_year", "plot_return_scatter"]

REALIZED = "realized"


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
    path : str or PathLike
        Where to write the PNG.

    Returns
    -------
    Path
        ``path``.

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
    Grouped bar chart of each model's mean QLIKE loss per calendar year.

    One group per year (sorted), one bar per model (in mapping order). A year a
    model has no value for, or whose value is None or NaN, draws no bar.

    Parameters
    ----------
    qlike_by_year : mapping of str to mapping of str to float or None
        ``{model: {"2016": 0.12, "2017": 0.30, ...}}``, years as strings.
    path : str or PathLike
        Where to write the PNG.

    Returns
    -------
    Path
        ``path``.

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
    fig = figure(width=min(24.0, max(8.0, 0.3 * len(years) * max(len(models), 2) + 2.0)), height=5)
    ax = fig.add_subplot()
    x = np.arange(len(years))
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        drawn = np.isfinite(values[i])
        offset = (i - (len(models) - 1) / 2) * width
        # Bar colours follow the model even when a model draws no bar at all.
        ax.bar(x[drawn] + offset, values[i][drawn], width, label=model, color=f"C{i}")
    ax.set_xticks(x, years)
    ax.set_xlim(-0.5, len(years) - 0.5)
    ax.set_xlabel("Year")
    ax.set_ylabel("mean QLIKE (lower is better)")
    ax.set_title("Mean QLIKE loss of the volatility forecasts per year")
    ax.legend(title="Model", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return save_png(fig, path)


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
    path : str or PathLike
        Where to write the PNG.
    max_points : int, default 20000
        Most rows drawn per panel; must be >= 1.

    Returns
    -------
    Path
        ``path``.

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
    fig = figure(width=4.2 * len(models), height=4.9)
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
