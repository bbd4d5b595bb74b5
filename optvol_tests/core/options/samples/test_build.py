"""Tests for optvol.core.options.samples.build: samples, windows, baselines and splits."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

import optvol.core.common.row_chunks as row_chunks
from optvol.core.common.errors import OptvolInputError
from optvol.core.options.pricing.black_scholes import bs_price, implied_vol
from optvol.core.options.samples import (
    ANCHOR,
    BASELINES,
    HISTORY_FEATURES,
    SPLITS,
    STATIC_FEATURES,
    SampleConfig,
    build_samples,
    cumulative_squares,
    historical_vol_into,
    historical_vol_of_sums,
    window_days,
    window_indices,
)
from optvol.core.options.samples.build import _fingerprint
from optvol.core.options.samples.leverage import MIN_BUCKET_DAYS
from optvol_tests.builders import option_quotes_frame

R, Q = SampleConfig().risk_free_rate, SampleConfig().dividend_yield
KEY = ["expiration", "option_type", "strike"]
# These tests read the samples of one chronological split; test_latest_fit_split_* those
# of the walk-forward's saved model.
SPLIT = SampleConfig(evaluation="split")


def build(quotes, config: SampleConfig | None = None, **kwargs):
    return build_samples(quotes, config or SPLIT, **kwargs)


def split_config(**kwargs) -> SampleConfig:
    return SampleConfig(evaluation="split", **kwargs)


@pytest.fixture(scope="module")
def quotes() -> pd.DataFrame:
    return option_quotes_frame()


@pytest.fixture(scope="module")
def samples(quotes):
    return build(quotes)


@pytest.fixture(scope="module")
def dates(quotes) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.unique(quotes["quote_date"]))


def is_contract(
    frame: pd.DataFrame, expiration: str, option_type: str, strike: float
) -> np.ndarray:
    return (
        (frame["expiration"] == pd.Timestamp(expiration))
        & (frame["option_type"].astype(str) == option_type)
        & (frame["strike"] == strike)
    ).to_numpy()


def quote_of(quotes: pd.DataFrame, rows: pd.DataFrame, dates: np.ndarray) -> pd.DataFrame:
    """The quote of each row's contract on ``dates`` (one per row), in the rows' order."""
    left = rows[KEY].assign(quote_date=dates, option_type=rows["option_type"].astype(str))
    right = quotes.assign(option_type=quotes["option_type"].astype(str))
    merged = left.merge(right, on=[*KEY, "quote_date"], how="left", validate="one_to_one")
    assert len(merged) == len(rows)
    return merged


# --- SampleConfig ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train_fraction": 0.0}, "positive and sum to less than 1"),
        ({"validation_fraction": -0.1}, "positive and sum to less than 1"),
        ({"train_fraction": 0.85, "validation_fraction": 0.15}, "sum to less than 1"),
        ({"train_fraction": 0.9, "validation_fraction": 0.2}, "sum to less than 1"),
        ({"train_end": "2020-02-01"}, "give both train_end and validation_end"),
        ({"validation_end": "2020-02-01"}, "give both train_end and validation_end"),
        ({"train_end": "2020-02-01", "validation_end": "2020-02-01"}, "must come after"),
        ({"train_end": "2020-02-10", "validation_end": "2020-02-01"}, "must come after"),
        ({"sequence_length": 0}, "sequence_length must be >= 6"),
        ({"sequence_length": 5}, "sequence_length must be >= 6"),
        ({"historical_vol_days": 1}, "historical_vol_days must be >= 2"),
    ],
)
def test_sample_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SampleConfig(**kwargs)


def test_sample_config_accepts_explicit_dates_and_round_trips():
    config = SampleConfig(train_end="2020-02-10", validation_end="2020-02-19", sequence_length=6)
    assert SampleConfig(**config.to_dict()) == config


# --- which quotes are samples ----------------------------------------------------------------------


def test_shapes_and_columns(samples, quotes, dates):
    n = len(samples.rows)
    assert samples.static.shape == (n, len(STATIC_FEATURES))
    assert samples.history.shape[1] == len(HISTORY_FEATURES)
    assert samples.static.dtype == samples.history.dtype == np.float32
    assert len(samples.quoted) == len(samples.slot_day) == len(samples.history)
    assert len(samples.sample_slot) == len(samples.sample_day) == len(samples.anchor_iv) == n
    assert set(BASELINES) | {"split", "mid", "strike", "underlying"} <= set(samples.rows.columns)
    np.testing.assert_array_equal(samples.calendar, dates.to_numpy())
    # Every contract is a sample on every day after the first (the historical vol of the
    # first 20 stands on the returns they have), Mondays (after a weekend) included.
    per_day = samples.rows.groupby("quote_date").size()
    np.testing.assert_array_equal(per_day.index, dates[1:])
    assert (per_day == 42).all()
    assert (dates[1:].dayofweek == 0).any()


def test_no_nan_in_inputs(samples):
    assert np.isfinite(samples.static).all()
    assert np.isfinite(samples.history).all()
    assert np.isfinite(samples.anchor_iv).all()
    assert np.isfinite(samples.underlying_return).all()
    assert np.isfinite(samples.rows[list(BASELINES)].to_numpy()).all()


def test_missing_vendor_iv_leaves_no_nan_and_keeps_the_samples(quotes, samples):
    holes = quotes.copy()
    rng = np.random.default_rng(3)
    holes.loc[rng.random(len(holes)) < 0.2, "iv"] = np.nan
    with_holes = build(holes)
    assert len(with_holes.rows) == len(samples.rows)
    assert np.isfinite(with_holes.static).all()
    assert np.isfinite(with_holes.history).all()


CONTRACT = ("2020-06-19", "C", 100.0)


def sample_dates_of(samples, contract=CONTRACT) -> set:
    return set(samples.rows.loc[is_contract(samples.rows, *contract), "quote_date"])


def test_sample_needs_a_quote_on_the_previous_day(quotes, samples, dates):
    removed = quotes.loc[~(is_contract(quotes, *CONTRACT) & (quotes["quote_date"] == dates[30]))]
    without = build(removed)
    assert sample_dates_of(samples) == set(dates[1:])
    # No sample on day 30 (no quote) nor on day 31 (no quote the day before); day 32 again.
    assert sample_dates_of(without) == set(dates[1:]) - {dates[30], dates[31]}
    assert len(without.rows) == len(samples.rows) - 2


def test_an_unusable_quote_counts_as_missing(quotes, dates):
    target = is_contract(quotes, *CONTRACT) & (quotes["quote_date"] == dates[30])
    unusable = quotes.copy()
    unusable.loc[target, "usable"] = False
    unusable.loc[target, "bid"] = 0.0
    removed = build(quotes.loc[~target])
    flagged = build(unusable)
    pd.testing.assert_frame_equal(flagged.rows, removed.rows)
    np.testing.assert_array_equal(flagged.static, removed.static)
    np.testing.assert_array_equal(flagged.history, removed.history)
    assert flagged.fingerprint == removed.fingerprint


# --- splits -----------------------------------------------------------------------------------------


def split_of_each_date(samples) -> pd.Series:
    per_date = samples.rows.groupby("quote_date")["split"].agg(["nunique", "first"])
    assert (per_date["nunique"] == 1).all(), "a date is in more than one split"
    return per_date["first"]


def test_default_split_is_70_15_15_of_whole_dates_in_order(samples, dates):
    labels = split_of_each_date(samples)
    # 39 sample dates: round(0.7 * 39) = 27 train, round(0.15 * 39) = 6 validation, 6 test.
    assert list(labels) == ["train"] * 27 + ["validation"] * 6 + ["test"] * 6
    sample_dates = [str(d.date()) for d in dates[1:]]
    assert samples.split_dates == {
        "train": [sample_dates[0], sample_dates[26]],
        "validation": [sample_dates[27], sample_dates[32]],
        "test": [sample_dates[33], sample_dates[38]],
    }
    for name in ("train", "validation", "test"):
        np.testing.assert_array_equal(
            samples.indices(name), np.flatnonzero(samples.rows["split"] == name)
        )


def test_split_fractions_are_honoured(quotes):
    labels = split_of_each_date(
        build(quotes, split_config(train_fraction=0.6, validation_fraction=0.2))
    )
    # 39 dates: round(23.4) = 23, round(7.8) = 8, the remaining 8.
    assert list(labels) == ["train"] * 23 + ["validation"] * 8 + ["test"] * 8


def test_explicit_split_dates_are_honoured(quotes):
    # 2020-02-08 is a Saturday: the end dates need not be trading days.
    config = split_config(train_end="2020-02-08", validation_end="2020-02-19")
    built = build(quotes, config)
    labels = split_of_each_date(built)
    for day, label in labels.items():
        expected = (
            "train"
            if day <= pd.Timestamp("2020-02-08")
            else "validation"
            if day <= pd.Timestamp("2020-02-19")
            else "test"
        )
        assert label == expected, day
    assert built.split_dates["train"][1] == "2020-02-07"
    assert built.split_dates["validation"] == ["2020-02-10", "2020-02-19"]
    assert built.split_dates["test"][0] == "2020-02-20"


@pytest.mark.parametrize(
    ("train_end", "validation_end", "empty"),
    [
        ("2020-01-02", "2020-02-10", "train"),  # the first day makes no sample
        ("2020-02-14", "2020-02-16", "validation"),  # only a weekend between them
        ("2020-02-10", "2020-03-31", "test"),
    ],
)
def test_an_empty_split_raises_naming_it(quotes, train_end, validation_end, empty):
    config = split_config(train_end=train_end, validation_end=validation_end)
    with pytest.raises(OptvolInputError, match=f"the {empty} split has no sample"):
        build(quotes, config)


def test_too_few_sample_dates_for_a_split(quotes):
    # 3 days: samples on the last two only.
    with pytest.raises(OptvolInputError, match=r"span 2 quote date\(s\).*at least 3"):
        build(option_quotes_frame(n_days=3))


# --- windows ----------------------------------------------------------------------------------------


def test_window_indices_and_days_formula():
    np.testing.assert_array_equal(window_indices(np.array([10, 25]), 3), [[7, 8, 9], [22, 23, 24]])
    np.testing.assert_array_equal(window_days(np.array([1, 5]), 3), [[-2, -1, 0], [2, 3, 4]])


def expected_history(frame: pd.DataFrame) -> tuple[list[int], np.ndarray]:
    """Columns of HISTORY_FEATURES and their values for ``frame``'s quotes, from the vendor
    columns of the synthetic chain (its greeks are the Black-Scholes greeks at its iv;
    its moneyness is ln(F/K) at the parity forward)."""
    strike, spot = frame["strike"].to_numpy(), frame["underlying_last"].to_numpy()
    expected = {
        "mid_over_strike": frame["mid"] / strike,
        "iv": frame["iv"],
        "delta": frame["delta"],
        "gamma_x_spot": frame["gamma"] * spot,
        "vega_over_strike": frame["vega"] / strike,
        "theta_over_strike": frame["theta"] / strike,
        "log_moneyness": np.log(spot / strike) + frame["carry"] * frame["tau"],
        "tau": frame["tau"],
    }
    columns = [HISTORY_FEATURES.index(name) for name in expected]
    return columns, np.stack([np.asarray(v, float) for v in expected.values()], axis=1)


def test_window_holds_the_contracts_own_history(quotes, samples, dates):
    L = samples.config.sequence_length
    contract = ("2020-12-18", "P", 95.0)
    i = np.flatnonzero(
        is_contract(samples.rows, *contract) & (samples.rows["quote_date"] == dates[33])
    )
    assert len(i) == 1
    window = window_indices(samples.sample_slot[i], L)[0]
    np.testing.assert_array_equal(samples.slot_day[window], np.arange(33 - L, 33))
    assert samples.quoted[window].all()
    history_dates = dates[33 - L : 33].to_numpy()
    own = quote_of(quotes, samples.rows.iloc[np.repeat(i, L)], history_dates)
    columns, expected = expected_history(own)
    np.testing.assert_allclose(samples.history[window][:, columns], expected, rtol=2e-5, atol=1e-7)
    # The sample's own day t is not in the window: it is the next slot.
    assert samples.slot_day[samples.sample_slot[i[0]]] == 33


def test_window_is_masked_before_the_first_quote_and_on_missing_days(quotes, dates):
    contract = ("2020-06-19", "P", 95.0)
    mine = is_contract(quotes, *contract)
    gone = mine & ((quotes["quote_date"] < dates[25]) | (quotes["quote_date"] == dates[30]))
    built = build(quotes.loc[~gone].reset_index(drop=True))
    rows = built.rows
    own = is_contract(rows, *contract)
    # First quote on day 25, so the first sample is on day 26; none on 30 and 31.
    assert set(rows.loc[own, "quote_date"]) == set(dates[26:]) - {dates[30], dates[31]}

    L = built.config.sequence_length
    i = np.flatnonzero(own & (rows["quote_date"] == dates[33]))
    window = window_indices(built.sample_slot[i], L)[0]
    quoted = built.quoted[window]
    # Days 13..24 precede the contract's life (padding), 30 had no quote.
    expected_quoted = np.array([d >= 25 and d != 30 for d in range(33 - L, 33)])
    np.testing.assert_array_equal(quoted, expected_quoted)
    np.testing.assert_array_equal(
        built.slot_day[window], [d if d >= 25 else -1 for d in range(33 - L, 33)]
    )
    assert (built.history[window[~quoted]] == 0).all()
    quoted_days = np.arange(33 - L, 33)[expected_quoted]
    own_quotes = quote_of(quotes, rows.iloc[np.repeat(i, len(quoted_days))], dates[quoted_days])
    columns, expected = expected_history(own_quotes)
    np.testing.assert_allclose(
        built.history[window[quoted]][:, columns], expected, rtol=2e-5, atol=1e-7
    )


# --- baselines --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def previous(quotes, samples) -> pd.DataFrame:
    """The quote of each sample's contract on the previous date of the calendar."""
    return quote_of(quotes, samples.rows, samples.calendar[samples.sample_day - 1])


