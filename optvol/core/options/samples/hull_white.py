"""The expected implied-vol change of Hull and White (2017), fitted on training pairs.

Hull and White find that the implied vol of an S&P 500 option moves, on average, with the
index return :math:`r_t \\approx \\Delta S/S` by an amount that is quadratic in the
option's Black-Scholes delta and falls with the square root of its time to expiry:

.. math::

   E[\\Delta\\sigma] = \\left(a + b\\,\\delta + c\\,\\delta^2\\right) \\frac{r_t}{\\sqrt{T}},

with :math:`a, b, c` from a least-squares fit without intercept over the training
pairs, each weighted by its squared vega: the regression in prices that Hull and White
run, :math:`\\Delta V - \\delta_{BS}\\Delta S \\approx \\mathcal{V}\\,\\Delta\\sigma`, stated
in vols, so that a short-dated wing whose vol jumps by a third but whose price moves by
cents weighs what its price does. :math:`\\delta` is the call delta at ``t-1`` at the
contract's ``t-1`` vol (a put uses the call of its strike, whose vol it shares),
:math:`T` the time to expiry at ``t-1``. The ``hull_white_bs`` baseline prices at
:math:`\\sigma_{t-1} + E[\\Delta\\sigma]`, and the minimum-variance delta that the same fit gives is

.. math::

   \\delta_{MV} = \\delta_{BS} + \\frac{\\mathcal{V}}{S\\sqrt{T}}\\left(a + b\\,\\delta +
   c\\,\\delta^2\\right),

:math:`\\mathcal{V}` the Black-Scholes vega per unit of vol. Below a week to expiry the
:math:`1/\\sqrt{T}` would make the term explode on the last days of a contract: :math:`T`
is floored at :data:`MIN_TAU` in the fit and in its use.

References
----------
.. [1] Hull, J. and White, A. (2017) "Optimal delta hedging for options", Journal of
   Banking and Finance 82, 180-190, equations (4)-(6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_TAU", "HullWhite", "fit_hull_white"]

MIN_TAU = 7.0 / 365.0
# Fewer training pairs than this leave the change at zero (the practitioner model).
MIN_PAIRS = 30


@dataclass(frozen=True)
class HullWhite:
    """The coefficients :math:`a, b, c` and the number of training pairs behind them."""

    a: float
    b: float
    c: float
    pairs: int

    def coefficient(self, call_delta: np.ndarray) -> np.ndarray:
        """:math:`a + b\\delta + c\\delta^2`."""
        delta = np.asarray(call_delta, float)
        return self.a + (self.b + self.c * delta) * delta

    def vol_change(
        self, call_delta: np.ndarray, underlying_return: np.ndarray, tau: np.ndarray
    ) -> np.ndarray:
        """:math:`E[\\Delta\\sigma]` of each contract (0 where the return is missing)."""
        scaled = np.nan_to_num(underlying_return) / np.sqrt(np.maximum(tau, MIN_TAU))
        return self.coefficient(call_delta) * scaled

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "c": self.c, "pairs": self.pairs}

    @classmethod
    def from_dict(cls, values: dict) -> HullWhite:
        return cls(float(values["a"]), float(values["b"]), float(values["c"]),
                   int(values["pairs"]))  # fmt: skip


def fit_hull_white(
    iv_change: np.ndarray, underlying_return: np.ndarray, call_delta: np.ndarray,
    tau: np.ndarray, vega: np.ndarray | None = None,
) -> HullWhite:  # fmt: skip
    """Least squares of ``iv_change`` on :math:`r/\\sqrt{T}\\,(1, \\delta, \\delta^2)`
    without intercept over the finite pairs, weighted by ``vega`` squared (unweighted
    without it); zero coefficients with fewer than :data:`MIN_PAIRS` pairs or a singular
    design."""
    x = np.nan_to_num(underlying_return) / np.sqrt(np.maximum(np.asarray(tau, float), MIN_TAU))
    delta = np.asarray(call_delta, float)
    y = np.asarray(iv_change, float)
    weight = np.ones_like(y) if vega is None else np.asarray(vega, float)
    keep = np.isfinite(y) & np.isfinite(x) & np.isfinite(delta) & np.isfinite(weight)
    keep &= weight > 0
    n = int(keep.sum())
    if n < MIN_PAIRS:
        return HullWhite(0.0, 0.0, 0.0, n)
    x, delta, y, weight = x[keep], delta[keep], y[keep], weight[keep]
    design = np.stack([x, x * delta, x * delta * delta], axis=1) * weight[:, None]
    coef, _, rank, _ = np.linalg.lstsq(design, y * weight, rcond=None)
    if rank < 3 or not np.isfinite(coef).all():
        return HullWhite(0.0, 0.0, 0.0, n)
    return HullWhite(float(coef[0]), float(coef[1]), float(coef[2]), n)
