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
from optvol.core.options.samples import ANCHOR_CANDIDATES, SampleConfig, build_samples
from optvol_tests.builders import option_quotes_frame

# Weekly expiries, each quoted over its last four weeks: a weekend moves a short option's
# calendar-time vol most.
EXPIRIES = tuple(str(d.date()) for d in pd.date_range("2020-01-10", periods=40, freq="W-FRI"))


def chain(session_priced: bool, n_days: int = 60) -> pd.DataFrame:
    """The builder's chain, its vols either as the builder quotes them (calendar time) or
    quoted so that each contract's variance per remaining trading session is the
    builder's: :math:`\\sigma_{cal} = \\sigma \\sqrt{(N/252)/T}`, which rises over every
    weekend."""
    quotes = option_quotes_frame(n_days=n_days, expiries=EXPIRIES, seed=3)
    quotes = quotes[quotes["dte_days"] <= 28].reset_index(drop=True)  # where weekends matter
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
    for name in ANCHOR_CANDIDATES:
        np.testing.assert_array_equal(clocked.anchor_vol(name), samples.anchor_vol(name))
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


def test_the_share_is_fitted_on_the_training_days_alone():
    """A chain quoted in trading sessions over its 40 training days and in calendar time
    over the 40 after them takes the business-time change: the later days are not read
    (read, they keep calendar time)."""
    calendar, sessions = chain(False, n_days=80), chain(True, n_days=80)
    dates = np.unique(calendar["quote_date"])
    train_end = pd.Timestamp(dates[39])
    quotes = pd.concat([sessions[sessions["quote_date"] <= train_end],
                        calendar[calendar["quote_date"] > train_end]], ignore_index=True)  # fmt: skip
    config = SampleConfig(evaluation="split", train_end=str(train_end.date()),
                          validation_end=str(pd.Timestamp(dates[44]).date()))  # fmt: skip
    samples = build_samples(quotes, config)
    assert fit_business_time(samples)[1].share == 1.0
    every_day = replace(samples, rows=samples.rows.assign(split="train"))
    assert fit_business_time(every_day)[1].share == 0.0


@pytest.mark.usefixtures("one_torch_thread")
def test_the_network_trains_and_prices_on_its_anchors_clock(monkeypatch):
    import optvol.core.options.gru.training as training
    from optvol.core.options.gru.anchor import with_anchor
    from optvol.core.options.gru.artifact import TrainedGRU
    from optvol.core.options.gru.training import TrainingConfig, correction_bound, train_gru

    # The 90th percentile of the gap, not the 99th, which contracts at their intrinsic
    # value (no vol at t-1, so no business-time change) set alike on either clock.
    monkeypatch.setattr(training, "CORRECTION_QUANTILE", 0.9)

    samples = build_samples(chain(session_priced=True), SampleConfig(evaluation="split"))
    tiny = TrainingConfig(hidden_size=8, head_size=8, slope_size=4, epochs=1, device="cpu")
    result = train_gru(samples, tiny)
    assert result.clock.share == 1.0
    clocked = replace(with_anchor(samples, result.anchor.anchor),
                      carry_shrinkage=result.carry.shrinkage, business_time=1.0)  # fmt: skip
    # The correction's bound is measured from the anchor on the clock, not in calendar time.
    assert result.architecture["max_correction"] == correction_bound(clocked)
    assert correction_bound(clocked) < correction_bound(replace(clocked, business_time=0.0))
    model = TrainedGRU.from_training(result, samples)
    assert model.business_time == 1.0
    index = np.arange(0, len(samples.rows), 3)
    np.testing.assert_allclose(
        model.predict(samples, index, spot=samples.rows["underlying"].to_numpy()[index]),
        model.predict(samples, index),
        rtol=1e-6,
    )