def test_prev_mid_is_the_mid_of_the_day_before(samples, previous):
    assert previous["mid"].notna().all()
    np.testing.assert_array_equal(samples.rows["prev_mid"], previous["mid"])
    assert not np.allclose(samples.rows["prev_mid"], samples.rows["mid"])


def previous_yield(previous: pd.DataFrame) -> np.ndarray:
    """The dividend yield at which the configured rate prices at the t-1 parity forward."""
    return R - previous["carry"].to_numpy()


def test_samples_are_priced_at_the_previous_days_parity_carry(samples, previous):
    # The builder's chain is priced at r - q = 0.005: parity recovers it.
    np.testing.assert_allclose(samples.rows["carry"], previous["carry"], rtol=1e-12)
    np.testing.assert_allclose(samples.rows["carry"], R - Q, atol=1e-9)
    assert not samples.rows["forward_fallback"].any()


def test_practitioner_baselines_reprice_the_previous_iv_at_todays_spot(samples, previous):
    rows = samples.rows
    is_call = (rows["option_type"] == "C").to_numpy()
    strike, tau = rows["strike"].to_numpy(), rows["tau"].to_numpy()
    spot_t = rows["underlying"].to_numpy()
    q = previous_yield(previous)
    iv_prev = implied_vol(
        previous["mid"].to_numpy(),
        previous["underlying_last"].to_numpy(),
        strike,
        previous["tau"].to_numpy(float),
        R,
        q,
        is_call,
    )
    np.testing.assert_allclose(
        rows["practitioner_bs_mid_iv"],
        bs_price(spot_t, strike, tau, R, q, iv_prev, is_call),
        rtol=1e-9,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        rows["practitioner_bs"],
        bs_price(spot_t, strike, tau, R, q, previous["iv"].to_numpy(float), is_call),
        rtol=1e-9,
        atol=1e-12,
    )
    column = STATIC_FEATURES.index("prev_iv_from_mid")
    np.testing.assert_allclose(samples.static[:, column], iv_prev, rtol=1e-6)
    # Today's spot moved: repricing at S_{t-1} would give another price.
    stale = bs_price(previous["underlying_last"], strike, tau, R, q, iv_prev, is_call)
    assert not np.allclose(rows["practitioner_bs_mid_iv"], stale, rtol=1e-6)


