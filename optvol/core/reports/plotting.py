"""
Shared pieces of the PNG charts: an Agg-backed figure and an atomic, reproducible save.

Charts are drawn on their own :class:`matplotlib.figure.Figure` with an Agg canvas,
never through :mod:`matplotlib.pyplot`, so they touch no global figure state and may
be drawn in several threads at once. :func:`save_png` writes the PNG atomically
(:func:`optvol.core.common.atomic.atomic_path`): if drawing or saving fails, an existing
file at the path is left as it was. Output is byte-identical for identical input (fixed
size and dpi, no software-version metadata).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from optvol.core.common.atomic import atomic_path

__all__ = ["DPI", "SUBSAMPLE_SEED", "empty_panel", "figure", "save_png", "subsample"]

DPI = 100
SUBSAMPLE_SEED = 0


def figure(width: float, height: float) -> Figure:
    """A constrained-layout figure of ``width`` x ``height`` inches at ``DPI``, on an Agg canvas."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | os.PathLike) -> Path:
    """
    Write ``fig`` to ``path`` as a PNG, atomically, and return ``Path(path)``.

    The file is written at ``DPI`` without software-version metadata, so identical
    figures give identical bytes. If saving fails, an existing file at ``path`` is
    left as it was (:func:`optvol.core.common.atomic.atomic_path`).
    """
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    return Path(path)


def subsample(n: int, max_points: int) -> np.ndarray:
    """
    Sorted indices of at most ``max_points`` of ``n`` rows: all of them, or a random
    subset drawn with the fixed ``SUBSAMPLE_SEED`` so that the chart is reproducible.
    """
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(SUBSAMPLE_SEED)
    return np.sort(rng.choice(n, size=max_points, replace=False))


def empty_panel(ax: Axes, message: str) -> None:
    """Write ``message`` in the middle of ``ax`` and drop its ticks: a panel with no data."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
