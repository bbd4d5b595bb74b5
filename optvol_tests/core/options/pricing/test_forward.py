"""Tests for optvol.core.options.pricing.forward (each expiry's put-call-parity forward)."""

from __future__ import annotations

import numpy as np
import pytest

from optvol.core.options.pricing.black_scholes import bs_price
from optvol.core.options.pricing.forward import (
    MAX_BASIS,
    PARITY_PAIRS,
    PARITY_RATE,
    parity_forwards,
)


def chain(forward: float, tau: float, strikes: np.ndarray, sigma: float = 0.2) -> dict:
    """Both sides of every strike of one expiry, priced at the forward ``forward``."""
    strike = np.repeat(strikes, 2).astype(float)
    is_call = np.tile([True, False], len(strikes))
    discount = np.exp(-PARITY_RATE * tau)
    # Black-Scholes at S = F e^{-rT} and q = 0 prices at the forward F.
    mid = bs_price(forward * discount, strike, tau, PARITY_RATE, 0.0, sigma, is_call)
    n = len(strike)
    return {"strike": strike, "is_call": is_call, "mid": mid, "tau": np.full(n, tau)}


def forwards_of(parts: list[tuple[str, int, dict]], underlying: float, usable=None):
    """parity_forwards of the chains ``parts`` (date, expiry code, chain) stacked."""
    columns = {k: np.concatenate([p[2][k] for p in parts]) for k in parts[0][2]}
    dates = np.concatenate([[p[0]] * len(p[2]["strike"]) for p in parts])
    expiries = np.concatenate([[p[1]] * len(p[2]["strike"]) for p in parts])
    n = len(dates)
    return parity_forwards(
        dates, expiries, columns["strike"], columns["is_call"], columns["mid"],
        columns["tau"], np.full(n, underlying),
        np.ones(n, bool) if usable is None else usable,
    )  # fmt: skip


def test_the_forward_the_options_price_whatever_the_vendors_spot():
    # The options price a forward of 2,700; the vendor's spot is 0.8% off (asynchronous).
    strikes = np.arange(2500, 2901, 25)
    got = forwards_of([("d", 0, chain(2700.0, 30 / 365, strikes))], underlying=2721.6)
    np.testing.assert_allclose(got.forward, 2700.0, rtol=1e-12)
    np.testing.assert_allclose(got.carry, np.log(2700.0 / 2721.6) / (30 / 365), rtol=1e-9)
    assert (got.pairs == PARITY_PAIRS).all()


def test_each_date_and_expiry_gets_its_own_forward():
    strikes = np.arange(90, 111, 1.0)
    parts = [
        ("d1", 0, chain(100.0, 0.1, strikes)),
        ("d1", 1, chain(101.0, 0.5, strikes)),
        ("d2", 0, chain(98.0, 0.09, strikes)),
    ]
    got = forwards_of(parts, underlying=100.0)
    expected = np.repeat([100.0, 101.0, 98.0], 2 * len(strikes))
    np.testing.assert_allclose(got.forward, expected, rtol=1e-12)


def test_the_median_ignores_one_bad_pair_among_the_nearest():
    strikes = np.arange(90, 111, 1.0)
    part = chain(100.0, 0.25, strikes)
    # The put at 100 (the nearest strike) quoted 30 cents rich: one estimate of five moves.
    bad = (part["strike"] == 100.0) & ~part["is_call"]
    part["mid"] = np.where(bad, part["mid"] + 0.30, part["mid"])
    got = forwards_of([("d", 0, part)], underlying=100.0)
    np.testing.assert_allclose(got.forward, 100.0, rtol=1e-9)


def test_an_expiry_without_both_sides_usable_has_no_forward():
    strikes = np.arange(90, 111, 1.0)
    calls_only = chain(100.0, 0.25, strikes)
    usable = calls_only["is_call"].copy()  # every put unusable
    paired = chain(100.0, 0.5, strikes)
    got = forwards_of(
        [("d", 0, calls_only), ("d", 1, paired)], 100.0,
        usable=np.concatenate([usable, np.ones(len(paired["strike"]), bool)]),
    )  # fmt: skip
    first = slice(0, len(strikes) * 2)
    assert np.isnan(got.forward[first]).all() and np.isnan(got.carry[first]).all()
    assert (got.pairs[first] == 0).all()
    np.testing.assert_allclose(got.forward[len(strikes) * 2 :], 100.0, rtol=1e-12)


def test_a_forward_implausibly_far_from_the_spot_is_refused():
    # A forward 10% from the spot on a one-month expiry is a mislabelled file, not a carry.
    strikes = np.arange(90, 131, 1.0)
    tau = 30 / 365
    assert np.log(110 / 100) > MAX_BASIS[0] + MAX_BASIS[1] * tau
    got = forwards_of([("d", 0, chain(110.0, tau, strikes))], underlying=100.0)
    assert np.isnan(got.forward).all() and (got.pairs == 0).all()


def test_expired_and_empty_input():
    strikes = np.arange(90, 111, 1.0)
    got = forwards_of([("d", 0, chain(100.0, 0.0, strikes))], underlying=100.0)
    assert np.isnan(got.forward).all()
    empty = parity_forwards(*(np.array([]) for _ in range(5)), np.array([]), np.array([]),
                            np.array([], bool))  # fmt: skip
    assert len(empty.forward) == len(empty.carry) == len(empty.pairs) == 0


@pytest.mark.parametrize("rate", [0.0, 0.05])
def test_a_different_rate_inside_the_parity_moves_the_forward_by_little(rate):
    strikes = np.arange(95, 106, 1.0)
    part = chain(100.0, 0.5, strikes)
    got = parity_forwards(
        np.zeros(len(part["strike"])), np.zeros(len(part["strike"]), int), part["strike"],
        part["is_call"], part["mid"], part["tau"], np.full(len(part["strike"]), 100.0),
        np.ones(len(part["strike"]), bool), rate=rate,
    )  # fmt: skip
    assert np.abs(np.log(got.forward / 100.0)).max() < 2e-4  # under 2 basis points
