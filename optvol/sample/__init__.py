"""
The embedded sample data, so the whole system runs with no download.

* ``raw/options/SPY_options_2020-2022.csv`` -- a *simulated* SPY option chain
  (2020-01-02 to 2022-12-30, NYSE trading days) in the optionsDX EOD format.
* ``raw/raw_market.csv`` -- *real* S&P 500 OHLC, VIX and macro series taken
  from the data files the ``arch`` package ships.
* ``raw/SAMPLE_MANIFEST.json`` -- the size, SHA-256 and origin of both, so that the
  reports can say which inputs are simulated (:mod:`optvol.core.common.provenance`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optvol.core.common.provenance import REAL, SIMULATED, write_manifest
from optvol.sample.calendar import trading_days
from optvol.sample.chain import SPECS, chain_chunks
from optvol.sample.market import write_market
from optvol.sample.optionsdx_writer import write_optionsdx
from optvol.sample.underlying import simulate_underlying

__all__ = ["OPTIONS_FILE", "MARKET_FILE", "SIZES", "write_options", "write_sample_data"]

SIZES: tuple[str, ...] = ("demo", "full")
OPTIONS_FILE = Path("raw") / "options" / "SPY_options_2020-2022.csv"
MARKET_FILE = Path("raw") / "raw_market.csv"


def write_options(path: Path, size: str = "demo", seed: int = 2020) -> int:
    """
    Write the simulated SPY chain to ``path`` (atomically).

    Parameters
    ----------
    path : Path
        Target file.
    size : {"demo", "full"}
        ``demo`` is about 150k rows, ``full`` about 3.6M (the real data set's
        scale).
    seed : int
        Seed of the ``numpy.random.Generator(PCG64(seed))``; the same seed
        gives byte-identical files.

    Returns
    -------
    int
        The number of rows written.
    """
    if size not in SIZES:
        raise ValueError(f"unknown sample size {size!r}; expected one of {SIZES}")
    rng = np.random.Generator(np.random.PCG64(seed))
    underlying = simulate_underlying(trading_days(), rng)
    return write_optionsdx(Path(path), chain_chunks(underlying, SPECS[size], rng))


def write_sample_data(data_root: Path, size: str = "demo", seed: int = 2020) -> dict[str, Path]:
    """
    Write the sample option chain and market history under ``data_root``.

    Parameters
    ----------
    data_root : Path
        The data root; files go to ``raw/options/`` and ``raw/``.
    size : {"demo", "full"}
        Size of the simulated option chain.
    seed : int
        Seed of the simulation.

    Returns
    -------
    dict
        ``{"options": path, "market": path}``.

    Raises
    ------
    ValueError
        If ``size`` is not one of :data:`SIZES`.
    """
    if size not in SIZES:
        raise ValueError(f"unknown sample size {size!r}; expected one of {SIZES}")
    data_root = Path(data_root)
    options = data_root / OPTIONS_FILE
    market = data_root / MARKET_FILE
    write_options(options, size=size, seed=seed)
    write_market(market)
    simulated = (
        f"simulated SPY option chain (optvol sample-data --size {size}, seed {seed}): a "
        "stochastic-volatility path with jumps that follows SPY's 2020-2022 course, not "
        "market quotes"
    )
    real = (
        "real S&P 500 OHLC (1999-2018), VIX (2014-2018), US core CPI and Moody's AAA/BAA "
        "yields, from the data files the arch package ships"
    )
    write_manifest(data_root / "raw", {options: (SIMULATED, simulated), market: (REAL, real)})
    return {"options": options, "market": market}
