"""Tests for optvol.core.options.samples.leverage: the per-bucket slopes of the vol change on
the return, their day-clustered variance and their shrinkage toward a common slope."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optvol.core.options.samples.leverage import (
    MIN_BUCKET_DAYS,
    LeverageBetas,
    clustered_slope,
    fit_leverage_betas,
    regress,
    shrink_to_common,
)


def days_of_pairs(days: int, pairs_per_day: int, seed: int = 0):
    """A day index per pair and one return per day, shared by that day's pairs."""
    rng = np.random.default_rng(seed)
    day = np.repeat(np.arange(days), pairs_per_day)
    return day, rng.normal(0.0, 0.01, days)[day], rng


def test_per_bucket_slopes_with_a_common_fallback():
    day, ret, rng = days_of_pairs(200, 20)
    n = len(day)
    log_moneyness = rng.choice([-0.2, 0.0], n)  # the put wing and the money
    dte = rng.choice([20, 60], n)
    beta = np.where(log_moneyness < -0.1, -2.0, -0.5)
    change = beta * ret + rng.normal(0.0, 0.002, n)
    log_moneyness[:10], dte[:10] = 0.2, 200  # a bucket of 10 pairs: the common slope
    betas = fit_leverage_betas(change, ret, log_moneyness, dte, day)
    got = betas.beta(np.array([-0.2, 0.0, -0.2, 0.2]), np.array([20, 20, 60, 200]))
    # Measured on 200 days each, the buckets keep their own slopes.
    np.testing.assert_allclose(got[:3], [-2.0, -0.5, -2.0], atol=0.05)
    assert got[3] == betas.pooled
    assert -2.0 < betas.pooled < -0.5
    assert betas.pairs.sum() == n
    assert betas.days[0, 1] == 200 and betas.days[4, 3] == 1
    assert betas.to_dict()["by_bucket"][0][1] == pytest.approx(-2.0, abs=0.05)


def test_a_bucket_seen_on_few_days_moves_to_the_common_slope():
    # Eight buckets measured on 60 days share a slope of -1; a ninth holds 300 pairs from
    # six days whose vols moved with noise of their own (a day's shock to that bucket), so
    # its least-squares slope is wild though its pairs are many.
    day, ret, rng = days_of_pairs(60, 40, seed=3)
    n = len(day)
    log_moneyness = rng.choice([-0.2, -0.05, 0.0, 0.05], n)
    dte = rng.choice([20, 60], n)
    change = -1.0 * ret + rng.normal(0.0, 0.002, n)
    few = np.repeat(np.arange(6), 50)  # six days, 50 pairs each
    few_ret = np.repeat(np.array([0.01, -0.01, 0.005, -0.005, 0.002, -0.002]), 50)
    few_shock = np.repeat(np.array([0.08, 0.0, 0.05, -0.02, 0.03, 0.0]), 50)
    change = np.r_[change, -1.0 * few_ret + few_shock + rng.normal(0.0, 0.002, 300)]
    ret = np.r_[ret, few_ret]
    log_moneyness = np.r_[log_moneyness, np.full(300, 0.2)]
    dte = np.r_[dte, np.full(300, 200)]
    day = np.r_[day, 100 + few]
    plain = regress(few_ret, change[-300:]).slope
    assert abs(plain - (-1.0)) > 2.0  # what the bucket's pairs alone say
    betas = fit_leverage_betas(change, ret, log_moneyness, dte, day)
    assert betas.days[4, 3] == 6 >= MIN_BUCKET_DAYS and betas.pairs[4, 3] == 300
    assert betas.by_bucket[4, 3] == pytest.approx(-1.0, abs=0.3)
    assert betas.pooled == pytest.approx(-1.0, abs=0.05)
    # Counted by pairs, as each its own observation, the bucket would have kept its slope.
    as_pairs = fit_leverage_betas(change, ret, log_moneyness, dte, np.arange(len(day)))
    assert abs(as_pairs.by_bucket[4, 3] - (-1.0)) > 1.0


