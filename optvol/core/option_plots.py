"""
PNG charts of option-price model evaluations.

Each function draws on its own :class:`matplotlib.figure.Figure` with an Agg
canvas, never through :mod:`matplotlib.pyplot`, so it touches no global figure
state and may run in several threads at once. The PNG is written atomically
(:func:`optvol.core.atomic.atomic_path`): if drawing or saving fails, an existing
file at ``path`` is left as it was. Output is byte-identical for identical input
(fixed size and dpi, no software-version metadata).

Every function raises :class:`ValueError` on empty input rather than writing an
empty chart.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

from optvol.core.plotting import figure, save_png, subsample

__all__ = [
    "plot_error_over_time",
    "plot_loss_curves",
    "plot_predicted_vs_actual",
    "plot_rmse_by_bucket",
]

# Prices below a cent are drawn at a cent so that log axes can show them.
PRICE_FLOOR = 0.01


def plot_rmse_by_bucket(evaluation: Mapping, path: str | os.PathLike) -> Path:
    """
    Grouped bar chart of RMSE ($) per moneyness x days-to-expiry bucket.

    One group per entry of ``evaluation["by_bucket"]`` (in its order), one bar per
    model in ``evaluation["models"]``; the tick labels give the bucket and its row
    count.

    Parameters
    ----------
    evaluation : mapping
        A result of :func:`optvol.core.option_metrics.evaluate_models`.
    path : str or PathLike
        Where to write the PNG.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If the evaluation has no buckets (no rows) or no models.
    """
    buckets, models = evaluation["by_bucket"], evaluation["models"]
    if not buckets or not models:
        raise ValueError("evaluation has no rows or no models: nothing to plot")
    fig = figure(width=min(24.0, max(8.0, 0.25 * len(buckets) * max(len(models), 2))), height=5.0)
    ax = fig.add_subplot()
    x = np.arange(len(buckets))
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        rmse = [_nan_if_none(b["metrics"][model]["rmse"]) for b in buckets]
        ax.bar(x + (i - (len(models) - 1) / 2) * width, rmse, width, label=model)
    ax.set_xticks(x, [f"{b['moneyness']}\n{b['dte']} d\nn={b['rows']}" for b in buckets])
    ax.set_xlim(-0.5, len(buckets) - 0.5)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("Moneyness bucket / days to expiry / rows")
    ax.set_ylabel("RMSE ($)")
    ax.set_title(f"Price RMSE by moneyness and days to expiry{_span(evaluation)}")
    ax.legend(title="Model", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return save_png(fig, path)


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
    path : str or PathLike
        Where to write the PNG.
    max_points : int, default 20000
        Most points drawn per panel; must be >= 1.

    Returns
    -------
    Path
        ``path``.

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
    path : str or PathLike
        Where to write the PNG.
    ylabel : str, default "Loss"
        Loss axis label; name the objective and its units, e.g. ``"MSE ($²)"``.

    Returns
    -------
    Path
        ``path``.

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


def plot_error_over_time(evaluation: Mapping, path: str | os.PathLike) -> Path:
    """
    RMSE ($) per quote date, one line per model, from ``evaluation["by_date"]``.

    Parameters
    ----------
    evaluation : mapping
        A result of :func:`optvol.core.option_metrics.evaluate_models`.
    path : str or PathLike
        Where to write the PNG.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If the evaluation has no dates (no rows) or no models.
    """
    by_date = evaluation["by_date"]
    if not by_date["date"] or not by_date["rmse"]:
        raise ValueError("evaluation has no dates or no models: nothing to plot")
    dates = np.array(by_date["date"], dtype="datetime64[D]")
    fig = figure(width=10.0, height=5.0)
    ax = fig.add_subplot()
    for model, rmse in by_date["rmse"].items():
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


def _span(evaluation: Mapping) -> str:
    first, last, rows = (evaluation.get(k) for k in ("first_date", "last_date", "rows"))
    if first is None:
        return ""
    return f"\n{first} to {last}, {rows:,} rows"


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)