def test_leverage_bs_moves_the_previous_iv_by_its_buckets_slope(samples, previous):
    rows = samples.rows
    is_call = (rows["option_type"] == "C").to_numpy()
    strike, tau = rows["strike"].to_numpy(), rows["tau"].to_numpy()
    q = previous_yield(previous)
    iv_prev = implied_vol(
        previous["mid"].to_numpy(), previous["underlying_last"].to_numpy(), strike,
        previous["tau"].to_numpy(float), R, q, is_call,
    )  # fmt: skip
    log_return = np.log(rows["underlying"].to_numpy() / previous["underlying_last"].to_numpy())
    # ln(K/F) as -ln(F/K), as the samples store it: a strike at exactly 0.90 F is on a
    # bucket edge.
    carried = previous["carry"].to_numpy() * previous["tau"].to_numpy(float)
    log_forward_over_strike = np.log(previous["underlying_last"].to_numpy() / strike) + carried
    beta = samples.fitted.leverage.beta(-log_forward_over_strike, rows["dte_days"].to_numpy())
    moved = np.maximum(iv_prev + beta * log_return, 0.01)
    assert ANCHOR == "leverage_bs"
    np.testing.assert_allclose(samples.anchor_iv, moved, rtol=1e-9)
    np.testing.assert_allclose(
        rows["leverage_bs"], bs_price(rows["underlying"], strike, tau, R, q, moved, is_call),
        rtol=1e-9, atol=1e-12,
    )  # fmt: skip
    # The network's driver: the return in units of the contract's daily vol.
    column = STATIC_FEATURES.index("return_over_vol")
    np.testing.assert_allclose(
        samples.static[:, column], log_return / (iv_prev / np.sqrt(252)), rtol=1e-5
    )


