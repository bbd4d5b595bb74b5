"""Tests for the embedded sample-data generator (optvol.sample)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optvol.core.options.pricing.black_scholes import bs_greeks
from optvol.sample import SIZES, write_options, write_sample_data
from optvol.sample.calendar import NYSE_HOLIDAYS, third_friday, trading_days, unix_close
from optvol.sample.optionsdx_writer import HEADER, write_optionsdx
from optvol.sample.underlying import DIVIDEND_YIELD, rate_curve

EXPECTED_HEADER = (
    "[QUOTE_UNIXTIME], [QUOTE_READTIME], [QUOTE_DATE], [QUOTE_TIME_HOURS], "
    "[UNDERLYING_LAST], [EXPIRE_DATE], [EXPIRE_UNIX], [DTE], [C_DELTA], [C_GAMMA], "
    "[C_VEGA], [C_THETA], [C_RHO], [C_IV], [C_VOLUME], [C_LAST], [C_SIZE], [C_BID], "
    "[C_ASK], [STRIKE], [P_BID], [P_ASK], [P_SIZE], [P_LAST], [P_DELTA], [P_GAMMA], "
    "[P_VEGA], [P_THETA], [P_RHO], [P_IV], [P_VOLUME], [STRIKE_DISTANCE], "
    "[STRIKE_DISTANCE_PCT]"
)
NAMES = [c.strip("[]") for c in EXPECTED_HEADER.split(", ")]
SIX_DECIMALS = r"-?\d+\.\d{6}"


def every_value_matches(values: pd.Series, pattern: str) -> bool:
    """Whether every value matches ``pattern`` in full: one match over the values joined by
    newlines (a loop over 200k values took seconds). ``pattern`` must not match a newline
    (no ``\\s``, ``.`` with DOTALL or negated classes), or two values could pass as one."""
    joined = "\n".join(values)
    return values.empty or re.fullmatch(f"(?:{pattern})(?:\n(?:{pattern}))*", joined) is not None


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict[str, Path]:
    return write_sample_data(tmp_path_factory.mktemp("data"), size="demo", seed=2020)


@pytest.fixture(scope="module")
def lines(sample) -> list[str]:
    return sample["options"].read_text().split("\n")


@pytest.fixture(scope="module")
def fields(lines) -> pd.DataFrame:
    """Every field as the raw string between the ', ' separators."""
    rows = [line.split(", ") for line in lines[1:] if line]
    return pd.DataFrame(rows, columns=NAMES)


@pytest.fixture(scope="module")
def chain(fields) -> pd.DataFrame:
    """The chain parsed to numbers (NaN for empty fields)."""
    frame = pd.DataFrame(index=fields.index)
    for name in NAMES:
        if name in ("QUOTE_DATE", "EXPIRE_DATE"):
            frame[name] = pd.to_datetime(fields[name], format="%Y-%m-%d")
        elif name in ("QUOTE_READTIME", "C_SIZE", "P_SIZE"):
            frame[name] = fields[name]
        else:
            frame[name] = pd.to_numeric(fields[name].replace("", np.nan))
    return frame


@pytest.fixture(scope="module")
def market(sample) -> pd.DataFrame:
    return pd.read_csv(sample["market"], parse_dates=["date"])


# -- layout ------------------------------------------------------------------


def test_paths_and_header(sample, lines):
    assert sample["options"].name == "SPY_options_2020-2022.csv"
    assert sample["options"].parent.name == "options"
    assert sample["market"].name == "raw_market.csv"
    assert lines[0] == EXPECTED_HEADER
    assert HEADER == EXPECTED_HEADER + "\n"
    assert lines[-1] == ""  # the file ends with a newline
    assert all(p.parent.exists() for p in sample.values())
    assert not [p for p in sample["options"].parent.iterdir() if p.name.endswith(".tmp")]


def test_every_line_has_33_clean_fields(lines):
    for line in lines[1:-1]:
        parts = line.split(", ")
        assert len(parts) == 33, line
        assert all(p == p.strip() for p in parts), line
    assert "\r" not in lines[1]


def test_number_formats(fields):
    for name in NAMES:
        values = fields[name]
        present = values[values != ""]
        if name in ("QUOTE_UNIXTIME", "EXPIRE_UNIX"):
            assert every_value_matches(present, r"\d{10}"), name
        elif name in ("QUOTE_DATE", "EXPIRE_DATE"):
            assert every_value_matches(present, r"\d{4}-\d{2}-\d{2}"), name
        elif name == "QUOTE_READTIME":
            assert (values == fields["QUOTE_DATE"] + " 16:00").all()
        elif name in ("C_SIZE", "P_SIZE"):
            assert every_value_matches(values, r"\d+ x \d+"), name
        else:
            assert every_value_matches(present, SIX_DECIMALS), name
    assert (fields["QUOTE_TIME_HOURS"] == "16.000000").all()
    assert fields["DTE"].str.endswith(".000000").all()
    # Underlying and prices are cents: two significant decimals, then zeros.
    for name in ("UNDERLYING_LAST", "C_BID", "C_ASK", "P_BID", "P_ASK", "STRIKE"):
        assert fields[name].str.endswith("0000").all(), name
    # Some values are missing: an empty field shows as ", , ".
    assert (fields["C_VOLUME"] == "").any()


def test_unix_times_are_16h_new_york(chain):
    np.testing.assert_array_equal(chain["QUOTE_UNIXTIME"], unix_close(chain["QUOTE_DATE"]))
    np.testing.assert_array_equal(chain["EXPIRE_UNIX"], unix_close(chain["EXPIRE_DATE"]))
    # 16:00 EST is 21:00 UTC in winter, 16:00 EDT is 20:00 UTC in summer.
    assert unix_close(np.array(["2020-01-02"], "datetime64[ns]"))[0] == 1577998800
    assert unix_close(np.array(["2020-07-01"], "datetime64[ns]"))[0] == 1593633600


# -- calendar ----------------------------------------------------------------


def test_trading_calendar():
    days = trading_days()
    assert len(days) == 756
    assert days[0] == pd.Timestamp("2020-01-02")
    assert days[-1] == pd.Timestamp("2022-12-30")
    assert pd.Timestamp("2021-12-31") in days
    assert pd.Timestamp("2022-06-20") not in days  # Juneteenth 2022
    assert pd.Timestamp("2021-06-18") in days  # not yet a holiday in 2021
    assert third_friday(2020, 3) == dt.date(2020, 3, 20)


def test_quote_dates(chain):
    dates = pd.DatetimeIndex(chain["QUOTE_DATE"].unique())
    assert len(dates) == 756
    assert dates.min() == pd.Timestamp("2020-01-02")
    assert dates.max() == pd.Timestamp("2022-12-30")
    assert (dates.dayofweek < 5).all()
    assert not dates.isin(pd.DatetimeIndex(NYSE_HOLIDAYS)).any()
    assert chain["QUOTE_DATE"].is_monotonic_increasing


def test_expiries(chain):
    assert (chain["EXPIRE_DATE"] >= chain["QUOTE_DATE"]).all()
    dte = (chain["EXPIRE_DATE"] - chain["QUOTE_DATE"]).dt.days
    np.testing.assert_array_equal(chain["DTE"], dte)
    assert (chain["DTE"] == 0).any()
    assert chain["DTE"].max() > 365
    expiries = pd.DatetimeIndex(chain["EXPIRE_DATE"].unique())
    monthly = {pd.Timestamp(third_friday(d.year, d.month)) for d in expiries}
    is_monthly = expiries.isin(list(monthly))
    assert is_monthly.sum() >= 30
    assert (~is_monthly).sum() >= 100  # weeklies
    # Holiday expiries move to the previous trading day: Good Friday 2020.
    assert pd.Timestamp("2020-04-09") in expiries
    assert pd.Timestamp("2020-04-10") not in expiries
    assert not expiries.isin(pd.DatetimeIndex(NYSE_HOLIDAYS)).any()


def test_row_count_and_one_row_per_contract(chain):
    assert 135_000 <= len(chain) <= 165_000
    assert not chain.duplicated(["QUOTE_DATE", "EXPIRE_DATE", "STRIKE"]).any()


# -- underlying --------------------------------------------------------------


def test_underlying_follows_spy_course(chain):
    spot = chain.groupby("QUOTE_DATE")["UNDERLYING_LAST"].agg(["first", "nunique"])
    assert (spot["nunique"] == 1).all()
    s = spot["first"]
    assert s["2020-01-02"] == pytest.approx(324.87)
    assert s["2020-03-23"] < 0.75 * s["2020-02-19"]
    assert s["2021-12-31"] > 1.15 * s["2020-12-31"]
    assert s["2022-10"].mean() < 0.85 * s["2022-01"].mean()
    returns = np.log(s).diff().dropna()
    assert returns["2020-03"].std() > 2 * returns["2021"].std()


def test_strike_distance_and_grid(chain):
    distance = (chain["STRIKE"] - chain["UNDERLYING_LAST"]).abs()
    np.testing.assert_allclose(chain["STRIKE_DISTANCE"], distance, atol=1e-6)
    np.testing.assert_allclose(
        chain["STRIKE_DISTANCE_PCT"], distance / chain["UNDERLYING_LAST"], atol=1e-6
    )
    assert (chain["STRIKE"] % 5 == 0).all()  # the demo lists SPY's $5 strikes
    assert chain["STRIKE"].min() > 0


# -- implied vols and greeks ---------------------------------------------------


def test_iv_higher_in_march_2020_than_2021(chain):
    near = chain[(chain["STRIKE_DISTANCE_PCT"] < 0.05) & chain["DTE"].between(7, 60)]
    by_date = near.set_index("QUOTE_DATE")["P_IV"]
    assert by_date["2020-03"].mean() > 1.5 * by_date["2021"].mean()
    assert by_date["2022"].mean() > by_date["2021"].mean()


def test_put_skew(chain):
    otm_puts = chain[(chain["STRIKE"] < chain["UNDERLYING_LAST"]) & (chain["DTE"] > 0)]
    otm_puts = otm_puts.dropna(subset=["P_IV"])
    groups = otm_puts.groupby(["QUOTE_DATE", "EXPIRE_DATE"])
    first, last = groups["P_IV"].first(), groups["P_IV"].last()  # lowest, highest strike
    n = groups.size()
    assert ((first > last)[n >= 3]).mean() > 0.95


def test_greeks_consistent_with_iv(chain):
    for side, is_call in (("C", True), ("P", False)):
        rows = chain[chain[f"{side}_IV"].notna()]
        rate = rate_curve(pd.DatetimeIndex(rows["QUOTE_DATE"]))
        g = bs_greeks(
            rows["UNDERLYING_LAST"].to_numpy(),
            rows["STRIKE"].to_numpy(),
            rows["DTE"].to_numpy() / 365,
            rate,
            DIVIDEND_YIELD,
            rows[f"{side}_IV"].to_numpy(),
            is_call,
        )
        # The printed IV is rounded to six decimals, hence the tolerances.
        np.testing.assert_allclose(g.delta, rows[f"{side}_DELTA"], atol=1e-4)
        np.testing.assert_allclose(g.vega, rows[f"{side}_VEGA"], atol=1e-5, rtol=1e-4)
        np.testing.assert_allclose(g.theta, rows[f"{side}_THETA"], atol=1e-5, rtol=1e-4)
    assert (chain["C_DELTA"].between(0, 1)).all()
    assert (chain["P_DELTA"].between(-1, 0)).all()
    assert chain[["C_GAMMA", "P_GAMMA", "C_VEGA", "P_VEGA"]].notna().all().all()


def test_empty_iv_pattern(chain):
    for side in ("C", "P"):
        empty = chain[f"{side}_IV"].isna()
        assert 0.005 < empty.mean() < 0.3
        assert empty[chain["DTE"] == 0].all()  # no IV at expiry
        assert chain.loc[empty, f"{side}_DELTA"].notna().all()  # greeks still there
    moneyness = chain["STRIKE"] / chain["UNDERLYING_LAST"]
    live = chain["DTE"] > 0
    assert chain.loc[live & (moneyness < 0.8), "C_IV"].isna().mean() > 0.2
    assert chain.loc[live & (moneyness > 1.2), "P_IV"].isna().mean() > 0.1
    near = live & (moneyness - 1).abs().lt(0.02)
    assert chain.loc[near, ["C_IV", "P_IV"]].isna().mean().max() < 0.01


# -- quotes -------------------------------------------------------------------


def test_bid_ask_sizes_volume_last(chain):
    for side in ("C", "P"):
        bid, ask = chain[f"{side}_BID"], chain[f"{side}_ASK"]
        assert (bid >= 0).all() and (ask > 0).all()
        assert (bid <= ask).mean() > 0.99
        assert (bid == 0).any()  # far out of the money
        assert (ask[bid == 0] <= 0.05).mean() > 0.9
        sizes = chain[f"{side}_SIZE"].str.extract(r"(\d+) x (\d+)").astype(int)
        assert sizes[1].between(1, 5000).all()
        volume = chain[f"{side}_VOLUME"]
        assert 0.6 < volume.isna().mean() < 0.99
        assert (volume.dropna() >= 1).all() and (volume.dropna() % 1 == 0).all()
        near = chain["STRIKE_DISTANCE_PCT"] < 0.02
        assert volume[near].notna().mean() > volume[~near].notna().mean()
        last = chain[f"{side}_LAST"]
        assert last[volume.notna()].notna().all()
        assert last.isna().any()
        traded = volume.notna()
        assert ((last >= bid) & (last <= ask))[traded].all()


# -- determinism and errors ----------------------------------------------------


def test_same_seed_same_bytes_other_seed_differs(sample, tmp_path):
    again = write_sample_data(tmp_path / "again", size="demo", seed=2020)
    assert again["options"].read_bytes() == sample["options"].read_bytes()
    assert again["market"].read_bytes() == sample["market"].read_bytes()
    other = tmp_path / "other.csv"
    write_options(other, size="demo", seed=7)
    assert other.read_bytes() != sample["options"].read_bytes()


def test_unknown_size_raises(tmp_path):
    assert SIZES == ("demo", "full")
    with pytest.raises(ValueError, match="huge"):
        write_sample_data(tmp_path, size="huge")
    assert not (tmp_path / "raw").exists()


def test_interrupted_write_keeps_previous_file(tmp_path):
    target = tmp_path / "chain.csv"
    target.write_text("previous\n")

    def chunks():
        yield pd.DataFrame()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_optionsdx(target, chunks())
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["chain.csv"]


@pytest.mark.slow
def test_full_size(tmp_path):
    rows = write_options(tmp_path / "full.csv", size="full")
    assert 3_240_000 <= rows <= 3_960_000


# -- market file ---------------------------------------------------------------


def test_market_file(sample, market):
    first_line = sample["market"].read_text().split("\n", 1)[0]
    assert first_line == (
        "date,spx_open,spx_high,spx_low,spx_close,vix_close,core_cpi,aaa_yield,baa_yield"
    )
    assert market["date"].min() == pd.Timestamp("1999-01-04")
    assert market["date"].max() == pd.Timestamp("2018-12-31")
    assert market["date"].is_monotonic_increasing and market["date"].is_unique
    vix = market.dropna(subset=["vix_close"])
    assert vix["date"].min() >= pd.Timestamp("2014-01-01")
    assert vix["date"].min() < pd.Timestamp("2014-01-10")
    assert len(market.dropna(subset=["spx_close"])) > 5000
    for name in ("core_cpi", "aaa_yield", "baa_yield"):
        observed = market.dropna(subset=[name])["date"]
        assert (observed.dt.day == 1).all(), name
        assert len(observed) >= 230
    # Dates that are not trading days exist only for the monthly observations.
    no_spx = market[market["spx_close"].isna()]
    assert (no_spx["date"].dt.day == 1).all()
    assert no_spx[["core_cpi", "aaa_yield", "baa_yield"]].notna().any(axis=1).all()


def test_market_numbers_without_float_noise(sample):
    text = sample["market"].read_text()
    numbers = re.findall(r"(?<=,)[^,\n]+", text.split("\n", 1)[1])
    assert numbers
    assert all(re.fullmatch(r"\d+(\.\d{1,3})?", n) for n in numbers)


# -- how the implied vols move ---------------------------------------------------------


def test_implied_vols_move_like_the_market(sample):
    """The bands the simulated chain is held to, from the two real chains in
    ../shared/data/real and the literature: near the money a fixed strike's vol falls 0.4
    to 1.8 vol points per 1% rise of the underlying, with R^2 0.2 to 0.6; shorter
    maturities move more; the skew steepens when spot falls; spreads lie between the real
    files' (0.004 SPY, 0.041 SPXW)."""
    from optvol.core.options.dynamics import iv_dynamics
    from optvol.core.options.ingest.clean import clean_option_quotes
    from optvol.core.options.ingest.read import read_option_files

    quotes, _ = clean_option_quotes(read_option_files([sample["options"]])[0])
    dynamics = iv_dynamics(quotes)
    assert -1.8 <= dynamics.near_money.slope <= -0.4
    assert 0.2 <= dynamics.near_money.r2 <= 0.6
    atm = dynamics.buckets[dynamics.buckets["moneyness"] == "0.98-1.02"].set_index("dte")
    assert atm.loc["8-30", "slope"] < atm.loc["31-90", "slope"] < atm.loc[">90", "slope"] < 0
    assert dynamics.skew.slope < 0
    assert 0.004 <= dynamics.median_relative_spread <= 0.041
    assert dynamics.near_money.residual_sd < 0.04
