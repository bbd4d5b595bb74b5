"""Small input files written by the tests themselves, in the formats of docs/architecture.md §3."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from optvol.core.options.ingest.optionsdx import OPTIONSDX_COLUMNS, OPTIONSDX_HEADER


def optionsdx_row(**overrides) -> dict[str, str]:
    """One optionsDX row as the strings a vendor file holds (quirks included)."""
    row = {
        "QUOTE_UNIXTIME": "1577998800",
        "QUOTE_READTIME": "2020-01-02 16:00",
        "QUOTE_DATE": "2020-01-02",
        "QUOTE_TIME_HOURS": "16.000000",
        "UNDERLYING_LAST": "324.870000",
        "EXPIRE_DATE": "2020-02-21",
        "EXPIRE_UNIX": "1582318800",
        "DTE": "50.000000",
        "C_DELTA": "0.551230",
        "C_GAMMA": "0.021000",
        "C_VEGA": "0.402100",
        "C_THETA": "-0.061200",
        "C_RHO": "0.221000",
        "C_IV": "0.128450",
        "C_VOLUME": "",
        "C_LAST": "7.450000",
        "C_SIZE": "693 x 767",
        "C_BID": "7.400000",
        "C_ASK": "7.480000",
        "STRIKE": "324.000000",
        "P_BID": "5.900000",
        "P_ASK": "5.970000",
        "P_SIZE": "120 x 85",
        "P_LAST": "",
        "P_DELTA": "-0.448770",
        "P_GAMMA": "0.021000",
        "P_VEGA": "0.402100",
        "P_THETA": "-0.052000",
        "P_RHO": "-0.190000",
        "P_IV": "0.134510",
        "P_VOLUME": "12.000000",
        "STRIKE_DISTANCE": "0.870000",
        "STRIKE_DISTANCE_PCT": "0.002680",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def optionsdx_line(row: dict[str, str]) -> str:
    return ", ".join(row[c] for c in OPTIONSDX_COLUMNS)


def write_optionsdx(path: Path, rows: list[dict[str, str]], newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [OPTIONSDX_HEADER, *(optionsdx_line(r) for r in rows)]
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def small_chain(
    dates=("2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"),
    expiries=("2020-01-17", "2020-02-21"),
    strikes=(310.0, 320.0, 330.0),
) -> list[dict[str, str]]:
    """A tiny but consistent chain: every (date, expiry, strike), sensible prices."""
    rows = []
    for i, date in enumerate(dates):
        spot = 320.0 + i
        for expiry in expiries:
            dte = (dt.date.fromisoformat(expiry) - dt.date.fromisoformat(date)).days
            for strike in strikes:
                call = max(spot - strike, 0) + 2.0 + dte / 20
                put = max(strike - spot, 0) + 2.0 + dte / 20
                rows.append(
                    optionsdx_row(
                        QUOTE_DATE=date,
                        QUOTE_READTIME=f"{date} 16:00",
                        EXPIRE_DATE=expiry,
                        DTE=f"{dte:.6f}",
                        UNDERLYING_LAST=f"{spot:.6f}",
                        STRIKE=f"{strike:.6f}",
                        C_BID=f"{call - 0.05:.6f}",
                        C_ASK=f"{call + 0.05:.6f}",
                        P_BID=f"{put - 0.05:.6f}",
                        P_ASK=f"{put + 0.05:.6f}",
                    )
                )
    return rows


def market_frame(n_days: int = 120, seed: int = 1) -> pd.DataFrame:
    """Daily S&P/VIX rows on business days plus a monthly macro series on month starts."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-01", periods=n_days)
    close = 2000 * np.exp(np.cumsum(rng.normal(0, 0.01, n_days)))
    daily = pd.DataFrame(
        {
            "date": dates,
            "spx_open": close * (1 + rng.normal(0, 0.002, n_days)),
            "spx_high": close * 1.01,
            "spx_low": close * 0.99,
            "spx_close": close,
            "vix_close": 15 + rng.normal(0, 1, n_days),
        }
    )
    months = pd.date_range("2014-12-01", dates[-1], freq="MS")
    macro = pd.DataFrame({"date": months, "core_cpi": 240 + np.arange(len(months), dtype=float)})
    return daily.merge(macro, on="date", how="outer").sort_values("date")