def test_leverage_slopes_are_fitted_on_training_dates_only():
    # The chain's vols follow spot (a fixed strike moves about -1.0 x the return).
    quotes = option_quotes_frame(n_days=80, atm_beta=-1.15, seed=3)
    samples = build(quotes)
    betas = samples.fitted.leverage
    assert betas.pooled == pytest.approx(-1.0, abs=0.3)  # 40 training days of noisy levels
    assert (
        0.95 * len(samples.indices("train")) <= betas.pairs.sum() <= len(samples.indices("train"))
    )
    # A bucket's days are the training dates its pairs fall on, not its pairs.
    train_dates = samples.rows["quote_date"].iloc[samples.indices("train")].nunique()
    assert MIN_BUCKET_DAYS <= betas.days.max() <= train_dates < betas.pairs.max()
    # Quotes after the last training date change nothing in the slopes.
    train_end = pd.Timestamp(samples.split_dates["train"][1])
    later = quotes["quote_date"] > train_end
    changed = quotes.copy()
    changed.loc[later, ["bid", "mid", "ask"]] *= 1.2
    again = build(changed)
    np.testing.assert_array_equal(again.fitted.leverage.by_bucket, betas.by_bucket)
    assert not np.allclose(again.rows["leverage_bs"], samples.rows["leverage_bs"])
    # A chain that ignores spot gets a slope near the smile's sticky-moneyness +0.15.
    flat = build(option_quotes_frame(n_days=80, seed=3)).fitted.leverage
    assert flat.pooled == pytest.approx(0.15, abs=0.3)
    assert flat.pooled > betas.pooled + 0.5


