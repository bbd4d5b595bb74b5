"""A forecast combination of volatility models.

The combined variance forecast is the convex combination of its members' variance
forecasts, ``var_t = sum_i w_i var_{i,t}`` with ``w_i >= 0`` and ``sum_i w_i = 1``
(rescaled over the members with a forecast on the day), and the volatility forecast the
same combination of theirs. In the walk-forward the weights are set at each refit from
past out-of-sample losses (:mod:`optvol.core.volatility.adaptive`). Before a year of such
losses exists, the prior holds: weights that minimise the mean QLIKE loss (Patton 2011)
of the combined variance over the first window's validation blocks, searched on a grid
of step ``WEIGHT_STEP`` over the simplex: few members and few blocks make a grid both
exact enough and free of optimiser failures. Combinations of this kind are what
Timmermann (2006, "Forecast combinations", Handbook of Economic Forecasting) finds hard
to beat, and a convex one cannot forecast below its lowest member or above its highest.

VIX enters as a member of its own (``vol = VIX / 100``): the risk-neutral forecast is
upward biased by the variance risk premium, which QLIKE punishes less than a forecast
that is too low, and a weight on it lets the data say how much of it to keep.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optvol.core.volatility.metrics import qlike_losses
from optvol.core.volatility.models import FittedModel

WEIGHT_STEP = 0.05
VIX_MEMBER = "vix"


def simplex_grid(members: int, step: float = WEIGHT_STEP) -> np.ndarray:
    """Every weight vector of ``members`` non-negative multiples of ``step`` summing to 1,
    one per row."""
    units = int(round(1.0 / step))
    rows = [
        np.diff([0, *cuts, units]) for cuts in itertools.combinations_with_replacement(
            range(units + 1), members - 1
        )
    ]  # fmt: skip
    return np.asarray(rows, dtype=float) / units


def best_weights(realized_var: np.ndarray, member_vars: np.ndarray) -> tuple[np.ndarray, float]:
    """The grid weights (one per column of ``member_vars``, rows are forecast dates) whose
    combined variance has the lowest mean QLIKE against ``realized_var``, and that loss.
    Rows where a member or the realized value is missing are left out."""
    ok = np.isfinite(realized_var) & (realized_var > 0)
    ok &= np.all(np.isfinite(member_vars) & (member_vars > 0), axis=1)
    if not ok.any():
        raise ValueError("no validation row has every member's forecast")
    grid = simplex_grid(member_vars.shape[1])
    combined = member_vars[ok] @ grid.T  # (rows, candidates)
    losses = qlike_losses(realized_var[ok][:, None], combined).mean(axis=0)
    best = int(np.argmin(losses))
    return grid[best], float(losses[best])


def vix_member(design: pd.DataFrame) -> pd.DataFrame:
    """VIX as a member: ``vol = VIX / 100`` from the design's ``log_vix``."""
    vol = np.exp(design["log_vix"])
    return pd.DataFrame({"vol": vol, "var": vol**2}, index=design.index)


def combine_available(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise ``sum_i w_i x_i / sum_i w_i`` over the members present on the row (columns
    of ``values``); NaN where no member with a weight is. A member without a forecast on a
    day (no VIX yet, a missing input) leaves the others' weights rescaled."""
    present = np.isfinite(values) & (weights > 0)
    scaled = np.where(present, weights, 0.0)
    total = scaled.sum(axis=1)
    combined = (np.where(present, values, 0.0) * scaled).sum(axis=1)
    return np.where(total > 0, combined / np.where(total > 0, total, 1.0), np.nan)


def combine(forecasts: dict[str, pd.DataFrame], weights: dict[str, float]) -> pd.DataFrame:
    """The weighted ``vol`` and ``var`` of the members' forecasts
    (:func:`combine_available`), as the walk-forward combines them."""
    names = [name for name, weight in weights.items() if weight]
    index = next(iter(forecasts.values())).index
    w = np.array([weights[name] for name in names], dtype=float)
    return pd.DataFrame(
        {
            kind: combine_available(
                np.column_stack([forecasts[name][kind].to_numpy(float) for name in names]), w
            )
            for kind in ("vol", "var")
        },
        index=index,
    )


@dataclass
class ForecastCombination:
    """Fitted members and their weights; forecasts like a :class:`FittedModel`."""

    members: dict[str, FittedModel]
    weights: dict[str, float]

    def predict(self, design: pd.DataFrame) -> pd.DataFrame:
        """``vol`` and ``var`` at each row of ``design``; missing where a member is."""
        forecasts = {name: model.predict(design) for name, model in self.members.items()}
        if VIX_MEMBER in self.weights:
            forecasts[VIX_MEMBER] = vix_member(design)
        return combine(forecasts, self.weights)

    @property
    def columns(self) -> tuple[str, ...]:
        """The design columns the combination reads."""
        names = [c for model in self.members.values() for c in model.spec.columns]
        if VIX_MEMBER in self.weights:
            names.append("log_vix")
        return tuple(dict.fromkeys(names))
