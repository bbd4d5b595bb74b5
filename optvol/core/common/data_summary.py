"""
Shared pieces of the summary statistics of cleaned tables (for the reports).

Every result is made of plain Python values (``int``, ``float``, ``str``, ``None``,
``dict``, ``list``) so that it can be written to a JSON document as it is: NaN and
infinities become ``None``, numpy scalars become Python numbers. Statistics are
computed in float64 whatever the column's dtype, so they are deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_QUANTILES",
    "TAIL_QUANTILES",
    "distribution",
    "finite_values",
    "iso_date",
    "json_number",
    "missing_counts",
    "quantile_key",
    "require_columns",
]

DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# For returns, whose tails matter more than their quartiles.
TAIL_QUANTILES = (0.01, 0.05, 0.5, 0.95, 0.99)


def json_number(x: object) -> float | None:
    """``float(x)``, or ``None`` when ``x`` is None, NA, NaN or infinite."""
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    value = float(x)  # type: ignore[arg-type]
    return value if math.isfinite(value) else None


def finite_values(values: ArrayLike | pd.Series) -> NDArray[np.float64]:
    """``values`` as a flat float64 array without its missing (None, NA, NaN) and
    infinite entries."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.ravel(values))
    array = pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan)
    return array[np.isfinite(array)]


def quantile_key(q: float) -> str:
    """The key of quantile ``q`` in :func:`distribution`: ``p05`` for 0.05, ``p50`` for
    0.5, ``p99`` for 0.99, ``p99.9`` for 0.999."""
    percent = round(100.0 * q, 6)
    return f"p{int(percent):02d}" if percent == int(percent) else f"p{percent:g}"


def distribution(
    values: ArrayLike | pd.Series,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    *,
    moments: bool = False,
) -> dict:
    """
    Summary of the finite entries ``x_1 .. x_n`` of ``values`` (missing and infinite
    entries are left out).

    ``{"rows": n, "mean", "std", "min", <quantiles>, "max"}`` where ``mean`` is
    ``(1/n) sum x_i``, ``std`` the sample standard deviation
    ``sqrt(sum (x_i - mean)^2 / (n - 1))`` (None for n < 2), and each quantile ``q``
    (key from :func:`quantile_key`, e.g. ``p05``) is interpolated linearly between
    order statistics (numpy's and pandas' default: 1..100 has ``p50`` 50.5).

    With ``moments=True`` it also has ``"skew"``, the adjusted Fisher-Pearson sample
    skewness ``G1 = sqrt(n(n-1))/(n-2) m3/m2^(3/2)`` (n >= 3), and
    ``"excess_kurtosis"``, the unbiased ``G2 = (n-1)/((n-2)(n-3)) ((n+1) m4/m2^2 - 3(n-1))``
    (n >= 4), with ``m_k`` the central sample moments, as pandas' ``skew`` and ``kurt``.

    With no finite value, ``rows`` is 0 and every statistic is None. Statistics that are
    undefined (a moment of a constant series) are None too.
    """
    x = finite_values(values)
    n = int(x.size)
    keys = [quantile_key(q) for q in quantiles]
    if n == 0:
        stats: dict = {"rows": 0, "mean": None, "std": None, "min": None}
        stats.update(dict.fromkeys(keys))
        stats["max"] = None
        if moments:
            stats.update(skew=None, excess_kurtosis=None)
        return stats
    stats = {
        "rows": n,
        "mean": json_number(np.mean(x)),
        "std": json_number(np.std(x, ddof=1)) if n > 1 else None,
        "min": json_number(np.min(x)),
    }
    for key, value in zip(keys, np.quantile(x, list(quantiles)), strict=True):
        stats[key] = json_number(value)
    stats["max"] = json_number(np.max(x))
    if moments:
        series = pd.Series(x)
        stats["skew"] = json_number(series.skew())
        stats["excess_kurtosis"] = json_number(series.kurt())
    return stats


def missing_counts(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> dict[str, int]:
    """For each of ``columns`` (default: every column of ``frame``, in column order), the
    number of missing values (None, NaN, NaT or NA); columns with none count 0. Column by
    column, so that no boolean copy of the whole table is made."""
    names = frame.columns if columns is None else columns
    return {str(column): int(frame[column].isna().sum()) for column in names}


def require_columns(frame: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    """Raise ``ValueError`` naming the columns of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: missing required columns {missing}")


def iso_date(value: object) -> str | None:
    """``value`` as an ISO date ``YYYY-MM-DD``, or None when it is missing."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%d")