def test_historical_bs_uses_21_squared_log_returns_up_to_t(quotes, samples):
    spot_of_day = quotes.groupby("quote_date")["underlying_last"].first().to_numpy()
    returns = np.diff(np.log(spot_of_day), prepend=np.nan)
    rows = samples.rows
    day = samples.sample_day
    # The first 20 days use the t returns they have.
    window = np.minimum(day, 21)
    sigma = np.array(
        [
            np.sqrt(252 / n * np.sum(returns[t - n + 1 : t + 1] ** 2))
            for t, n in zip(day, window, strict=True)
        ]
    )
    assert np.isfinite(sigma).all() and day.min() == 1
    column = STATIC_FEATURES.index("return_history")
    np.testing.assert_allclose(samples.static[:, column], window / 21, rtol=1e-6)
    is_call = (rows["option_type"] == "C").to_numpy()
    q = R - rows["carry"].to_numpy()
    np.testing.assert_allclose(
        rows["historical_bs"],
        bs_price(rows["underlying"], rows["strike"], rows["tau"], R, q, sigma, is_call),
        rtol=1e-9,
        atol=1e-12,
    )
    # The state reads the historical vol up to t-1 (t's own depends on S_t), over the
    # contract's t-1 vol.
    sigma_before = np.array(
        [
            np.sqrt(252 / n * np.sum(returns[t - n : t] ** 2)) if t > 1 else 0.0
            for t, n in zip(day, np.minimum(day - 1, 21), strict=True)
        ]
    )
    column = STATIC_FEATURES.index("historical_vol_over_iv")
    iv_prev = samples.context.previous.iv_from_mid
    np.testing.assert_allclose(samples.static[:, column], sigma_before / iv_prev, rtol=1e-5)


def test_historical_vol_into_a_day_is_that_of_the_returns_extended_by_its_return():
    """The serving form (the sums up to t-1 plus a requested return into t) is the
    samples' vol of the returns with that return, bit for bit, and the data's own vol at
    the data's own return."""
    rng = np.random.default_rng(3)
    returns = np.r_[np.nan, rng.normal(0, 0.01, 60)]
    squared = cumulative_squares(returns)
    day = np.array([1, 2, 5, 21, 22, 40, 60, 61])
    into = rng.normal(0, 0.02, len(day))
    got = historical_vol_into(squared, day, into, 21)
    for d, r, vol in zip(day, into, got, strict=True):
        extended = cumulative_squares(np.r_[returns[:d], r])
        assert vol == historical_vol_of_sums(extended, 21)[d]
    own = day[day < len(returns)]
    np.testing.assert_array_equal(
        historical_vol_into(squared, own, returns[own], 21),
        historical_vol_of_sums(squared, 21)[own],
    )


