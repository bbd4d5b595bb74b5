"""Tests for optvol.core.options.hedging: hedge errors, the reference deltas and the gains."""

from __future__ import annotations

import numpy as np
import pytest

from optvol.core.options.hedging import (
    BUMP,
    HEDGE_DELTAS,
    HedgePairs,
    hedge_pairs,
    hedging_gains,
    reference_deltas,
)
from optvol.core.options.pricing.black_scholes import bs_greeks, bs_price
from optvol.core.options.samples import SampleConfig, build_samples, hull_white_iv
from optvol_tests.builders import option_quotes_frame


@pytest.fixture(scope="module")
def samples():
    return build_samples(option_quotes_frame(n_days=40, atm_beta=-1.15, seed=2),
                         SampleConfig(evaluation="split"))  # fmt: skip


def pairs_with(change_value, change_spot, bs_delta, **deltas) -> HedgePairs:
    n = len(change_value)
    return HedgePairs(
        np.asarray(change_value, float), np.asarray(change_spot, float),
        np.array([True] * (n // 2) + [False] * (n - n // 2)), np.asarray(bs_delta, float),
        {name: np.asarray(deltas.get(name, bs_delta), float) for name in HEDGE_DELTAS},
    )  # fmt: skip


def test_gain_is_one_less_the_ratio_of_squared_hedging_errors():
    rng = np.random.default_rng(0)
    change_spot = rng.normal(0, 2, 200)
    true_delta = np.full(200, 0.4)
    change_value = true_delta * change_spot + rng.normal(0, 0.1, 200)
    bs = np.full(200, 0.6)  # off by 0.2
    gains = hedging_gains(pairs_with(change_value, change_spot, bs, gru=true_delta))
    bs_sse = np.sum((change_value - bs * change_spot) ** 2)
    gru_sse = np.sum((change_value - true_delta * change_spot) ** 2)
    assert gains["gain_vs_bs_delta"]["gru"] == pytest.approx(1 - gru_sse / bs_sse)
    assert gains["gain_vs_bs_delta"]["gru"] > 0.9
    assert gains["gain_vs_bs_delta"]["leverage_bs"] == pytest.approx(0.0)  # the BS delta
    assert gains["pairs"] == 200 and gains["deltas"] == list(HEDGE_DELTAS)


def test_buckets_split_calls_and_puts_by_the_size_of_the_bs_delta():
    bs = np.array([0.05, 0.2, 0.6, 0.95, -0.05, -0.4, -0.99, -1.0])
    pairs = pairs_with(np.ones(8), np.ones(8), bs)
    pairs.is_call[:] = bs > 0
    buckets = hedging_gains(pairs)["by_bucket"]
    seen = {(b["type"], tuple(b["abs_delta"])): b["pairs"] for b in buckets}
    assert seen == {
        ("call", (0.0, 0.1)): 1, ("call", (0.1, 0.3)): 1, ("call", (0.5, 0.7)): 1,
        ("call", (0.9, 1.0)): 1, ("put", (0.0, 0.1)): 1, ("put", (0.3, 0.5)): 1,
        ("put", (0.9, 1.0)): 2,
    }  # fmt: skip
    assert sum(b["pairs"] for b in buckets) == 8


def test_no_pair_moved_gives_no_gain_rather_than_a_division_by_zero():
    gains = hedging_gains(pairs_with(np.zeros(4), np.zeros(4), np.full(4, 0.5)))
    assert all(v is None for v in gains["gain_vs_bs_delta"].values())


def test_reference_deltas_are_black_scholes_and_hull_whites_minimum_variance(samples):
    index = np.arange(0, len(samples.rows), 17)
    bs, minimum_variance = reference_deltas(samples, index)
    context = samples.context.take(index)
    previous = context.previous
    q = 0.02 - previous.carry
    greeks = bs_greeks(context.previous_spot, context.strike, previous.tau, 0.02, q,
                       previous.iv_from_mid, context.is_call)  # fmt: skip
    np.testing.assert_allclose(bs, greeks.delta, rtol=1e-12)
    # The minimum-variance delta is the derivative of the price at the Hull-White vol in
    # S at S_{t-1}, at t-1's time to expiry.
    hull_white = samples.fitted.hull_white
    assert hull_white.a != 0

    def price(spot):
        moved = hull_white_iv(previous, np.log(spot / context.previous_spot),
                              context.call_delta, hull_white)  # fmt: skip
        return bs_price(spot, context.strike, previous.tau, 0.02, q, moved, context.is_call)

    spot = context.previous_spot
    h = 1e-5
    numeric = (price(spot * (1 + h)) - price(spot * (1 - h))) / (2 * h * spot)
    np.testing.assert_allclose(minimum_variance, numeric, atol=1e-6)
    assert not np.allclose(minimum_variance, bs, atol=1e-3)


def test_model_deltas_are_central_differences_of_their_prices(samples):
    index = np.arange(10)
    calls = []

    def price_at(spot):
        calls.append(spot.copy())
        return {name: 3.0 * spot + (spot**2 if name == "gru" else 0.0)
                for name in ("gru", "leverage_bs", "hull_white_bs")}  # fmt: skip

    pairs = hedge_pairs(samples, index, price_at)
    spot = samples.context.previous_spot[index]
    np.testing.assert_allclose(calls[0], spot * (1 + BUMP))
    np.testing.assert_allclose(calls[1], spot * (1 - BUMP))
    np.testing.assert_allclose(pairs.deltas["leverage_bs"], 3.0)
    np.testing.assert_allclose(pairs.deltas["gru"], 3.0 + 2.0 * spot, rtol=1e-9)
    rows = samples.rows.iloc[index]
    np.testing.assert_allclose(
        pairs.change_value, rows["mid"].to_numpy() - samples.context.previous.mid[index]
    )
    np.testing.assert_allclose(pairs.change_spot, rows["underlying"].to_numpy() - spot)
