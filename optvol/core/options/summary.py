"""
Summary statistics of the cleaned ``option_quotes`` table, for the reports.

What an analyst checks before trusting the option data: how many quotes and days, by
year; how the usable quotes spread over days to expiry and moneyness (the buckets of
:mod:`optvol.core.options.metrics`, so that they match the model evaluation); how many
rows each cleaning flag caught; missing values; and the distributions of the bid-ask
spread, the relative spread and the vendor's implied volatility, calls and puts apart.
The result holds plain Python values only (see :mod:`optvol.core.common.data_summary`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optvol.core.common.data_summary import (
    distribution,
    iso_date,
    missing_counts,
    require_columns,
)
from optvol.core.options.ingest.clean import FLAG_COLUMNS
from optvol.core.options.metrics import (
    DTE_BUCKETS,
    MONEYNESS_BUCKETS,
    dte_bucket,
    moneyness_bucket,
    signed_log_moneyness,
)

__all__ = ["REQUIRED_COLUMNS", "summarize_option_quotes"]

REQUIRED_COLUMNS = (
    "quote_date",
    "expiration",
    "option_type",
    "strike",
    "underlying_last",
    "mid",
    "spread",
    "iv",
    "dte_days",
    *FLAG_COLUMNS,
    "usable",
)


def summarize_option_quotes(quotes: pd.DataFrame) -> dict:
    """
    Summary statistics of an ``option_quotes`` table (one row per option side and day).

    Keys:

    - ``rows``, ``usable_rows`` (rows with ``usable``), ``quote_dates`` (distinct quote
      dates), ``first_date`` and ``last_date`` (ISO, None when empty), over all rows;
    - ``contracts``: distinct (expiration, strike, option_type) among usable rows;
    - ``by_year``: ``{"2020": {"rows", "usable_rows", "quote_dates"}}`` by the year of the
      quote date, years sorted;
    - ``by_expiry_bucket``: ``{bucket: {"calls", "puts", "rows"}}`` of usable rows for every
      bucket of ``DTE_BUCKETS`` (:func:`~optvol.core.options.metrics.dte_bucket` of
      ``dte_days``), in order, empty buckets included;
    - ``by_moneyness_bucket``: the same for ``MONEYNESS_BUCKETS``, of the signed
      log-moneyness ``ln(S/K)`` for calls and ``ln(K/S)`` for puts
      (:func:`~optvol.core.options.metrics.signed_log_moneyness` of ``underlying_last`` and
      ``strike``);
    - ``flags``: rows raising each flag of ``FLAG_COLUMNS``;
    - ``missing_values``: missing values of every column
      (:func:`~optvol.core.common.data_summary.missing_counts`);
    - ``spread``: ``{"call": distribution, "put": distribution}`` of ``ask - bid`` ($) of
      usable rows (:func:`~optvol.core.common.data_summary.distribution`);
    - ``relative_spread``: the same of ``spread / mid`` over usable rows with ``mid > 0``;
    - ``iv``: the same of the vendor's implied volatility (decimal) over usable rows with a
      finite one.

    Raises
    ------
    ValueError
        If a column of ``REQUIRED_COLUMNS`` is missing (the message names it), or a usable
        row has a negative days to expiry or a non-positive underlying or strike.
    """
    require_columns(quotes, REQUIRED_COLUMNS, "option_quotes")
    dates = pd.to_datetime(quotes["quote_date"])
    usable_mask = quotes["usable"].fillna(False).to_numpy(dtype=bool)
    usable = quotes.loc[usable_mask]
    option_type = usable["option_type"].astype(object).to_numpy()
    is_call, is_put = option_type == "C", option_type == "P"
    moneyness = signed_log_moneyness(
        usable["underlying_last"].to_numpy(dtype=np.float64),
        usable["strike"].to_numpy(dtype=np.float64),
        is_call,
    )
    mid = usable["mid"].to_numpy(dtype=np.float64)
    spread = usable["spread"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(mid > 0, spread / mid, np.nan)
    iv = usable["iv"].to_numpy(dtype=np.float64, na_value=np.nan)
    return {
        "rows": len(quotes),
        "usable_rows": int(usable_mask.sum()),
        "quote_dates": int(dates.nunique()),
        "first_date": iso_date(dates.min()),
        "last_date": iso_date(dates.max()),
        "contracts": len(usable[["expiration", "strike", "option_type"]].drop_duplicates()),
        "by_year": _by_year(dates, usable_mask),
        "by_expiry_bucket": _by_bucket(
            dte_bucket(usable["dte_days"].to_numpy(dtype=np.float64)), DTE_BUCKETS, is_call, is_put
        ),
        "by_moneyness_bucket": _by_bucket(
            moneyness_bucket(moneyness), MONEYNESS_BUCKETS, is_call, is_put
        ),
        "flags": {
            flag: int(quotes[flag].fillna(False).astype(bool).sum()) for flag in FLAG_COLUMNS
        },
        "missing_values": missing_counts(quotes),
        "spread": _by_side(spread, is_call, is_put),
        "relative_spread": _by_side(relative, is_call, is_put),
        "iv": _by_side(iv, is_call, is_put),
    }


def _by_year(dates: pd.Series, usable: np.ndarray) -> dict[str, dict[str, int]]:
    frame = pd.DataFrame({"year": dates.dt.year, "date": dates, "usable": usable})
    grouped = frame.dropna(subset=["year"]).groupby("year", sort=True)
    table = grouped.agg(
        rows=("usable", "size"), usable_rows=("usable", "sum"), quote_dates=("date", "nunique")
    )
    return {
        str(int(year)): {name: int(row[name]) for name in ("rows", "usable_rows", "quote_dates")}
        for year, row in table.iterrows()
    }


def _by_bucket(
    names: np.ndarray, buckets: tuple[str, ...], is_call: np.ndarray, is_put: np.ndarray
) -> dict[str, dict[str, int]]:
    result = {}
    for bucket in buckets:
        inside = names == bucket
        result[bucket] = {
            "calls": int((inside & is_call).sum()),
            "puts": int((inside & is_put).sum()),
            "rows": int(inside.sum()),
        }
    return result


def _by_side(values: np.ndarray, is_call: np.ndarray, is_put: np.ndarray) -> dict[str, dict]:
    return {"call": distribution(values[is_call]), "put": distribution(values[is_put])}