def test_a_short_chain_gives_samples_from_its_second_date():
    # 12 business days: every day after the first makes samples, split 8/2/2 dates or so.
    samples = build(option_quotes_frame(n_days=12))
    dates = np.unique(samples.rows["quote_date"])
    assert len(dates) == 11
    assert all(len(samples.indices(name)) for name in SPLITS)


def test_adhoc_bs_is_finite_and_close_to_the_smile(samples):
    # The synthetic smile is a DFW surface plus a small daily level shift: the t-1 surface
    # reprices within a few percent of the strike-normalised price.
    rows = samples.rows
    error = (rows["adhoc_bs"] - rows["mid"]) / rows["strike"]
    assert np.isfinite(rows["adhoc_bs"]).all()
    assert np.abs(error).max() < 0.01


# --- errors -----------------------------------------------------------------------------------------


def test_no_quotes_raises(quotes):
    with pytest.raises(OptvolInputError, match="no usable quote"):
        build(quotes.iloc[:0])


def test_no_usable_quotes_raises(quotes):
    with pytest.raises(OptvolInputError, match="no usable quote"):
        build(quotes.assign(usable=False))


def test_missing_columns_raise_naming_them(quotes):
    with pytest.raises(OptvolInputError, match=r"lacks the columns \['mid', 'usable'\]"):
        build(quotes.drop(columns=["usable", "mid"]))


def test_no_contract_quoted_on_two_consecutive_days_raises(quotes, dates):
    day = np.searchsorted(dates, quotes["quote_date"])
    is_call = (quotes["option_type"] == "C").to_numpy()
    # Calls on even days, puts on odd days: every day has quotes, no side has two in a row.
    alternating = quotes.loc[is_call == (day % 2 == 0)]
    with pytest.raises(
        OptvolInputError,
        match="0 have a usable quote of the same contract on the previous trading day",
    ):
        build(alternating)


def test_too_short_a_chain_raises(quotes, dates):
    with pytest.raises(OptvolInputError, match="too sparse"):
        build(quotes.loc[quotes["quote_date"] == dates[0]])
    with pytest.raises(OptvolInputError, match="span 2 quote date"):
        build(quotes.loc[quotes["quote_date"] <= dates[2]])


# --- fingerprint -------------------------------------------------------------------------------------


def test_fingerprint_is_stable_and_follows_the_data(quotes, samples, dates):
    assert len(samples.fingerprint) == 64
    assert build(quotes.copy()).fingerprint == samples.fingerprint
    changed = quotes.copy()
    row = np.flatnonzero(changed["quote_date"] == dates[-1])[5]
    changed.loc[row, "mid"] += 0.01
    assert build(changed).fingerprint != samples.fingerprint
    older = quotes.copy()
    row = np.flatnonzero(older["quote_date"] == dates[3])[5]
    older.loc[row, "mid"] += 0.01  # only in the history of later samples
    assert build(older).fingerprint != samples.fingerprint
    other_rate = build(quotes, split_config(risk_free_rate=0.03))
    assert other_rate.fingerprint != samples.fingerprint


def test_vendor_iv_in_percent_is_replaced_by_the_iv_solved_from_the_mid():
    quotes = option_quotes_frame(n_days=40)
    in_percent = quotes.copy()
    in_percent["iv"] = in_percent["iv"] * 100.0  # a vendor quoting 25.0 for 25%
    decimal, percent = build(quotes), build(in_percent)
    # The builder's mids are exact Black-Scholes prices at its IVs, so solving them back
    # gives the same vols the decimal file states.
    np.testing.assert_allclose(
        percent.rows["practitioner_bs"], decimal.rows["practitioner_bs"], rtol=1e-6, atol=1e-8
    )


def test_fingerprint_hashes_the_bytes_of_each_array_as_tobytes_gives_them():
    arrays = (
        np.array(["2020-01-02", "2020-01-03"], dtype="datetime64[ns]"),
        np.array([True, False, True]),
        np.arange(12, dtype=np.float32).reshape(4, 3),
        np.arange(20.0)[::3],  # not contiguous
        np.asarray(sorted(SPLIT.to_dict().items()), dtype=str),
    )
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    assert _fingerprint(*arrays) == digest.hexdigest()


# --- memory layout ----------------------------------------------------------------------------------