def two_buckets(days: int):
    """The put wing moving -3 x the return and the money -1 x, every day 100 pairs each."""
    day, ret, rng = days_of_pairs(days, 200)
    log_moneyness = np.where(np.arange(len(day)) % 2 == 0, -0.2, 0.0)
    change = np.where(log_moneyness < 0, -3.0, -1.0) * ret + rng.normal(0.0, 0.001, len(day))
    return fit_leverage_betas(change, ret, log_moneyness, np.full(len(day), 20), day)


def test_a_bucket_on_too_few_days_is_not_fitted():
    betas = two_buckets(MIN_BUCKET_DAYS - 1)
    # No bucket qualifies: every bucket holds the slope of all pairs.
    assert betas.pooled == pytest.approx(-2.0, abs=0.1)
    assert (betas.by_bucket == betas.pooled).all()
    assert betas.days[0, 1] == betas.days[2, 1] == MIN_BUCKET_DAYS - 1
    # One more day and both keep their own.
    betas = two_buckets(MIN_BUCKET_DAYS)
    assert betas.by_bucket[0, 1] == pytest.approx(-3.0, abs=0.1)
    assert betas.by_bucket[2, 1] == pytest.approx(-1.0, abs=0.1)


def test_pairs_without_a_day_are_left_out_and_lengths_must_agree():
    day, ret, rng = days_of_pairs(30, 10)
    change = -1.0 * ret + rng.normal(0.0, 0.002, len(day))
    dates = pd.Timestamp("2021-01-04") + pd.to_timedelta(day, "D")
    betas = fit_leverage_betas(change, ret, np.zeros(len(day)), np.full(len(day), 20), dates)
    assert betas.days.max() == 30  # dates cluster as the integer days do
    with_nat = dates.to_numpy().copy()
    with_nat[:10] = np.datetime64("NaT")
    left = fit_leverage_betas(change, ret, np.zeros(len(day)), np.full(len(day), 20), with_nat)
    assert left.pairs.sum() == len(day) - 10 and left.days.max() == 29
    with pytest.raises(ValueError, match="one length, got \\[299, 300\\]"):
        fit_leverage_betas(change, ret, np.zeros(len(day)), np.full(len(day), 20), day[1:])


def test_leverage_betas_without_returns_are_zero():
    betas = fit_leverage_betas(
        np.ones(5), np.full(5, np.nan), np.zeros(5), np.full(5, 30), np.arange(5)
    )
    assert betas.pooled == 0.0 and not betas.by_bucket.any()


def test_clustered_variance_counts_days_not_pairs():
    day, ret, rng = days_of_pairs(40, 1, seed=7)
    y = -1.0 * ret + rng.normal(0.0, 0.005, 40)
    slope, variance = clustered_slope(ret, y, day)
    assert slope == pytest.approx(regress(ret, y).slope)
    # The sandwich of the full regression (intercept and slope), clustered, with G/(G-1).
    design = np.column_stack([np.ones(40), ret])
    bread = np.linalg.inv(design.T @ design)
    residual = y - design @ (bread @ design.T @ y)
    scores = design * residual[:, None]  # one pair per day: each its own cluster
    sandwich = bread @ (scores.T @ scores) @ bread * 40 / 39
    assert variance == pytest.approx(sandwich[1, 1], rel=1e-10)
    # The same 40 days, each pair copied 25 times within its day: no new information, so
    # the same slope and the same clustered variance; as 1,000 independent pairs the
    # variance would be 25 times smaller.
    copies = np.repeat(np.arange(40), 25)
    slope_25, variance_25 = clustered_slope(ret[copies], y[copies], day[copies])
    assert slope_25 == pytest.approx(slope)
    assert variance_25 == pytest.approx(variance)
    _, as_pairs = clustered_slope(ret[copies], y[copies], np.arange(1000))
    assert as_pairs == pytest.approx(variance / 25, rel=0.05)
    # With one cluster, or no spread in x, there is no variance to state.
    assert np.isnan(clustered_slope(ret, y, np.zeros(40))[1])
    assert np.isnan(clustered_slope(np.ones(40), y, day)[0])


