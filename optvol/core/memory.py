"""Memory figures for logs and benchmarks."""

from __future__ import annotations

import resource
import sys

import pandas as pd


def frame_megabytes(frame: pd.DataFrame) -> float:
    """Deep memory use of a DataFrame in MB (object columns counted in full)."""
    return float(frame.memory_usage(deep=True).sum()) / 1e6


def peak_rss_megabytes() -> float:
    """Peak resident set size of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3
