"""Tests for optvol.core.options.samples.hull_white and the business-time vol change."""

from __future__ import annotations

import numpy as np
import pytest

from optvol.core.options.samples import business_time_change
from optvol.core.options.samples.hull_white import MIN_PAIRS, MIN_TAU, HullWhite, fit_hull_white


def synthetic(n: int = 5000, seed: int = 0, coef=(-0.25, 0.4, -0.3), noise: float = 0.002):
    rng = np.random.default_rng(seed)
    delta = rng.uniform(0.02, 0.98, n)
    tau = rng.uniform(5 / 365, 1.0, n)
    r = rng.normal(0, 0.01, n)
    a, b, c = coef
    change = (a + b * delta + c * delta**2) * r / np.sqrt(np.maximum(tau, MIN_TAU))
    return change + rng.normal(0, noise, n), r, delta, tau


def test_the_fit_recovers_the_coefficients():
    change, r, delta, tau = synthetic()
    fit = fit_hull_white(change, r, delta, tau)
    assert (fit.a, fit.b, fit.c) == pytest.approx((-0.25, 0.4, -0.3), abs=0.03)
    assert fit.pairs == len(change)
    residual = fit.vol_change(delta, r, tau) - change
    assert residual.std() == pytest.approx(0.002, rel=0.05)  # all but the noise


def test_vega_weights_let_the_contracts_that_move_prices_decide():
    # Wings (low vega) move their vols by a different rule and with far more noise.
    change, r, delta, tau = synthetic(noise=0.0005)
    wing = delta < 0.1
    rng = np.random.default_rng(5)
    change = np.where(wing, 3.0 * r / np.sqrt(tau) + rng.normal(0, 0.05, len(r)), change)
    vega = np.where(wing, 0.01, 1.0)
    weighted = fit_hull_white(change, r, delta, tau, vega)
    plain = fit_hull_white(change, r, delta, tau)
    body = ~wing
    error = {name: np.abs(f.vol_change(delta, r, tau) - change)[body].mean()
             for name, f in (("weighted", weighted), ("plain", plain))}  # fmt: skip
    assert error["weighted"] < error["plain"] / 3


def test_too_few_or_degenerate_pairs_give_no_change():
    change, r, delta, tau = synthetic(n=MIN_PAIRS - 1)
    assert fit_hull_white(change, r, delta, tau) == HullWhite(0.0, 0.0, 0.0, MIN_PAIRS - 1)
    change, r, delta, tau = synthetic(n=100)
    zero_returns = fit_hull_white(change, np.zeros(100), delta, tau)
    assert (zero_returns.a, zero_returns.b, zero_returns.c) == (0.0, 0.0, 0.0)
    with_nan = change.copy()
    with_nan[:10] = np.nan
    assert fit_hull_white(with_nan, r, delta, tau).pairs == 90
    assert HullWhite.from_dict(fit_hull_white(change, r, delta, tau).to_dict()).pairs == 100


def test_business_time_keeps_the_variance_per_session():
    iv = np.full(3, 0.20)
    # A Friday-to-Monday pair of a one-week option: 3 calendar days, one session gone.
    weekend = business_time_change(iv[:1], np.array([4 / 365]), np.array([7 / 365]),
                                   np.array([4]), np.array([5]))  # fmt: skip
    assert weekend[0] == pytest.approx(0.20 * (np.sqrt((4 / 5) * (7 / 4)) - 1))
    assert weekend[0] > 0.035  # a fifth more vol in calendar time with nothing happening
    # Monday to Tuesday of a long-dated option: both clocks lose one day.
    weekday = business_time_change(iv[:1], np.array([364 / 365]), np.array([365 / 365]),
                                   np.array([251]), np.array([252]))  # fmt: skip
    assert abs(weekday[0]) < 1e-3
    # Expiring at t, or counts missing: no change; extreme ratios are bounded.
    edge = business_time_change(iv, np.array([0.0, 1 / 365, 1 / 365]),
                                np.array([1 / 365, 30 / 365, 1 / 365]), np.array([0, 5, 30]),
                                np.array([1, 0, 1]))  # fmt: skip
    assert edge[0] == 0 and edge[1] == 0 and edge[2] == pytest.approx(0.20 * (2.0 - 1.0))