def test_shrinkage_toward_the_common_slope():
    # Slopes that differ by far more than their noise keep their values.
    kept, mean = shrink_to_common(np.array([-2.0, -0.5, -1.0]), np.full(3, 1e-6))
    np.testing.assert_allclose(kept, [-2.0, -0.5, -1.0], atol=1e-3)
    assert -2.0 < mean < -0.5
    # Slopes that differ by less than their noise are all the common one.
    pooled, mean = shrink_to_common(np.array([-1.1, -0.9, -1.0]), np.full(3, 1.0))
    np.testing.assert_allclose(pooled, -1.0)
    assert mean == pytest.approx(-1.0)
    # A noisy slope among precise ones moves most of the way to their mean.
    shrunk, mean = shrink_to_common(
        np.array([-1.0, -1.2, -0.8, 11.0]), np.array([1e-3] * 3 + [25.0])
    )
    assert mean == pytest.approx(-1.0, abs=0.1)
    assert shrunk[3] < 1.0 and np.allclose(shrunk[:3], [-1.0, -1.2, -0.8], atol=0.01)
    # A slope fitted exactly (variance 0) does not overflow the sums, nor pull the others.
    exact, mean = shrink_to_common(np.array([-2.0, -0.5, 0.0]), np.array([1e-4, 1e-4, 0.0]))
    assert np.isfinite(exact).all() and np.isfinite(mean)
    np.testing.assert_allclose(exact, [-2.0, -0.5, 0.0], atol=1e-3)
    # One slope is its own mean.
    assert shrink_to_common(np.array([-1.5]), np.array([0.3])) == (pytest.approx([-1.5]), -1.5)


def test_the_random_effects_mean_of_a_published_meta_analysis():
    # The 13 BCG vaccine trials (Colditz et al. 1994), log risk ratios: DerSimonian-Laird
    # gives mu = -0.7141 and tau^2 = 0.3088 (metafor's rma(method="DL") on dat.bcg).
    trials = np.array([
        [4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
        [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619],
        [505, 87886, 499, 87892], [29, 7470, 45, 7232], [17, 1699, 65, 1600],
        [186, 50448, 141, 27197], [5, 2493, 3, 2338], [27, 16886, 29, 17825],
    ], float)  # fmt: skip
    vaccinated, v_free, control, c_free = trials.T
    log_ratio = np.log(vaccinated / (vaccinated + v_free) / (control / (control + c_free)))
    variance = 1 / vaccinated - 1 / (vaccinated + v_free) + 1 / control - 1 / (control + c_free)
    shrunk, mean = shrink_to_common(log_ratio, variance)
    assert mean == pytest.approx(-0.7141, abs=1e-4)
    kept = (shrunk - mean) / (log_ratio - mean)  # tau^2 / (tau^2 + V)
    np.testing.assert_allclose(kept * variance / (1 - kept), 0.3088, atol=1e-4)


def test_betas_round_trip_and_older_files_without_days():
    day, ret, rng = days_of_pairs(30, 10)
    change = -1.0 * ret + rng.normal(0.0, 0.002, len(day))
    betas = fit_leverage_betas(change, ret, np.zeros(len(day)), np.full(len(day), 20), day)
    again = LeverageBetas.from_dict(betas.to_dict())
    np.testing.assert_array_equal(again.by_bucket, betas.by_bucket)
    np.testing.assert_array_equal(again.days, betas.days)
    older = betas.to_dict()
    del older["days"]
    assert not LeverageBetas.from_dict(older).days.any()
