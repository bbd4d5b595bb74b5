"""Which baseline the network corrects: the one with the lowest out-of-sample RMSE.

The candidates (``ANCHOR_CANDIDATES``) are the practitioner's model and the two that move
its vol with the return into ``t`` (``leverage_bs``, ``hull_white_bs``), their parameters
fitted on training days. The return-aware one with the lower RMSE is the anchor unless
the practitioner's is lower by at least :data:`MIN_IMPROVEMENT` *and* significantly so
over at least :data:`MIN_SWITCH_DAYS` days (a Diebold-Mariano test of the daily sums of
squared errors with the small-sample correction of Harvey, Leybourne and Newbold, at
:data:`SWITCH_P_VALUE`): that implied vols move against the return is the
best-documented regularity of index options (Hull and White 2017, and every chain here),
so a handful of quiet validation days, in which the fitted move looks like noise, does
not overturn it -- the first refit of a walk-forward, validated on a calm week and tested
on a crash, would otherwise price the crash without it. A chain where the return says
little about the next vol over many days falls back to the practitioner's vol.

The choice is made on prices no candidate was fitted to: the validation days of a single
split, or, in a walk-forward, every earlier day each candidate priced out of sample
(:func:`optvol.core.options.walk_forward.anchor_from_past`). A validation block of ten
days of a near-the-money chain holds a few dozen rows that share ten moves, too few to
tell candidates 10% apart; the walk-forward's past grows with every refit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from optvol.core.common.forecast_tests import diebold_mariano, newey_west_lags
from optvol.core.options.samples import ANCHOR_CANDIDATES, PRACTITIONER, OptionSamples

__all__ = [
    "AnchorChoice",
    "SWITCH_P_VALUE",
    "choose_anchor",
    "lowest_rmse",
    "significantly_better",
    "with_anchor",
]

# The practitioner's vol replaces the return-aware anchor only at this significance, over
# at least this many days (a test on a week of days says little about the next month).
SWITCH_P_VALUE = 0.10
MIN_SWITCH_DAYS = 20
# ... and only for an RMSE at least this much lower: a consistent but negligible edge is not
# worth leaving the prior for.
MIN_IMPROVEMENT = 0.01
RETURN_AWARE = tuple(name for name in ANCHOR_CANDIDATES if name != PRACTITIONER)


@dataclass(frozen=True)
class AnchorChoice:
    """The chosen ``anchor``, each candidate's RMSE in dollars on the rows it was chosen
    on, and how many rows and days those were (``on``: what they were)."""

    anchor: str
    rmse: dict[str, float]
    rows: int
    days: int
    on: str

    def to_dict(self) -> dict:
        return {"anchor": self.anchor, "rmse": self.rmse, "rows": self.rows,
                "days": self.days, "on": self.on}  # fmt: skip


def lowest_rmse(
    mid: np.ndarray, prices: dict[str, np.ndarray], dates: np.ndarray, on: str
) -> AnchorChoice:
    """The anchor by the rule of the module: the return-aware candidate with the lower
    RMSE against ``mid``, or the practitioner's where it is significantly lower over
    enough days."""
    rmse = {name: float(np.sqrt(np.mean((prices[name] - mid) ** 2))) for name in ANCHOR_CANDIDATES}
    moving = min(RETURN_AWARE, key=rmse.__getitem__)
    chosen = moving
    if rmse[PRACTITIONER] < rmse[moving] and significantly_better(
        prices[PRACTITIONER], prices[moving], mid, dates
    ):
        chosen = PRACTITIONER
    return AnchorChoice(chosen, rmse, int(len(mid)), int(len(np.unique(dates))), on)


def significantly_better(
    challenger: np.ndarray, incumbent: np.ndarray, mid: np.ndarray, dates: np.ndarray
) -> bool:
    """Whether the prices ``challenger`` are nearer ``mid`` than ``incumbent`` with
    evidence: over at least :data:`MIN_SWITCH_DAYS` dates, an RMSE lower by at least
    :data:`MIN_IMPROVEMENT` and a Diebold-Mariano test of the daily sums of squared errors
    (Harvey-Leybourne-Newbold small-sample form) that rejects equal loss at
    :data:`SWITCH_P_VALUE` in the challenger's favour."""
    code, _ = pd.factorize(dates, sort=True)
    days = np.bincount(code).astype(float)
    squared = {"challenger": (challenger - mid) ** 2, "incumbent": (incumbent - mid) ** 2}
    ratio = np.sqrt(squared["challenger"].mean() / max(squared["incumbent"].mean(), 1e-300))
    if len(days) < MIN_SWITCH_DAYS or ratio > 1.0 - MIN_IMPROVEMENT:
        return False

    def daily(name: str) -> np.ndarray:  # a day's summed squared errors: the RMSE's weights
        return np.bincount(code, weights=squared[name], minlength=len(days))

    test = diebold_mariano(
        daily("challenger"), daily("incumbent"), newey_west_lags(len(days)), small_sample=True
    )
    return bool(test["statistic"] < 0 and test["p_value"] < SWITCH_P_VALUE)


def choose_anchor(samples: OptionSamples) -> AnchorChoice:
    """The anchor chosen on the validation samples (:func:`lowest_rmse`)."""
    validation = samples.indices("validation")
    rows = samples.rows.iloc[validation]
    prices = {name: rows[name].to_numpy() for name in ANCHOR_CANDIDATES}
    return lowest_rmse(rows["mid"].to_numpy(), prices, rows["quote_date"].to_numpy(),
                       "validation days")  # fmt: skip


def with_anchor(samples: OptionSamples, anchor: str) -> OptionSamples:
    """``samples`` with the network correcting ``anchor``'s vol."""
    if anchor not in ANCHOR_CANDIDATES:
        raise ValueError(f"anchor must be one of {ANCHOR_CANDIDATES}, got {anchor!r}")
    return replace(samples, anchor=anchor)