def assert_same_samples(a, b) -> None:
    """Every array, the rows, the quotes by contract and the fingerprint are identical."""
    assert a.fingerprint == b.fingerprint
    for name in (
        "static", "history", "quoted", "slot_day", "sample_slot", "sample_day",
        "underlying_return", "calendar", "anchor_iv", "spot_of_day", "target_iv",
    ):  # fmt: skip
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    np.testing.assert_array_equal(a.market.surface_coef, b.market.surface_coef)
    for name in ("strike", "tau", "time_change", "call_delta", "vega", "recent"):
        np.testing.assert_array_equal(
            getattr(a.context, name), getattr(b.context, name), err_msg=name
        )
    pd.testing.assert_frame_equal(a.rows, b.rows)
    assert (a.split_dates, a.counts) == (b.split_dates, b.counts)
    pd.testing.assert_frame_equal(a.quotes.contracts, b.quotes.contracts)
    np.testing.assert_array_equal(a.quotes.day, b.quotes.day)
    np.testing.assert_array_equal(a.quotes.slot, b.quotes.slot)
    for name, values in a.quotes.previous.__dict__.items():
        np.testing.assert_array_equal(values, getattr(b.quotes.previous, name), err_msg=name)


@pytest.fixture(scope="module")
def ragged(quotes) -> pd.DataFrame:
    """The chain with holes: missing vendor IVs, unusable quotes, an IV in percent."""
    ragged = quotes.copy()
    rng = np.random.default_rng(5)
    ragged.loc[rng.random(len(ragged)) < 0.1, "iv"] = np.nan
    ragged.loc[rng.random(len(ragged)) < 0.05, "usable"] = False
    ragged.loc[7, "iv"] = 30.0
    return ragged


@pytest.mark.parametrize("chunk_rows", [1, 7, 250])
def test_building_in_chunks_gives_the_samples_of_one_piece(ragged, chunk_rows, monkeypatch):
    """The row-wise steps run in chunks of CHUNK_ROWS; with more rows than the chain has,
    the chain is one chunk, computed whole as before chunking existed."""
    assert len(ragged) < row_chunks.CHUNK_ROWS
    whole = build(ragged, keep_quotes=True)
    monkeypatch.setattr(row_chunks, "CHUNK_ROWS", chunk_rows)
    assert_same_samples(build(ragged, keep_quotes=True), whole)


def test_rows_carry_the_terms_of_their_quotes(quotes, samples):
    terms = quote_of(quotes, samples.rows, samples.rows["quote_date"].to_numpy())
    np.testing.assert_array_equal(samples.rows["dte_days"], terms["dte_days"].astype(np.int64))
    np.testing.assert_array_equal(samples.rows["mid"], terms["mid"])
    np.testing.assert_array_equal(samples.rows["tau"], terms["tau"].astype(np.float64))
    assert samples.rows["dte_days"].dtype == np.int64
    assert samples.rows["quote_date"].dtype == samples.rows["expiration"].dtype == "<M8[ns]"
    assert list(samples.rows["option_type"].cat.categories) == ["C", "P"]


def test_split_is_one_byte_a_sample(samples):
    split = samples.rows["split"]
    assert isinstance(split.dtype, pd.CategoricalDtype)
    assert list(split.cat.categories) == list(SPLITS)
    assert split.cat.codes.dtype == np.int8
    np.testing.assert_array_equal(samples.split, split.astype(str).to_numpy())


def test_select_keeps_the_samples_index_over_the_same_history(samples):
    index = samples.indices("test")[::3]
    selected = samples.select(index)
    pd.testing.assert_frame_equal(selected.rows, samples.rows.iloc[index].reset_index(drop=True))
    for name in ("static", "sample_slot", "sample_day", "anchor_iv"):
        np.testing.assert_array_equal(getattr(selected, name), getattr(samples, name)[index])
    for name in ("history", "quoted", "slot_day", "underlying_return", "calendar"):
        assert getattr(selected, name) is getattr(samples, name), name
    assert selected.fingerprint == samples.fingerprint
    np.testing.assert_array_equal(selected.pricing_inputs(), samples.pricing_inputs()[index])
    np.testing.assert_array_equal(selected.target(), samples.target()[index])


