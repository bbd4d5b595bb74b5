"""The baselines whose parameters are fitted on training days: ``leverage_bs`` (a slope of
the vol change on the return per moneyness x maturity bucket,
:mod:`~optvol.core.options.samples.leverage`) and ``hull_white_bs`` (the expected vol
change of Hull and White 2017, :mod:`~optvol.core.options.samples.hull_white`).

Both are fitted on the pairs of the training days only, whose vols solved from the mids
at ``t-1`` and ``t`` are both valid (:data:`~optvol.core.options.samples.leverage.VALID_IV`);
the walk-forward evaluation refits them on each training window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optvol.core.common.numeric import nan_to_num
from optvol.core.options.samples.baselines import MIN_LEVERAGE_VOL
from optvol.core.options.samples.features import PreviousQuote
from optvol.core.options.samples.hull_white import HullWhite, fit_hull_white
from optvol.core.options.samples.leverage import VALID_IV, LeverageBetas, fit_leverage_betas

__all__ = ["FittedBaselines", "fit_baselines", "hull_white_iv"]


@dataclass(frozen=True)
class FittedBaselines:
    """The fitted parameters of ``leverage_bs`` and ``hull_white_bs``."""

    leverage: LeverageBetas
    hull_white: HullWhite

    def to_dict(self) -> dict:
        return {"leverage": self.leverage.to_dict(), "hull_white": self.hull_white.to_dict()}

    @classmethod
    def from_dict(cls, values: dict) -> FittedBaselines:
        return cls(
            LeverageBetas.from_dict(values["leverage"]), HullWhite.from_dict(values["hull_white"])
        )


def fit_baselines(
    previous: PreviousQuote,
    target_iv: np.ndarray,
    underlying_return: np.ndarray,
    dte_days: np.ndarray,
    call_delta: np.ndarray,
    vega: np.ndarray,
    day: np.ndarray,
) -> FittedBaselines:
    """Fit both baselines on the pairs given (the training days' samples): ``previous``
    their ``t-1`` quotes, ``target_iv`` the vol solved from the mid at ``t``,
    ``underlying_return`` the return into ``t``, ``dte_days`` at ``t``, ``call_delta`` and
    ``vega`` (per unit of vol) at ``t-1``, ``day`` the day ``t``."""
    valid = (target_iv >= VALID_IV[0]) & (target_iv <= VALID_IV[1])
    valid &= (previous.iv_from_mid >= VALID_IV[0]) & (previous.iv_from_mid <= VALID_IV[1])
    change = np.where(valid, target_iv - previous.iv_from_mid, np.nan)
    leverage = fit_leverage_betas(change, underlying_return, -previous.log_moneyness, dte_days, day)
    hull_white = fit_hull_white(change, underlying_return, call_delta, previous.tau, vega)
    return FittedBaselines(leverage, hull_white)


def hull_white_iv(
    previous: PreviousQuote, underlying_return: np.ndarray, call_delta: np.ndarray,
    fitted: HullWhite,
) -> np.ndarray:  # fmt: skip
    """:math:`\\max(\\sigma_{t-1} + (a + b\\delta + c\\delta^2) r_t/\\sqrt{T}, 0.01)`: the
    contract's ``t-1`` vol solved from the mid moved by Hull and White's expected change
    (a missing delta counts as 0: a sample has one wherever it has a ``t-1`` vol)."""
    change = fitted.vol_change(nan_to_num(call_delta), underlying_return, previous.tau)
    return np.maximum(previous.iv_from_mid + change, MIN_LEVERAGE_VOL)
