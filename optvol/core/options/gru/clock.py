"""The clock the network's anchor reprices yesterday's vol on: calendar days or trading
sessions.

An implied vol is quoted in calendar time, :math:`\\sigma^2 T` with :math:`T` in calendar
years, but an index's variance comes with its trading sessions: over a weekend three
calendar days pass and one session. Repricing Friday's vol at Monday's shorter :math:`T`
drops three days of variance where the market has lost about one, so a one-week option's
calendar vol rises by about a fifth over a weekend while nothing happened
(:func:`~optvol.core.options.samples.features.business_time_change`). Every baseline
reprices in calendar time. The network's anchor takes the share :math:`\\kappa` of the
business-time change (:func:`~optvol.core.options.samples.features.business_time_vol`):
:math:`\\kappa = 0`, calendar time, unless the share in :data:`BUSINESS_TIME_GRID` whose
anchor prices fit the training days best does so significantly (the rule of the anchor,
:func:`optvol.core.options.gru.anchor.significantly_better`). How much variance a
non-trading day carries is measured, not assumed: well under a session's for the stock
itself (French and Roll 1986), and what the option market prices is the chain's own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from optvol.core.options.gru._share import evidenced_share
from optvol.core.options.pricing.black_scholes import bs_price
from optvol.core.options.samples import (
    OptionSamples,
    business_time_vol,
    dividend_yield_of,
    shrunk_carry,
)

__all__ = ["BUSINESS_TIME_GRID", "ClockChoice", "fit_business_time"]

BUSINESS_TIME_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class ClockChoice:
    """The kept share of the business-time vol change and the training RMSE ($) of the
    anchor's prices at each share of :data:`BUSINESS_TIME_GRID`."""

    share: float
    training_rmse: dict[str, float]

    def to_dict(self) -> dict:
        return {"share": self.share, "training_rmse": self.training_rmse}


def fit_business_time(samples: OptionSamples) -> tuple[OptionSamples, ClockChoice]:
    """The share of :data:`BUSINESS_TIME_GRID` with the lowest RMSE of the anchor's prices
    on the training samples (ties to the smaller share), and ``samples`` priced with it."""
    calendar = replace(samples, business_time=0.0)
    vol, config = calendar.anchor_iv[calendar.indices("train")], calendar.config

    def price_at(share, rows, context):
        carry = shrunk_carry(context.previous.carry, calendar.carry_shrinkage, config)
        return bs_price(
            rows["underlying"].to_numpy(), context.strike, context.tau, config.risk_free_rate,
            dividend_yield_of(carry, config), business_time_vol(vol, context.time_change, share),
            context.is_call,
        )  # fmt: skip

    best, rmse = evidenced_share(calendar, BUSINESS_TIME_GRID, 0.0, price_at)
    return replace(samples, business_time=best), ClockChoice(best, rmse)