def test_iv_deviation_vs_recent_is_the_new_part_of_the_distance_from_the_surface(samples):
    column = STATIC_FEATURES.index("iv_deviation_vs_recent")
    distance = HISTORY_FEATURES.index("iv_minus_surface")
    for i in (0, len(samples.rows) // 2, len(samples.rows) - 1):
        slot = samples.sample_slot[i]
        before = [s for s in range(slot - 6, slot - 1) if samples.quoted[s]]
        expected = (
            samples.history[slot - 1, distance] - np.mean(samples.history[before, distance])
            if before
            else 0.0
        )
        assert samples.static[i, column] == pytest.approx(expected, abs=1e-6)
    # A contract's first sample has no earlier day: the deviation is 0.
    first = samples.sample_slot - 2
    assert (samples.static[~samples.quoted[first], column] == 0).all()


def test_two_option_classes_with_one_expiry_and_strike_are_two_contracts():
    from optvol.core.common.errors import RequestError
    from optvol.core.options.prediction import ContractRequest, OptionPredictor

    spx = option_quotes_frame(n_days=30, root="SPX")
    spxw = option_quotes_frame(n_days=30, root="SPXW")
    for column in ("bid", "ask", "mid"):  # another contract, another price
        spxw[column] = spx[column].to_numpy() + 0.05
    both = pd.concat([spx, spxw], ignore_index=True)
    both["root"] = pd.Categorical(both["root"], categories=["SPX", "SPXW"])
    both = both.sort_values(["quote_date", "expiration", "strike", "option_type", "root"])
    samples = build(both.reset_index(drop=True), keep_quotes=True)
    alone = build(spx)
    assert len(samples.rows) == 2 * len(alone.rows)
    rows = samples.rows[samples.rows["root"] == "SPXW"]
    # Each class's t-1 mid is its own: the classes never mix.
    own = samples.rows[samples.rows["root"] == "SPX"].reset_index(drop=True)
    np.testing.assert_allclose(own["prev_mid"], alone.rows["prev_mid"])
    np.testing.assert_allclose(rows["prev_mid"].to_numpy(), own["prev_mid"].to_numpy() + 0.05)

    class Model:  # the predictor reads the sample settings only before pricing
        def sample_config(self):
            return SPLIT

        def fitted_baselines(self):
            return samples.fitted

        anchor = "leverage_bs"
        carry_shrinkage = 1.0
        business_time = 0.0

        def check_samples(self, samples):
            pass

        def model(self, device):
            from optvol.core.options.gru.training import build_model

            return build_model({"sequence_features": 11, "static_features": len(STATIC_FEATURES)})

        def scalers(self):
            from optvol.core.options.gru.network import fit_scalers

            return fit_scalers(samples)

    predictor = OptionPredictor(Model(), both.reset_index(drop=True))
    day = samples.rows["quote_date"].iloc[-1].date()
    row = samples.rows.iloc[-1]
    request = ContractRequest(
        row["expiration"].date(), float(row["strike"]), str(row["option_type"]), day,
        float(row["underlying"]),
    )  # fmt: skip
    with pytest.raises(RequestError, match=r"several option classes \['SPX', 'SPXW'\]"):
        predictor.predict([request])
    from dataclasses import replace

    prices = [predictor.predict([replace(request, root=r)])[0] for r in ("SPX", "SPXW")]
    assert prices[1].realized_mid == pytest.approx(prices[0].realized_mid + 0.05)
    assert prices[1].baselines["prev_mid"] == pytest.approx(prices[0].baselines["prev_mid"] + 0.05)


def test_an_expiry_without_a_parity_forward_falls_back_to_the_configured_carry(quotes):
    # The puts of one expiry are unusable: its calls have no pair, no forward, and are
    # priced at r - q, flagged.
    from optvol.core.options.ingest.clean import add_parity_forwards

    changed = quotes.copy()
    gone = (changed["expiration"] == pd.Timestamp("2020-06-19")) & (changed["option_type"] == "P")
    changed.loc[gone, "usable"] = False
    add_parity_forwards(changed)
    rows = build(changed).rows
    lacking = (rows["expiration"] == pd.Timestamp("2020-06-19")).to_numpy()
    assert lacking.any() and (~lacking).any()
    assert rows.loc[lacking, "forward_fallback"].all()
    np.testing.assert_array_equal(rows.loc[lacking, "carry"], R - Q)
    assert not rows.loc[~lacking, "forward_fallback"].any()


def test_a_fixed_forward_prices_every_expiry_at_the_configured_carry(quotes):
    shifted = quotes.copy()
    shifted["forward"] *= 1.001  # the options' forward sits 10 bp from the spot
    from_parity = build(shifted)
    assert (from_parity.rows["carry"] > R - Q + 0.001).all()  # ln(1.001) / T, T < 1
    fixed = build(shifted, split_config(forward="fixed"))
    np.testing.assert_array_equal(fixed.rows["carry"], R - Q)
    assert fixed.rows["forward_fallback"].all()
    # As a table cleaned before forwards were kept is priced.
    legacy = build(quotes.drop(columns=["forward", "carry", "forward_pairs"]))
    pd.testing.assert_frame_equal(fixed.rows, legacy.rows)
    with pytest.raises(ValueError, match="forward must be one of"):
        SampleConfig(forward="vendor")
