"""How far to trust the trained network: the share of its correction to keep.

After training, the network's vol correction is scaled by :math:`\\lambda \\in \\{0, 0.25,
0.5, 0.75, 1\\}` and each scaled model is scored on the validation dates cut into
``VALIDATION_BLOCKS`` consecutive blocks. The kept :math:`\\lambda` is the one with the
lowest mean loss among those that are no worse than the anchor baseline
(:math:`\\lambda = 0`) in *every* block: a correction that helps on average but hurts in
one stretch of dates is not trusted, and where none helps the model is the anchor itself.
This is shrinkage toward the baseline the network starts from (the anchor's vol on the
network's clock and at its carry, :mod:`.clock`, :mod:`.carry`), with the amount chosen
out of sample (as in the forecast-combination literature, Timmermann 2006), so on dates
like the validation dates the model is never worse than its anchor.

The share so chosen is kept only if its prices beat the anchor's over the validation days
with the evidence the anchor rule asks of the practitioner's vol
(:func:`~optvol.core.options.gru.anchor.significantly_better`: at least
``MIN_SWITCH_DAYS`` days, an RMSE at least ``MIN_IMPROVEMENT`` lower, a Diebold-Mariano
test of the daily losses); otherwise :math:`\\lambda = 0`. Three blocks of a week of
days are no evidence: on a 100-day full chain the correction kept on eight validation
days of the 2020 crash onset lost to its anchor on five of the seven test days after
them, and cost the walk-forward 3.4% against ``hull_white_bs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from optvol.core.options.gru.anchor import significantly_better
from optvol.core.options.gru.network import MIN_VOL, OptionGRU, SampleTensors, to_device
from optvol.core.options.pricing.black_scholes import bs_price
from optvol.core.options.samples import OptionSamples

__all__ = ["SHRINKAGE_GRID", "ShrinkageChoice", "choose_shrinkage", "corrections"]

SHRINKAGE_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
VALIDATION_BLOCKS = 3
_EVAL_BATCH = 8192


@dataclass
class ShrinkageChoice:
    """The kept share ``shrinkage``, the ``candidate`` share the blocks chose before the
    evidence test and, per share in the grid, the validation loss of each block relative
    to the anchor's (1.0: as good as the anchor)."""

    shrinkage: float
    # The share the blocks chose, before the evidence test (equal to ``shrinkage`` unless
    # the test sent it to 0).
    candidate: float
    blocks: list[list[str]]
    relative_loss: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "shrinkage": self.shrinkage,
            "candidate": self.candidate,
            "grid": list(SHRINKAGE_GRID),
            "validation_blocks": self.blocks,
            "relative_loss_by_block": self.relative_loss,
        }


@torch.no_grad()
def corrections(model: OptionGRU, tensors: SampleTensors, index: np.ndarray) -> np.ndarray:
    """The network's unshrunk vol correction of the samples ``index`` (eval mode)."""
    model.eval()
    kept, model.shrinkage = model.shrinkage, 1.0
    try:
        index = to_device(np.asarray(index, dtype=np.int64), tensors.device)
        out = [
            model.iv_correction(*tensors.batch(index[start : start + _EVAL_BATCH])[:2])
            for start in range(0, len(index), _EVAL_BATCH)
        ]
    finally:
        model.shrinkage = kept
    return torch.cat(out).double().cpu().numpy() if out else np.zeros(0)


def choose_shrinkage(
    model: OptionGRU, tensors: SampleTensors, samples: OptionSamples
) -> ShrinkageChoice:
    """Choose the share of the correction to keep on the validation split (see the module)."""
    validation = samples.indices("validation")
    dates = samples.rows["quote_date"].to_numpy()[validation]
    unique = np.unique(dates)
    blocks = [b for b in np.array_split(unique, min(VALIDATION_BLOCKS, len(unique))) if len(b)]
    block_of = np.searchsorted(np.array([b[0] for b in blocks[1:]]), dates, "right")
    correction = corrections(model, tensors, validation)
    moneyness, tau, anchor_iv, is_call, r, q = samples.select(validation).pricing_inputs().T
    target = samples.target()[validation].astype(np.float64)

    def prices(share: float) -> np.ndarray:
        sigma = np.maximum(anchor_iv + share * correction, MIN_VOL)
        return bs_price(moneyness, 1.0, tau, r, q, sigma, is_call > 0.5)

    def block_losses(share_prices: np.ndarray) -> np.ndarray:
        error = (share_prices - target) ** 2
        return np.array([error[block_of == b].mean() for b in range(len(blocks))])

    priced = {share: prices(share) for share in SHRINKAGE_GRID}
    losses = {share: block_losses(priced[share]) for share in SHRINKAGE_GRID}
    anchor = losses[0.0]
    allowed = [share for share in SHRINKAGE_GRID if np.all(losses[share] <= anchor)]
    candidate = min(allowed, key=lambda share: float(losses[share].mean()))
    evident = candidate > 0.0 and significantly_better(
        priced[candidate], priced[0.0], target, dates
    )
    chosen = candidate if evident else 0.0
    return ShrinkageChoice(
        shrinkage=float(chosen),
        candidate=float(candidate),
        blocks=[[str(b[0])[:10], str(b[-1])[:10]] for b in blocks],
        relative_loss={
            f"{share:g}": (losses[share] / np.where(anchor > 0, anchor, 1.0)).tolist()
            for share in SHRINKAGE_GRID
        },
    )
