"""How much of an expiry's ``t-1`` carry the network prices ``t`` with.

The carry of an expiry at ``t-1``, :math:`c = \\ln(F/S)/T` of its parity forward against
the vendor's spot, holds two things: the rate and dividends, which last, and the day's
spot basis -- the vendor's spot taken at another moment than the option close (a quarter
of an hour earlier for Cboe's index options) -- which on an index chain mostly does not.
Carried whole into ``t`` at a new spot, a transient basis is an error of its own size in
the forward. The network prices at :math:`c_0 + \\rho (c - c_0)`
(:func:`~optvol.core.options.samples.features.shrunk_carry`, :math:`c_0` the configured
carry). :math:`\\rho = 1`, the parity carry as the baselines use it, unless the share in
:data:`CARRY_GRID` whose anchor prices fit the training days best does so significantly
(the rule of the anchor, :func:`optvol.core.options.gru.anchor.significantly_better`):
a chain whose carry is mostly rate and dividends keeps it whole, one whose spot basis
comes and goes keeps what lasts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from optvol.core.options.gru._share import evidenced_share
from optvol.core.options.pricing.black_scholes import bs_price
from optvol.core.options.samples import OptionSamples, dividend_yield_of, shrunk_carry

__all__ = ["CARRY_GRID", "CarryChoice", "fit_carry_shrinkage"]

CARRY_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class CarryChoice:
    """The kept share of the carry's distance from the configured one and the training
    RMSE ($) of the anchor's prices at each share of :data:`CARRY_GRID`."""

    shrinkage: float
    training_rmse: dict[str, float]

    def to_dict(self) -> dict:
        return {"shrinkage": self.shrinkage, "training_rmse": self.training_rmse}


def fit_carry_shrinkage(samples: OptionSamples) -> tuple[OptionSamples, CarryChoice]:
    """The share of :data:`CARRY_GRID` with the lowest RMSE of the anchor's prices on the
    training samples (ties to the larger share), and ``samples`` priced with it."""
    calendar = replace(samples, business_time=0.0)  # the clock is fitted after the carry
    vol, config = calendar.anchor_iv[calendar.indices("train")], calendar.config

    def price_at(share, rows, context):
        carry = shrunk_carry(context.previous.carry, share, config)
        return bs_price(
            rows["underlying"].to_numpy(), context.strike, context.tau, config.risk_free_rate,
            dividend_yield_of(carry, config), vol, context.is_call,
        )  # fmt: skip

    best, rmse = evidenced_share(samples, CARRY_GRID, 1.0, price_at)
    return replace(samples, carry_shrinkage=best), CarryChoice(best, rmse)
