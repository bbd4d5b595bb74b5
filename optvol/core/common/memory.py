"""Memory figures for logs and benchmarks."""

from __future__ import annotations

import resource
import sys


def peak_rss_megabytes() -> float:
    """Peak resident set size of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3
