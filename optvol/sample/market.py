"""
The real market-history sample, from the data files the ``arch`` package ships.

* ``arch.data.sp500`` -- S&P 500 daily OHLC, 1999-01-04 to 2018-12-31;
* ``arch.data.vix`` -- VIX daily close, 2014-2019 (cut at 2018-12-31);
* ``arch.data.core_cpi`` -- US core CPI (CPILFESL), monthly;
* ``arch.data.default`` -- Moody's AAA and BAA corporate bond yields, monthly.

Monthly series sit on the date they describe (the first of the month), not on
their release date: the cleaning step applies the publication lag.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from optvol.core.common.atomic import atomic_open

__all__ = ["MARKET_COLUMNS", "build_market", "write_market"]

MARKET_COLUMNS: tuple[str, ...] = (
    "date",
    "spx_open",
    "spx_high",
    "spx_low",
    "spx_close",
    "vix_close",
    "core_cpi",
    "aaa_yield",
    "baa_yield",
)
# Decimals each series is published with (the arch files carry float noise).
_DECIMALS = {
    "spx_open": 2,
    "spx_high": 2,
    "spx_low": 2,
    "spx_close": 2,
    "vix_close": 2,
    "core_cpi": 3,
    "aaa_yield": 2,
    "baa_yield": 2,
}


def build_market() -> pd.DataFrame:
    """
    The market history as a frame with the columns :data:`MARKET_COLUMNS`.

    One row per date of the union of the S&P 500 trading days and the
    monthly macro observation dates inside the S&P span; a series without a
    value on a date is NaN there.
    """
    from arch.data import core_cpi, default, sp500, vix

    spx = sp500.load()[["Open", "High", "Low", "Close"]]
    spx.columns = ["spx_open", "spx_high", "spx_low", "spx_close"]
    first, last = spx.index.min(), spx.index.max()

    def within(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.loc[(frame.index >= first) & (frame.index <= last)]

    vix_close = vix.load()[["vix"]].rename(columns={"vix": "vix_close"}).dropna()
    vix_close = vix_close.loc[vix_close.index.isin(spx.index)]  # S&P trading days only
    cpi = within(core_cpi.load()[["CPILFESL"]].rename(columns={"CPILFESL": "core_cpi"}))
    yields = within(default.load()[["AAA", "BAA"]])
    yields.columns = ["aaa_yield", "baa_yield"]

    frame = pd.concat([spx, vix_close, cpi, yields], axis=1, join="outer").sort_index()
    frame.index = pd.DatetimeIndex(frame.index).normalize()
    frame.index.name = "date"
    for name, decimals in _DECIMALS.items():
        frame[name] = frame[name].astype(float).round(decimals)
    return frame.reset_index()[list(MARKET_COLUMNS)]


def write_market(path: Path) -> Path:
    """Write :func:`build_market` to ``path`` as CSV, atomically."""
    frame = build_market()
    text = io.StringIO()
    frame.to_csv(
        text,
        index=False,
        date_format="%Y-%m-%d",
        float_format="%.10g",
        na_rep="",
        lineterminator="\n",
    )
    with atomic_open(Path(path)) as handle:
        handle.write(text.getvalue().encode())
    return Path(path)
