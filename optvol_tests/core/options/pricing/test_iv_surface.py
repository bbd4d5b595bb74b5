"""Tests for optvol.core.options.pricing.iv_surface (the Dumas-Fleming-Whaley daily surface)."""

from __future__ import annotations

import numpy as np
import pytest

from optvol.core.options.pricing.iv_surface import (
    IV_RANGE,
    MIN_QUOTES,
    SURFACE_TERMS,
    evaluate_surface,
    fit_daily_surfaces,
)

# Coefficients a0..a5 of (1, x, x^2, T, T^2, xT), one row per day; all give vols in IV_RANGE
# on the grid below.
COEF = np.array(
    [
        [0.20, -0.15, 0.50, 0.02, -0.01, 0.05],
        [0.30, -0.30, 1.20, -0.05, 0.03, -0.10],
        [0.15, 0.05, 0.20, 0.10, -0.04, 0.00],
    ]
)


def surface(coef: np.ndarray, x: np.ndarray, tau: np.ndarray) -> np.ndarray:
    a0, a1, a2, a3, a4, a5 = np.moveaxis(np.asarray(coef), -1, 0)
    return a0 + a1 * x + a2 * x * x + a3 * tau + a4 * tau * tau + a5 * x * tau


def otm_chain(coef: np.ndarray, seed: int = 0):
    """Out-of-the-money quotes of every day of ``coef`` on a grid of (x, T), shuffled so
    that the days are interleaved: ``(day, x, tau, iv, is_call)``."""
    xs = np.linspace(-0.3, 0.3, 13)  # includes x = 0 (a call there is OTM)
    taus = np.array([0.05, 0.15, 0.4, 0.8, 1.5])
    x, tau = (a.ravel() for a in np.meshgrid(xs, taus))
    day = np.repeat(np.arange(len(coef)), len(x))
    x, tau = np.tile(x, len(coef)), np.tile(tau, len(coef))
    iv = surface(coef[day], x, tau)
    is_call = x >= 0
    order = np.random.default_rng(seed).permutation(len(day))
    return day[order], x[order], tau[order], iv[order], is_call[order]


def fit(day, x, tau, iv, is_call, n_days):
    return fit_daily_surfaces(day, x, tau, iv, is_call, n_days)


def test_terms_and_minimum():
    assert SURFACE_TERMS == ("1", "x", "x^2", "T", "T^2", "xT")
    assert MIN_QUOTES == 12


def test_recovers_exact_quadratic_surfaces_of_several_days():
    day, x, tau, iv, is_call = otm_chain(COEF)
    assert ((iv > IV_RANGE[0]) & (iv < IV_RANGE[1])).all()
    coef = fit(day, x, tau, iv, is_call, len(COEF))
    assert coef.shape == (3, 6)
    # The tiny ridge biases the coefficients by ~1e-5 and the fitted vols by ~1e-6.
    np.testing.assert_allclose(coef, COEF, atol=1e-4)
    np.testing.assert_allclose(evaluate_surface(coef[day], x, tau), iv, atol=1e-5)


def test_day_without_quotes_between_days_with_quotes():
    day, x, tau, iv, is_call = otm_chain(COEF)
    day = np.where(day == 2, 4, day)  # days 2 and 3 have no quote, day 4 has COEF[2]
    coef = fit(day, x, tau, iv, is_call, 5)
    np.testing.assert_allclose(coef[[0, 1, 4]], COEF, atol=1e-4)
    assert np.isnan(coef[[2, 3]]).all()


def with_itm(coef, itm_iv):
    """The OTM chain plus the in-the-money quote of the other type at every point,
    whose iv is ``itm_iv(true_iv)``."""
    day, x, tau, iv, is_call = otm_chain(coef)
    return (
        np.concatenate([day, day]),
        np.concatenate([x, x]),
        np.concatenate([tau, tau]),
        np.concatenate([iv, itm_iv(iv)]),
        np.concatenate([is_call, ~is_call]),
    )


def test_only_out_of_the_money_quotes_enter_the_fit():
    clean = fit(*with_itm(COEF, lambda iv: iv), len(COEF))
    corrupt = fit(*with_itm(COEF, lambda iv: iv + 0.7), len(COEF))
    np.testing.assert_array_equal(corrupt, clean)
    np.testing.assert_allclose(corrupt, COEF, atol=1e-4)


def test_the_money_boundary_a_call_at_x0_is_otm_a_put_is_not():
    day, x, tau, iv, is_call = otm_chain(COEF[:1])
    base = fit(day, x, tau, iv, is_call, 1)
    at_money = np.full(5, 0.0)
    taus = np.linspace(0.1, 1.0, 5)
    for call, changes in ((False, False), (True, True)):
        extra = fit(
            np.concatenate([day, np.zeros(5, int)]),
            np.concatenate([x, at_money]),
            np.concatenate([tau, taus]),
            np.concatenate([iv, np.full(5, 2.5)]),  # far off the surface
            np.concatenate([is_call, np.full(5, call)]),
            1,
        )
        assert (not np.array_equal(extra, base)) is changes


