"""The option predictor prices a call's contracts together, each as if alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from optvol.core.common.errors import RequestError
from optvol.core.options.prediction import ContractRequest
from optvol.core.options.prediction.predictor import DAYS_AHEAD


def _priceable(predictor, day: date, count: int) -> list[ContractRequest]:
    """Up to ``count`` contracts quoted before ``day`` that the predictor can price."""
    quoted = predictor.contracts_quoted_on(predictor.previous_trading_day(day))
    out = []
    for row in quoted.loc[quoted["expiration"].dt.date > day].itertuples():
        request = ContractRequest(row.expiration.date(), float(row.strike), row.option_type,
                                  day, predictor.spot_on(predictor.previous_trading_day(day))
                                  * 1.004)  # fmt: skip
        try:
            predictor.predict([request])
        except RequestError:
            continue
        out.append(request)
        if len(out) == count:
            break
    return out


@pytest.fixture(scope="module")
def predictor(served_models):
    return served_models.require("options")


def test_a_contracts_price_does_not_depend_on_the_rest_of_its_call(predictor):
    """On the data's last days the GRU reads each window's state computed ahead, so a
    contract alone, in a call of many, and first or last, gets the same price bit for bit,
    and every answer keeps its own contract."""
    days = predictor.trading_days_with_successor()[-2:]
    requests = [r for day in days for r in _priceable(predictor, day, 40)]
    assert len({r.as_of for r in requests}) == 2 and len(requests) > 40
    together = predictor.predict(requests)
    backwards = predictor.predict(requests[::-1])[::-1]
    for request, one, other in zip(requests, together, backwards, strict=True):
        alone = predictor.predict([request])[0]
        assert one.request is request
        assert one.gru == alone.gru == other.gru
        assert one.baselines == alone.baselines == other.baselines
        assert one.inputs == alone.inputs
        assert (one.quoted_days, one.previous_date) == (alone.quoted_days, alone.previous_date)


def test_states_computed_ahead_are_those_of_the_window_computed_alone(predictor):
    states = predictor._states
    last = len(predictor.calendar) - 1
    ahead_days = np.unique(predictor.samples.quotes.day[states._ahead]) + 1
    np.testing.assert_array_equal(ahead_days, np.arange(last - DAYS_AHEAD + 1, last + 2))
    day = last - 1
    positions = np.flatnonzero(predictor.samples.quotes.day == day - 1)[::7]
    ahead = states.of_quotes(positions, np.full(len(positions), day))
    alone = states._computed(positions, np.full(len(positions), day))
    np.testing.assert_allclose(ahead.hidden, alone.hidden, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ahead.recent, alone.recent)
    np.testing.assert_array_equal(ahead.quoted_days, alone.quoted_days)
    # A day not computed ahead is computed on request, mixed with one that was.
    early = int(predictor.samples.quotes.day[positions[0]]) - 30
    old = np.flatnonzero(predictor.samples.quotes.day == early - 1)[:5]
    mixed = states.of_quotes(np.r_[positions[:3], old], np.r_[[day] * 3, [early] * len(old)])
    np.testing.assert_array_equal(mixed.hidden[:3], ahead.hidden[:3])
    np.testing.assert_allclose(mixed.hidden[3:], states._computed(old, np.full(len(old), early))
                               .hidden, rtol=0, atol=1e-6)  # fmt: skip


def test_the_first_bad_request_is_answered_with_the_first_of_its_problems(predictor):
    day = predictor.trading_days_with_successor()[-1]
    good = _priceable(predictor, day, 2)
    moved = replace(good[1], underlying=good[1].underlying * 10)
    wrong_type = replace(good[0], option_type="X")

    def error(requests) -> tuple[str, str]:
        with pytest.raises(RequestError) as raised:
            predictor.predict(requests)
        return raised.value.field, str(raised.value)

    assert error([good[0], moved, wrong_type])[0] == "contracts[1].underlying"
    assert error([good[0], wrong_type, moved])[0] == "contracts[1].option_type"
    # One request with two problems: the check a single request runs first names it.
    both = replace(moved, as_of=date(1990, 1, 2))
    assert error([good[0], both])[0] == "contracts[1].as_of"
    unknown = replace(moved, strike=moved.strike + 0.123)
    field, message = error([unknown, moved])
    assert field == "contracts[0]" and "no usable quote" in message
    # After the error, the same predictor still prices the good ones, unchanged.
    again = predictor.predict(good)
    assert [p.gru for p in again] == [predictor.predict([g])[0].gru for g in good]


def test_a_contracts_history_is_priced_as_its_days_requested_one_by_one(predictor):
    request = _priceable(predictor, predictor.trading_days_with_successor()[-1], 1)[0]
    history = predictor.contract_history(request.expiration, request.strike,
                                         request.option_type)  # fmt: skip
    assert len(history) > 5
    for row in history.iloc[[0, len(history) // 2, -1]].itertuples():
        day = row.date.date()
        one = predictor.predict([replace(request, as_of=day,
                                         underlying=predictor.spot_on(day))])[0]  # fmt: skip
        assert row.gru == pytest.approx(one.gru, rel=1e-6)
        assert row.practitioner_bs == one.baselines["practitioner_bs"]
        assert (np.isnan(row.realized) and one.realized_mid is None) or (
            row.realized == one.realized_mid
        )


def test_a_supplied_history_without_the_day_before_is_refused_naming_that_day(predictor):
    from optvol.core.options.prediction import HistoryQuote

    day = predictor.trading_days_with_successor()[-1]
    request = _priceable(predictor, day, 1)[0]
    before = predictor.previous_trading_day(day)
    earlier = predictor.previous_trading_day(before)
    stale = replace(request, history=(HistoryQuote(earlier, 5.0),))
    with pytest.raises(RequestError) as raised:
        predictor.predict([stale])
    assert raised.value.field == "contracts[0].history"
    assert str(raised.value) == (
        f"history must include the trading day before as_of ({before}); its last date is {earlier}"
    )


def test_the_delta_is_the_central_difference_of_the_models_own_prices(predictor):
    """A request's delta is the derivative of the GRU's price in the underlying's at the
    requested price: the prices of the same request at S (1 +- 0.1%) agree with it."""
    from optvol.core.options.hedging import BUMP

    day = predictor.trading_days_with_successor()[-1]
    requests = _priceable(predictor, day, 12)
    assert requests
    for request in requests:
        at = predictor.predict([request])[0]
        up = predictor.predict([replace(request, underlying=request.underlying * (1 + BUMP))])[0]
        down = predictor.predict([replace(request, underlying=request.underlying * (1 - BUMP))])[0]
        numeric = (up.gru - down.gru) / (2 * BUMP * request.underlying)
        # The request's own delta is computed in float32 beside its price.
        assert at.delta == pytest.approx(numeric, abs=1e-4)
        sign = 1.0 if request.option_type == "C" else -1.0
        assert -0.05 <= sign * at.delta <= 1.05


@pytest.mark.usefixtures("one_torch_thread")
def test_an_am_settled_class_is_priced_as_the_samples_price_it():
    """SPX settles at the open of its expiration day: its time to expiry, business-time
    vol change and every price of a request are the samples' own, to the float32 of the
    network."""
    from optvol.core.options.gru.card import Clock
    from optvol.core.options.gru.config import TrainingConfig
    from optvol.core.options.hedging import BUMP
    from optvol.core.options.prediction.predictor import OptionPredictor
    from optvol.core.options.samples import BASELINES, SampleConfig, build_samples
    from optvol.core.options.walk_forward import train_option_model
    from optvol_tests.builders import option_quotes_frame

    quotes = option_quotes_frame(n_days=40, root="SPX", expiries=("2020-02-21", "2020-03-20"))
    samples = build_samples(quotes, SampleConfig(evaluation="split"))
    training = TrainingConfig(hidden_size=8, head_size=8, slope_size=4, epochs=1, device="cpu")
    model = train_option_model(samples, training)
    predictor = OptionPredictor(model, quotes)
    rows = samples.rows
    # Days near the expiry of 2020-02-21, where half a trading day of the last one matters.
    index = np.flatnonzero(
        (rows["expiration"] == "2020-02-21").to_numpy() & (rows["dte_days"] <= 5).to_numpy()
    )
    assert len(index) > 10
    requests = [
        ContractRequest(r.expiration.date(), float(r.strike), str(r.option_type),
                        r.quote_date.date(), float(r.underlying), root="SPX")
        for r in rows.iloc[index].itertuples()
    ]  # fmt: skip
    predicted = predictor.predict(requests)
    np.testing.assert_array_equal([p.inputs["tau"] for p in predicted], rows["tau"].iloc[index])
    for name in BASELINES:
        np.testing.assert_allclose([p.baselines[name] for p in predicted],
                                   rows[name].iloc[index], rtol=1e-12, atol=1e-12)  # fmt: skip
    # The API's NumPy float32 network against PyTorch's: a cent's thousandth at most.
    np.testing.assert_allclose([p.gru for p in predicted], model.predict(samples, index),
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    # ... and so with an anchor on business time, which moves the prices over a weekend.
    model.card.clock = Clock(share=1.0, training_rmse={})
    clocked = OptionPredictor(model, quotes).predict(requests)
    np.testing.assert_allclose([p.gru for p in clocked], model.predict(samples, index),
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    np.testing.assert_allclose([p.inputs["anchor_iv"] for p in clocked],
                               np.array([p.inputs["anchor_iv"] for p in predicted])
                               + samples.context.time_change[index], rtol=1e-6)  # fmt: skip
    weekend = samples.context.days_since_previous[index] > 1
    assert weekend.any()
    raised = [c.gru - p.gru for c, p, w in zip(clocked, predicted, weekend, strict=True) if w]
    assert min(raised) >= 0 and max(raised) > 0.01  # (0 where the t-1 mid is intrinsic)
    # The baselines stay in calendar time; the delta is that of the prices on the clock.
    assert [c.baselines for c in clocked] == [p.baselines for p in predicted]
    spot = rows["underlying"].to_numpy()[index]
    up, down = (model.predict(samples, index, spot=spot * (1 + s * BUMP)) for s in (1, -1))
    numeric = (up - down) / (2 * BUMP * spot)  # the two float32 networks differ by 6e-5
    np.testing.assert_allclose([c.delta for c in clocked], numeric, atol=5e-4)
