"""Tests for optvol.core.options.pricing.black_scholes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from optvol.core.options.pricing.black_scholes import Greeks, bs_greeks, bs_price, implied_vol


def test_hull_textbook_values():
    # Hull, "Options, Futures and Other Derivatives", Example 15.6.
    assert bs_price(42, 40, 0.5, 0.1, 0.0, 0.2, True) == pytest.approx(4.76, abs=0.005)
    assert bs_price(42, 40, 0.5, 0.1, 0.0, 0.2, False) == pytest.approx(0.81, abs=0.005)


def test_scalar_inputs_give_scalars_and_arrays_broadcast():
    assert np.ndim(bs_price(100, 100, 1, 0.01, 0.0, 0.2, True)) == 0
    prices = bs_price(100, np.array([90.0, 100, 110]), np.array([[0.5], [1.0]]), 0.01, 0, 0.2, True)
    assert prices.shape == (2, 3)
    assert np.all(np.diff(prices, axis=1) < 0)  # calls fall with the strike
    assert np.all(np.diff(prices, axis=0) > 0)  # and rise with maturity


def test_is_call_array_selects_side():
    mixed = bs_price(100, 95, 0.3, 0.02, 0.01, 0.25, np.array([True, False]))
    assert mixed[0] == pytest.approx(bs_price(100, 95, 0.3, 0.02, 0.01, 0.25, True))
    assert mixed[1] == pytest.approx(bs_price(100, 95, 0.3, 0.02, 0.01, 0.25, False))


@pytest.mark.parametrize("q", [0.0, 0.014, 0.05])
def test_put_call_parity_with_dividends(q):
    S, r, sigma = 380.0, 0.043, 0.27
    K = np.linspace(200, 600, 41)
    T = np.array([[1 / 365], [0.25], [2.5]])
    call = bs_price(S, K, T, r, q, sigma, True)
    put = bs_price(S, K, T, r, q, sigma, False)
    parity = S * np.exp(-q * T) - K * np.exp(-r * T)
    np.testing.assert_allclose(call - put, parity, atol=1e-9)


def test_merton_dividend_equals_reduced_spot():
    # Merton (1973): a continuous yield q is a spot of S exp(-qT) without yield.
    with_q = bs_price(100, 105, 2.0, 0.03, 0.02, 0.3, True)
    reduced = bs_price(100 * np.exp(-0.02 * 2.0), 105, 2.0, 0.03, 0.0, 0.3, True)
    assert with_q == pytest.approx(reduced, rel=1e-12)


@pytest.mark.parametrize("is_call", [True, False])
def test_greeks_match_finite_differences(is_call):
    S = np.array([300.0, 380.0, 420.0, 500.0])
    K, T, r, q, sigma = 400.0, 0.4, 0.03, 0.014, 0.22
    g = bs_greeks(S, K, T, r, q, sigma, is_call)
    assert isinstance(g, Greeks)

    def price(**kw):
        args = dict(S=S, K=K, T=T, r=r, q=q, sigma=sigma, is_call=is_call)
        args.update(kw)
        return bs_price(**args)

    h = 1e-3
    delta = (price(S=S + h) - price(S=S - h)) / (2 * h)
    gamma = (price(S=S + h) - 2 * price() + price(S=S - h)) / h**2
    vega = (price(sigma=sigma + 1e-5) - price(sigma=sigma - 1e-5)) / 2e-5 / 100
    theta = -(price(T=T + 1e-5) - price(T=T - 1e-5)) / 2e-5 / 365
    rho = (price(r=r + 1e-6) - price(r=r - 1e-6)) / 2e-6 / 100
    np.testing.assert_allclose(g.delta, delta, atol=1e-6)
    np.testing.assert_allclose(g.gamma, gamma, atol=1e-5)
    np.testing.assert_allclose(g.vega, vega, atol=1e-6)
    np.testing.assert_allclose(g.theta, theta, atol=1e-6)
    np.testing.assert_allclose(g.rho, rho, atol=1e-6)


def test_greek_conventions_and_hull_delta():
    g = bs_greeks(49, 50, 0.3846, 0.05, 0.0, 0.2, True)
    # Hull's delta example: N(d1) = 0.522 for the 20-week call.
    assert g.delta == pytest.approx(0.522, abs=1e-3)
    # Vega per vol point is 1/100 of dC/dsigma; theta per day is annual/365.
    assert g.vega == pytest.approx(12.1 / 100, abs=2e-3)
    assert g.theta == pytest.approx(-4.31 / 365, abs=2e-4)
    assert g.rho == pytest.approx(8.91 / 100, abs=2e-3)
    put = bs_greeks(49, 50, 0.3846, 0.05, 0.0, 0.2, False)
    assert put.delta == pytest.approx(g.delta - 1, abs=1e-12)
    assert put.gamma == pytest.approx(g.gamma)
    assert put.vega == pytest.approx(g.vega)


def test_expiry_gives_intrinsic_value_without_warnings():
    S = np.array([90.0, 100.0, 110.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call = bs_price(S, 100, 0.0, 0.05, 0.01, 0.2, True)
        put = bs_price(S, 100, 0.0, 0.05, 0.01, 0.2, False)
        gc = bs_greeks(S, 100, 0.0, 0.05, 0.01, 0.2, True)
        gp = bs_greeks(S, 100, 0.0, 0.05, 0.01, 0.2, False)
        negative_t = bs_price(S, 100, -0.1, 0.05, 0.01, 0.2, True)
    np.testing.assert_allclose(call, [0.0, 0.0, 10.0])
    np.testing.assert_allclose(put, [10.0, 0.0, 0.0])
    np.testing.assert_allclose(negative_t, call)
    np.testing.assert_allclose(gc.delta, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(gp.delta, [-1.0, -0.5, 0.0])
    for g in (gc, gp):
        np.testing.assert_array_equal(g.gamma, 0.0)
        np.testing.assert_array_equal(g.vega, 0.0)
        np.testing.assert_array_equal(g.rho, 0.0)
        assert np.all(np.isfinite(g.theta))


def test_near_expiry_converges_to_intrinsic():
    S = np.array([95.0, 105.0])
    call = bs_price(S, 100, 1e-10, 0.05, 0.0, 0.2, True)
    np.testing.assert_allclose(call, [0.0, 5.0], atol=1e-6)


def test_zero_volatility_gives_discounted_forward_intrinsic():
    S, K, T, r, q = 100.0, np.array([90.0, 110.0, 120.0]), 1.0, 0.05, 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call = bs_price(S, K, T, r, q, 0.0, True)
        put = bs_price(S, K, T, r, q, 0.0, False)
        g = bs_greeks(S, K, T, r, q, 0.0, True)
    forward = S * np.exp((r - q) * T)
    np.testing.assert_allclose(call, np.exp(-r * T) * np.maximum(forward - K, 0))
    np.testing.assert_allclose(put, np.exp(-r * T) * np.maximum(K - forward, 0))
    np.testing.assert_allclose(g.delta, [np.exp(-q * T), 0.0, 0.0])
    np.testing.assert_array_equal(g.gamma, 0.0)
    # Tiny but positive volatility agrees with the limit.
    np.testing.assert_allclose(bs_price(S, K, T, r, q, 1e-9, True), call, atol=1e-9)


@pytest.mark.parametrize("is_call", [True, False])
def test_price_iv_price_round_trip_on_grid(is_call):
    S, r, q = 100.0, 0.03, 0.014
    K = np.linspace(50, 200, 61)
    T = np.array([2 / 365, 30 / 365, 0.5, 2.5])[:, None, None]
    sigma = np.array([0.05, 0.15, 0.4, 1.2])[:, None]
    price = bs_price(S, K, T, r, q, sigma, is_call)
    iv = implied_vol(price, S, K, T, r, q, is_call)
    assert iv.shape == price.shape
    vega = bs_greeks(S, K, T, r, q, sigma, is_call).vega
    # Wherever the price carries information about sigma, sigma comes back.
    informative = vega > 1e-6
    assert informative.sum() > 500
    np.testing.assert_allclose(
        np.broadcast_to(sigma, iv.shape)[informative], iv[informative], atol=1e-6
    )
    solved = np.isfinite(iv)
    repriced = bs_price(S, K, T, r, q, np.where(solved, iv, 0.0), is_call)
    np.testing.assert_allclose(repriced[solved], price[solved], atol=1e-8)


def test_implied_vol_hull_value():
    iv = implied_vol(4.76, 42, 40, 0.5, 0.1, 0.0, True)
    assert iv == pytest.approx(0.2, abs=1e-3)
    assert np.ndim(iv) == 0


def test_implied_vol_nan_outside_no_arbitrage_bounds():
    S, K, T, r, q = 42.0, 40.0, 0.5, 0.1, 0.0
    lower_call = S - K * np.exp(-r * T)
    prices = np.array([0.5, lower_call - 0.01, S, S + 1, -1.0, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iv = implied_vol(prices, S, K, T, r, q, True)
    assert np.isnan(iv).all()
    # Puts: below intrinsic K e^{-rT} - S e^{-qT}, or above K e^{-rT}.
    iv_put = implied_vol([0.01, K * np.exp(-r * T) + 0.1], 30.0, K, T, r, q, False)
    assert np.isnan(iv_put).all()
    # Expired options have no implied volatility.
    assert np.isnan(implied_vol(2.5, S, K, 0.0, r, q, True))


def test_implied_vol_at_lower_bound_is_zero():
    S, K, T, r, q = 100.0, 80.0, 1.0, 0.05, 0.0
    lower = S - K * np.exp(-r * T)
    assert implied_vol(lower, S, K, T, r, q, True) == 0.0


def test_implied_vol_deep_itm_uses_parity():
    S, K, T, r, q, sigma = 100.0, 60.0, 1.0, 0.04, 0.014, 0.35
    price = bs_price(S, K, T, r, q, sigma, True)
    assert implied_vol(price, S, K, T, r, q, True) == pytest.approx(sigma, abs=1e-6)


@pytest.mark.parametrize("argument", range(7))
def test_any_one_array_argument_sets_the_shape(argument):
    """Inputs are not broadcast up front: the arithmetic broadcasts them, so an array in
    any one place, the flag too, gives prices and greeks of its shape."""
    values = [100.0, 95.0, 0.3, 0.02, 0.01, 0.25, True]
    values[argument] = np.full((2, 3), values[argument])
    price = bs_price(*values)
    assert price.shape == (2, 3)
    assert np.all(price == bs_price(100.0, 95.0, 0.3, 0.02, 0.01, 0.25, True))
    for greek in bs_greeks(*values):
        assert np.shape(greek) == (2, 3)


def test_an_array_without_a_zero_vol_prices_as_one_with_it():
    """Without a sigma*sqrt(T) -> 0 element the formula skips its selections: the same
    prices bit for bit as when the array holds such an element (and takes them), and
    greeks too."""
    rng = np.random.default_rng(8)
    n = 1000
    S, K = rng.uniform(50, 150, n), rng.uniform(50, 150, n)
    T, sigma, call = rng.uniform(0.01, 2, n), rng.uniform(0.05, 1.0, n), rng.random(n) < 0.5
    alone = bs_price(S, K, T, 0.02, 0.01, sigma, call)
    mixed = bs_price(np.r_[S, 100.0], np.r_[K, 90.0], np.r_[T, 0.0], 0.02, 0.01,
                     np.r_[sigma, 0.2], np.r_[call, True])  # fmt: skip
    np.testing.assert_array_equal(alone, mixed[:n])
    assert mixed[n] == pytest.approx(10.0)  # at expiry: the intrinsic value
    for one, other in zip(bs_greeks(S, K, T, 0.02, 0.01, sigma, call),
                          bs_greeks(np.r_[S, 100.0], np.r_[K, 90.0], np.r_[T, 0.0], 0.02,
                                    0.01, np.r_[sigma, 0.2], np.r_[call, True]), strict=True):  # fmt: skip
        np.testing.assert_array_equal(one, other[:n])
