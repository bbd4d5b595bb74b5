"""One-day delta hedging: the test practitioners apply to a pricing model.

A position in one option hedged at the close of ``t-1`` with :math:`\\delta` units of the
underlying makes, by the close of ``t``, the hedging error

.. math::

   e = \\Delta V - \\delta\\, \\Delta S, \\qquad \\Delta V = V_t - V_{t-1}, \\quad
   \\Delta S = S_t - S_{t-1},

:math:`V` the option's mids. The deltas compared, all known at ``t-1``:

* ``bs``: Black-Scholes at the contract's ``t-1`` vol solved from its mid (the reference);
* ``hull_white_mv``: Hull and White's minimum-variance delta,
  :math:`\\delta_{BS} + \\mathcal{V}(a + b\\delta + c\\delta^2)/(S\\sqrt{T})`, with the
  coefficients fitted on the training days
  (:mod:`~optvol.core.options.samples.hull_white`);
* each model's own delta, the derivative of its price for ``t`` in the underlying's price
  at :math:`S_{t-1}`, by a central difference of :data:`BUMP` (every input that depends on
  the price computed again at each side): ``gru``, ``leverage_bs``, ``hull_white_bs``.

The gain of a delta is :math:`1 - SSE/SSE_{BS}` (Hull and White 2017, their Gain), over
all pairs and by call/put and :math:`|\\delta_{BS}|` bucket (:data:`DELTA_BUCKETS`).

References
----------
.. [1] Hull, J. and White, A. (2017) "Optimal delta hedging for options", Journal of
   Banking and Finance 82, 180-190.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from optvol.core.options.pricing.black_scholes import bs_greeks
from optvol.core.options.samples import (
    OptionSamples,
    dividend_yield_of,
)
from optvol.core.options.samples.hull_white import MIN_TAU

__all__ = [
    "BUMP",
    "DELTA_BUCKETS",
    "HEDGE_DELTAS",
    "HedgePairs",
    "hedge_pairs",
    "hedging_gains",
    "reference_deltas",
]

BUMP = 1e-3
DELTA_BUCKETS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0))
# The deltas compared with Black-Scholes's, in the order the reports list them.
HEDGE_DELTAS = ("gru", "hull_white_mv", "hull_white_bs", "leverage_bs")


@dataclass
class HedgePairs:
    """Per test pair: the change of its mid and of the underlying, whether it is a call,
    its Black-Scholes delta and every compared delta (``deltas``, by name)."""

    change_value: np.ndarray
    change_spot: np.ndarray
    is_call: np.ndarray
    bs_delta: np.ndarray
    deltas: dict[str, np.ndarray]

    @classmethod
    def concat(cls, parts: list[HedgePairs]) -> HedgePairs:
        names = parts[0].deltas.keys()
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts])
              for f in ("change_value", "change_spot", "is_call", "bs_delta")),
            {name: np.concatenate([p.deltas[name] for p in parts]) for name in names},
        )  # fmt: skip


def reference_deltas(samples: OptionSamples, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Black-Scholes delta and Hull and White's minimum-variance delta at ``t-1`` of
    the samples ``index``, with the samples' fitted coefficients."""
    context = samples.context.take(index)
    previous, config = context.previous, samples.config
    greeks = bs_greeks(
        context.previous_spot, context.strike, previous.tau, config.risk_free_rate,
        dividend_yield_of(previous.carry, config), previous.iv_from_mid, context.is_call,
    )  # fmt: skip
    coefficient = samples.fitted.hull_white.coefficient(np.nan_to_num(context.call_delta))
    sqrt_tau = np.sqrt(np.maximum(previous.tau, MIN_TAU))
    minimum_variance = greeks.delta + context.vega * coefficient / (
        context.previous_spot * sqrt_tau
    )
    return greeks.delta, minimum_variance


def hedge_pairs(
    samples: OptionSamples,
    index: np.ndarray,
    price_at: Callable[[np.ndarray], dict[str, np.ndarray]],
) -> HedgePairs:
    """The hedge pairs of the samples ``index``; ``price_at(spot)`` gives each model's
    price of those samples at the underlying prices ``spot`` (``gru``, ``leverage_bs``,
    ``hull_white_bs``)."""
    context = samples.context.take(index)
    rows = samples.rows.iloc[index]
    spot = context.previous_spot
    up, down = price_at(spot * (1.0 + BUMP)), price_at(spot * (1.0 - BUMP))
    deltas = {name: (up[name] - down[name]) / (2.0 * BUMP * spot) for name in up}
    bs_delta, deltas["hull_white_mv"] = reference_deltas(samples, index)
    return HedgePairs(
        change_value=rows["mid"].to_numpy() - context.previous.mid,
        change_spot=rows["underlying"].to_numpy() - spot,
        is_call=context.is_call,
        bs_delta=bs_delta,
        deltas={name: deltas[name] for name in HEDGE_DELTAS},
    )


def _gains(pairs: HedgePairs, where: np.ndarray) -> dict[str, float | None]:
    def sse(delta: np.ndarray) -> float:
        error = pairs.change_value[where] - delta[where] * pairs.change_spot[where]
        return float(np.dot(error, error))

    reference = sse(pairs.bs_delta)
    return {
        name: (1.0 - sse(delta) / reference) if reference > 0 else None
        for name, delta in pairs.deltas.items()
    }


def hedging_gains(pairs: HedgePairs) -> dict:
    """``gain_vs_bs_delta`` (per delta, over every pair) and ``by_bucket`` (per call/put
    and :math:`|\\delta_{BS}|` bucket: its pairs and each delta's gain), JSON-ready."""
    everywhere = np.ones(len(pairs.change_value), dtype=bool)
    size = np.abs(pairs.bs_delta)
    buckets = []
    for kind, calls in (("call", pairs.is_call), ("put", ~pairs.is_call)):
        for low, high in DELTA_BUCKETS:
            inside = calls & (size >= low) & ((size < high) | (high == 1.0) & (size <= high))
            if inside.any():
                buckets.append(
                    {"type": kind, "abs_delta": [low, high], "pairs": int(inside.sum()),
                     "gain_vs_bs_delta": _gains(pairs, inside)}
                )  # fmt: skip
    return {
        "pairs": int(len(pairs.change_value)),
        "reference": "bs",
        "deltas": list(HEDGE_DELTAS),
        "gain_vs_bs_delta": _gains(pairs, everywhere),
        "by_bucket": buckets,
    }