def test_days_with_fewer_than_min_quotes_have_no_surface():
    day, x, tau, iv, is_call = otm_chain(COEF)
    rng = np.random.default_rng(1)
    # Day 1 keeps MIN_QUOTES - 1 OTM quotes, day 2 exactly MIN_QUOTES.
    keep = np.ones(len(day), bool)
    for d, n in ((1, MIN_QUOTES - 1), (2, MIN_QUOTES)):
        rows = np.flatnonzero(day == d)
        keep[rng.choice(rows, len(rows) - n, replace=False)] = False
    day, x, tau, iv, is_call = (a[keep] for a in (day, x, tau, iv, is_call))
    coef = fit(day, x, tau, iv, is_call, 3)
    assert np.isfinite(coef[0]).all()
    assert np.isnan(coef[1]).all()
    assert np.isfinite(coef[2]).all()


def test_in_the_money_and_invalid_quotes_do_not_count_towards_min_quotes():
    day, x, tau, iv, is_call = otm_chain(COEF[:1])
    rows = np.arange(MIN_QUOTES - 1)
    day, x, tau, iv, is_call = (a[rows] for a in (day, x, tau, iv, is_call))
    # Many ITM quotes and OTM quotes with NaN IV on the same day: still too few usable.
    n = 30
    coef = fit(
        np.zeros(len(rows) + 2 * n, int),
        np.concatenate([x, np.full(n, 0.1), np.full(n, -0.1)]),
        np.concatenate([tau, np.full(n, 0.5), np.full(n, 0.5)]),
        np.concatenate([iv, np.full(n, 0.2), np.full(n, np.nan)]),
        np.concatenate([is_call, np.zeros(n, bool), np.zeros(n, bool)]),
        1,
    )
    assert np.isnan(coef).all()


@pytest.mark.parametrize(
    "bad",
    [
        {"iv": np.nan},
        {"iv": np.inf},
        {"iv": -0.2},
        {"iv": 0.0},
        {"iv": IV_RANGE[0] / 2},
        {"iv": IV_RANGE[1] * 1.5},
        {"x": np.nan},
        {"tau": 0.0},
        {"tau": -0.1},
        {"tau": np.nan},
    ],
)
def test_invalid_quotes_are_ignored(bad):
    day, x, tau, iv, is_call = otm_chain(COEF)
    base = fit(day, x, tau, iv, is_call, 3)
    n = 20
    extra = {
        "day": np.arange(n) % 3,
        "x": np.linspace(0.0, 0.25, n),  # calls: OTM
        "tau": np.full(n, 0.3),
        "iv": np.full(n, 0.25),
    }
    extra.update({k: np.full(n, v) for k, v in bad.items()})
    coef = fit(
        np.concatenate([day, extra["day"]]),
        np.concatenate([x, extra["x"]]),
        np.concatenate([tau, extra["tau"]]),
        np.concatenate([iv, extra["iv"]]),
        np.concatenate([is_call, np.ones(n, bool)]),
        3,
    )
    np.testing.assert_array_equal(coef, base)


def test_valid_off_surface_quotes_do_change_the_fit():
    """Control for the test above: the same extra quotes with a valid IV are used."""
    day, x, tau, iv, is_call = otm_chain(COEF)
    base = fit(day, x, tau, iv, is_call, 3)
    n = 20
    coef = fit(
        np.concatenate([day, np.arange(n) % 3]),
        np.concatenate([x, np.linspace(0.0, 0.25, n)]),
        np.concatenate([tau, np.full(n, 0.3)]),
        np.concatenate([iv, np.full(n, 0.9)]),
        np.concatenate([is_call, np.ones(n, bool)]),
        3,
    )
    assert not np.allclose(coef, base, atol=1e-4)


def test_single_maturity_day_still_solves_and_reproduces_the_smile():
    x = np.linspace(-0.25, 0.25, 21)
    tau = np.full_like(x, 0.25)
    smile = 0.22 - 0.2 * x + 0.8 * x * x
    coef = fit(np.zeros(len(x), int), x, tau, smile, x >= 0, 1)
    assert np.isfinite(coef).all()
    x_new = np.linspace(-0.25, 0.25, 101)
    fitted = evaluate_surface(np.repeat(coef, len(x_new), axis=0), x_new, np.full_like(x_new, 0.25))
    np.testing.assert_allclose(fitted, 0.22 - 0.2 * x_new + 0.8 * x_new**2, atol=1e-6)


def test_evaluate_surface_matches_the_formula():
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.3, 0.3, 50)
    tau = rng.uniform(0.01, 2.0, 50)
    coef = COEF[rng.integers(0, 3, 50)]
    np.testing.assert_allclose(evaluate_surface(coef, x, tau), surface(coef, x, tau), rtol=1e-12)


def test_evaluate_surface_clips_to_iv_range_and_nan_coef_gives_nan():
    coef = np.array(
        [
            [5.0, 0, 0, 0, 0, 0],  # above the range
            [-1.0, 0, 0, 0, 0, 0],  # below
            [0.0, 0, 0, 0, 0, 0],  # zero
            [0.25, 0, 0, 0, 0, 0],  # inside
            [np.nan] * 6,  # a day without a surface
        ]
    )
    iv = evaluate_surface(coef, np.zeros(5), np.full(5, 0.5))
    np.testing.assert_array_equal(iv[:4], [IV_RANGE[1], IV_RANGE[0], IV_RANGE[0], 0.25])
    assert np.isnan(iv[4])