def volatile_market_frame(n_days: int = 900, vix_from: int = 300, seed: int = 7) -> pd.DataFrame:
    """Business days of an S&P-like index whose volatility is persistent (log-vol AR(1)),
    with OHLC consistent with the close, VIX = 1.15 x the day's vol plus noise from row
    ``vix_from`` on (empty before), and monthly CPI-like and yield-like series."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2010-01-04", periods=n_days)
    log_vol = np.empty(n_days)
    log_vol[0] = np.log(0.16)
    for t in range(1, n_days):
        log_vol[t] = np.log(0.16) + 0.97 * (log_vol[t - 1] - np.log(0.16)) + rng.normal(0, 0.12)
    vol = np.exp(log_vol)
    returns = rng.standard_normal(n_days) * vol / np.sqrt(252)
    close = 1500 * np.exp(np.cumsum(returns))
    open_ = np.r_[1500, close[:-1]] * np.exp(rng.normal(0, 0.001, n_days))
    spread = np.abs(rng.normal(0, 1, n_days)) * vol / np.sqrt(252)
    vix = 100 * vol * 1.15 * np.exp(rng.normal(0, 0.05, n_days))
    vix[:vix_from] = np.nan
    daily = pd.DataFrame(
        {
            "date": dates,
            "spx_open": open_,
            "spx_high": np.maximum(open_, close) * np.exp(spread),
            "spx_low": np.minimum(open_, close) * np.exp(-spread),
            "spx_close": close,
            "vix_close": vix,
        }
    )
    months = pd.date_range(dates[0] - pd.offsets.MonthBegin(2), dates[-1], freq="MS")
    steps = np.arange(len(months), dtype=float)
    macro = pd.DataFrame(
        {
            "date": months,
            "core_cpi": 220 + 0.2 * steps,
            "baa_yield": 5 + np.cumsum(rng.normal(0, 0.1, len(months))),
        }
    )
    return daily.merge(macro, on="date", how="outer").sort_values("date", ignore_index=True)


def long_history_frame(
    flat_days: int = 400, days: int = 900, missing_open: tuple[int, ...] = (450, 460, 700)
) -> pd.DataFrame:
    """An index history shaped like Yahoo's S&P 500 file since 1927: the first
    ``flat_days`` rows repeat the close in open, high and low (no range was recorded),
    later rows have a full OHLC range except the rows ``missing_open``, which lack the
    open; VIX only over the last third."""
    frame = volatile_market_frame(n_days=days, vix_from=2 * days // 3, seed=11)
    daily = frame.loc[frame["spx_close"].notna()].index
    flat = daily[:flat_days]
    for column in ("spx_open", "spx_high", "spx_low"):
        frame.loc[flat, column] = frame.loc[flat, "spx_close"]
    frame.loc[daily[list(missing_open)], "spx_open"] = np.nan
    return frame


def write_market(path: Path, frame: pd.DataFrame | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = market_frame() if frame is None else frame
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def write_small_inputs(root: Path) -> None:
    """A tiny data root: one optionsDX file and a market file."""
    write_optionsdx(root / "raw" / "options" / "spy_eod_202001.txt", small_chain())
    write_market(root / "raw" / "raw_market.csv")


def option_quotes_frame(
    n_days: int = 40,
    strikes: tuple[float, ...] = (85.0, 90.0, 95.0, 100.0, 105.0, 110.0, 115.0),
    expiries: tuple[str, ...] = ("2020-03-20", "2020-06-19", "2020-12-18"),
    seed: int = 0,
    r: float = 0.02,
    q: float = 0.015,
    atm_beta: float = 0.0,
    root: str = "",
) -> pd.DataFrame:
    """A small clean ``option_quotes`` table (the dtypes of ``OPTION_QUOTES_DTYPES``).

    Business days from 2020-01-02, a random-walk underlying starting at 100, and every
    (expiry, strike, call/put) side priced with Black-Scholes at ``r`` and ``q`` from the
    smile ``iv = level_t + 0.20 - 0.15 x + 0.5 x^2 + 0.02 tau`` with ``x = ln(K/S)``;
    ``level_t`` is noise of sd 0.005 plus ``atm_beta ln(S_t / 100)``, so a fixed strike's
    vol moves by about ``(atm_beta + 0.15)`` times the return. Every row has the option
    class ``root`` ("": none).
    ``mid`` is the exact Black-Scholes price, ``iv`` the volatility it was priced at,
    ``usable`` is True everywhere. Sides whose expiry is not after the quote date are
    left out. Sorted by quote date, expiration, type, strike.
    """
    from optvol.core.options.ingest.clean import (
        FLAG_COLUMNS,
        OPTION_QUOTES_DTYPES,
        add_parity_forwards,
        is_am_settled,
        time_to_expiry,
    )
    from optvol.core.options.pricing.black_scholes import bs_greeks, bs_price

    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-02", periods=n_days)
    spots = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 0.01, n_days - 1))]))
    levels = rng.normal(0.0, 0.005, n_days) + atm_beta * np.log(spots / 100.0)
    grid = pd.MultiIndex.from_product(
        [range(n_days), pd.to_datetime(list(expiries)), ["C", "P"], [float(k) for k in strikes]],
        names=["day", "expiration", "option_type", "strike"],
    ).to_frame(index=False)
    grid["quote_date"] = dates[grid["day"].to_numpy()]
    dte = (grid["expiration"] - grid["quote_date"]).dt.days.to_numpy()
    grid = grid.loc[dte >= 1].reset_index(drop=True)
    day = grid["day"].to_numpy()
    dte = (grid["expiration"] - grid["quote_date"]).dt.days.to_numpy()
    spot, strike = spots[day], grid["strike"].to_numpy()
    # As cleaning computes it: an AM-settled class (SPX) has 6.5 hours less on its last day.
    tau = time_to_expiry(dte, is_am_settled(np.full(len(dte), root)))
    is_call = (grid["option_type"] == "C").to_numpy()
    x = np.log(strike / spot)
    iv = levels[day] + 0.20 - 0.15 * x + 0.5 * x * x + 0.02 * tau
    mid = bs_price(spot, strike, tau, r, q, iv, is_call)
    half = np.minimum(0.05, 0.2 * mid)
    greeks = bs_greeks(spot, strike, tau, r, q, iv, is_call)
    n = len(grid)
    frame = pd.DataFrame(
        {
            "quote_date": grid["quote_date"],
            "expiration": grid["expiration"],
            "option_type": grid["option_type"],
            "root": root,
            "strike": strike,
            "underlying_last": spot,
            "bid": mid - half,
            "ask": mid + half,
            "mid": mid,
            "spread": 2 * half,
            "last": mid,
            "bid_size": rng.integers(1, 500, n),
            "ask_size": rng.integers(1, 500, n),
            "volume": rng.integers(0, 1000, n).astype(float),
            "open_interest": rng.integers(0, 5000, n).astype(float),
            "iv": iv,
            "delta": greeks.delta,
            "gamma": greeks.gamma,
            "vega": greeks.vega,
            "theta": greeks.theta,
            "rho": greeks.rho,
            "dte_days": dte,
            "tau": tau,
            "moneyness": strike / spot,
            **{flag: False for flag in FLAG_COLUMNS},
            "usable": True,
            "source_file": "synthetic_chain.txt",
            "source_row": np.arange(n),
        }
    )
    frame["forward"] = frame["carry"] = np.nan
    frame["forward_pairs"] = 0
    frame = frame.astype(OPTION_QUOTES_DTYPES)[list(OPTION_QUOTES_DTYPES)]
    frame["option_type"] = frame["option_type"].cat.set_categories(["C", "P"])
    frame = frame.sort_values(["quote_date", "expiration", "option_type", "strike"])
    return add_parity_forwards(frame.reset_index(drop=True))


def dated_back(path: Path, seconds: float = 3600) -> Path:
    """Set ``path``'s mtime ``seconds`` back (default an hour: older than the file
    sensor's settling time, so it is taken as complete)."""
    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


def write_quote_months(frame: pd.DataFrame, directory: Path) -> list[Path]:
    """``frame`` written as the partitioned IO manager writes a table: one
    ``<YYYY-MM>.parquet`` per quote month under ``directory``."""
    from optvol.core.common.parquet import write_parquet

    months = frame["quote_date"].dt.strftime("%Y-%m")
    paths = []
    for month, rows in frame.groupby(months, sort=True):
        part = rows.reset_index(drop=True)
        part.attrs = dict(frame.attrs)
        paths.append(directory / f"{month}.parquet")
        write_parquet(part, paths[-1])
    return paths
