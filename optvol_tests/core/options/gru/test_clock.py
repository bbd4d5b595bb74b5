"""Tests for optvol.core.options.gru.clock: the share of the business-time vol change the
network's anchor takes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from optvol.core.common.trading_calendar import trading_days_between
from optvol.core.options.gru.clock import fit_business_time
from optvol.core.options.ingest.clean import add_parity_forwards
from optvol.core.options.pricing.black_scholes import bs_price
from optvol.core.options.samples import SampleConfig, build_samples
from optvol_tests.builders import option_quotes_frame

# Expiries from a week to five months out over the builder's 60 business days from
# 2020-01-02: the short ones move most over a weekend.
EXPIRIES = tuple(str(d.date()) for d in pd.date_range("2020-01-10", periods=22, freq="W-FRI"))


def chain(session_priced: bool) -> pd.DataFrame:
    """The builder's chain, its vols either as the builder quotes them (calendar time) or
    quoted so that each contract's variance per remaining trading session is the
    builder's: :math:`\\sigma_{cal} = \\sigma \\sqrt{(N/252)/T}`, which rises over every
    weekend."""
    quotes = option_quotes_frame(n_days=60, expiries=EXPIRIES, seed=3)
    if session_priced:
        sessions = trading_days_between(
            quotes["quote_date"].to_numpy("datetime64[D]"),
            quotes["expiration"].to_numpy("datetime64[D]"),
        )
        tau = quotes["tau"].to_numpy()
        iv = quotes["iv"].to_numpy() * np.sqrt(sessions / 252.0 / tau)
        mid = bs_price(quotes["underlying_last"].to_numpy(), quotes["strike"].to_numpy(), tau,
                       0.02, 0.015, iv, (quotes["option_type"] == "C").to_numpy())  # fmt: skip
        half = np.minimum(0.05, 0.2 * mid)
        quotes = quotes.assign(iv=iv, mid=mid, bid=mid - half, ask=mid + half, last=mid,
                               spread=2 * half)  # fmt: skip
    return add_parity_forwards(quotes)


def test_a_chain_priced_in_trading_sessions_moves_the_anchor_by_its_business_time_change():
    samples = build_samples(chain(session_priced=True), SampleConfig(evaluation="split"))
    clocked, choice = fit_business_time(samples)
    assert choice.share == 1.0
    assert clocked.business_time == 1.0
    rmse = choice.training_rmse
    assert rmse["1"] < rmse["0.75"] < rmse["0.5"] < rmse["0.25"] < rmse["0"]
    np.testing.assert_allclose(
        clocked.anchor_iv, samples.anchor_iv + samples.context.time_change, rtol=1e-12
    )
    # Every weekend moves it up (but a contract at its intrinsic value at t-1); the
    # baselines' prices stay in calendar time.
    weekend = samples.context.days_since_previous > 1
    solved = samples.context.previous.iv_from_mid > 0
    assert weekend.any() and (samples.context.time_change[weekend & solved] > 0).all()
    np.testing.assert_array_equal(clocked.rows["leverage_bs"], samples.rows["leverage_bs"])
    # The network prices at the clocked anchor, at its own S_t and at any other.
    np.testing.assert_allclose(clocked.pricing_inputs()[:, 2], clocked.anchor_iv, rtol=1e-6)
    _, pricing = clocked.inputs_at(samples.rows["underlying"].to_numpy())
    np.testing.assert_array_equal(pricing, clocked.pricing_inputs())


def test_a_chain_priced_in_calendar_time_keeps_calendar_time():
    samples = build_samples(chain(session_priced=False), SampleConfig(evaluation="split"))
    clocked, choice = fit_business_time(samples)
    assert choice.share == 0.0 and clocked.business_time == 0.0
    np.testing.assert_array_equal(clocked.pricing_inputs(), samples.pricing_inputs())


def test_a_better_share_without_evidence_is_not_kept(monkeypatch):
    """The share is kept only where the anchor rule's test says so: refused, calendar
    time stays even where another share fits the training days better."""
    import optvol.core.options.gru._share as share

    monkeypatch.setattr(share, "significantly_better", lambda *args: False)
    samples = build_samples(chain(session_priced=True), SampleConfig(evaluation="split"))
    clocked, choice = fit_business_time(samples)
    assert min(choice.training_rmse, key=choice.training_rmse.get) == "1"
    assert choice.share == 0.0 and clocked.business_time == 0.0


@pytest.mark.parametrize("fitted", [0.0, 0.75])
def test_the_fit_starts_from_calendar_time_whatever_the_samples_carry(fitted):
    samples = build_samples(chain(session_priced=True), SampleConfig(evaluation="split"))
    _, again = fit_business_time(replace(samples, business_time=fitted))
    _, first = fit_business_time(samples)
    assert again == first
