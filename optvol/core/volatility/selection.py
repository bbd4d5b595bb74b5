"""Choosing the volatility model and the return forecast's restriction on validation
folds inside the first training window, so that nothing the walk-forward later scores
shapes a choice.

Volatility: every candidate (the regressions with their chosen hyperparameters, HAR-X,
HARQ-X, and a combination of them with VIX) forecasts the validation blocks of the window
after a fit on the rows it could have used then, as the walk-forward will fit it, and is
scored by QLIKE of variance, the loss the evaluation ranks by. The combination's own loss
is cross-validated (weights chosen on the other blocks), so it does not win by having seen
the block it is scored on. The chosen candidate is the most parsimonious one whose
validation loss is not significantly above the lowest (Diebold-Mariano p >=
:data:`PARSIMONY_P_VALUE`, lags for the overlapping 21-day targets): the one-standard-error
rule of Breiman et al. (1984), in the spirit of the model confidence set (Hansen, Lunde &
Nason 2011). A first window holds a year or two of validation days whose 21-day targets
overlap, so the loss ranking alone is noise-prone, and the richest model wins it by
chance as often as by skill.

Returns: the ridge forecast is restricted as Campbell & Thompson (2008, RFS 21(4))
propose: shrunk toward the historical mean, ``f = m + lambda (r - m)``, and floored at
zero, since a forecast of a negative 21-day index return contradicts the equity premium.
``lambda`` is chosen on the folds from :data:`SHRINKAGE_GRID`; ``lambda = 0`` is the
historical mean itself.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optvol.core.volatility.combination import VIX_MEMBER, best_weights, vix_member
from optvol.core.volatility.features import HORIZON, TARGET_RETURN, TARGET_RV
from optvol.core.volatility.metrics import diebold_mariano, qlike_losses
from optvol.core.volatility.models import ModelSpec, fit_model, validation_folds

log = logging.getLogger(__name__)

COMBINATION = "combination"
# Members of the combination, where the data have them.
COMBINATION_MEMBERS = ("har_x", "harq", "ridge", VIX_MEMBER)
RETURN_FAMILY = "return_ridge"
RESTRICTED_RETURN = "return_restricted"
SHRINKAGE_GRID = (0.0, 0.1, 0.25, 0.5, 1.0)
# Candidates from the fewest fitted parameters up; ties in validation go to the first.
PARSIMONY_ORDER = ("har_x", "harq", COMBINATION, "ridge", "gbm")
PARSIMONY_P_VALUE = 0.10
RETURN_FLOOR = 0.0


@dataclass
class CandidateChoice:
    """The validation of the volatility candidates on common blocks."""

    chosen: str
    qlike: dict[str, float]
    weights: dict[str, float]
    folds: list[dict] = field(default_factory=list)
    lowest: str = ""
    p_values: dict[str, float | None] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"chosen": self.chosen, "validation_qlike": self.qlike,
                "lowest_validation_qlike": self.lowest,
                "p_value_vs_lowest": self.p_values, "rule": PARSIMONY_RULE,
                "combination_weights": self.weights, "folds": self.folds}  # fmt: skip


PARSIMONY_RULE = (
    f"the first of {list(PARSIMONY_ORDER)} whose validation QLIKE is not significantly above "
    f"the lowest (Diebold-Mariano p >= {PARSIMONY_P_VALUE})"
)


def restricted_return(raw: np.ndarray, historical_mean: np.ndarray, shrinkage: float) -> np.ndarray:
    """``max(RETURN_FLOOR, m + shrinkage (raw - m))`` row by row."""
    return np.maximum(RETURN_FLOOR, historical_mean + shrinkage * (raw - historical_mean))


def _fold_description(train_rows: int, block: np.ndarray, dates: pd.Series) -> dict:
    return {"train_rows": int(train_rows), "validation_rows": int(len(block)),
            "validation_start": f"{dates.iloc[block[0]]:%Y-%m-%d}",
            "validation_end": f"{dates.iloc[block[-1]]:%Y-%m-%d}"}  # fmt: skip


def choose_volatility_model(
    specs: dict[str, ModelSpec],
    estimators: dict,
    design: pd.DataFrame,
    features: pd.DataFrame,
    usable: dict[str, np.ndarray],
    candidates: tuple[str, ...],
    min_rows: int,
    n_folds: int,
) -> CandidateChoice:
    """The candidate (of ``candidates``, or the combination) chosen by the parsimony rule
    (:func:`_most_parsimonious`) on its validation QLIKE over expanding folds of the first
    ``min_rows`` rows on which every candidate can forecast."""
    candidates = tuple(c for c in candidates if c in specs)
    window = functools.reduce(np.intersect1d, [usable[c] for c in candidates])
    window = window[:min_rows]
    has_vix = bool(len(window)) and bool(design["log_vix"].iloc[window].notna().all())
    members = tuple(m for m in COMBINATION_MEMBERS if m in specs or (m == VIX_MEMBER and has_vix))
    folds = validation_folds(window, n_folds)
    if not folds:
        raise ValueError(f"too few common rows ({len(window)}) to compare the candidates")
    target = features[TARGET_RV]
    blocks = np.concatenate([block for _, block in folds])
    forecasts: dict[str, np.ndarray] = {}
    for name in dict.fromkeys((*candidates, *(m for m in members if m != VIX_MEMBER))):
        spec, pieces = specs[name], []
        for _, block in folds:
            train = usable[name][usable[name] < block[0] - HORIZON]
            model = fit_model(spec, estimators[name], design, target, train)
            pieces.append(model.predict(design.iloc[block])["var"].to_numpy())
        forecasts[name] = np.concatenate(pieces)
    if has_vix:
        forecasts[VIX_MEMBER] = vix_member(design.iloc[blocks])["var"].to_numpy()
    realized = target.to_numpy()[blocks] ** 2
    losses = {name: qlike_losses(realized, forecasts[name]) for name in candidates}
    member_vars = np.column_stack([forecasts[m] for m in members])
    weights, _ = best_weights(realized, member_vars)
    losses[COMBINATION] = _cross_validated_losses(realized, member_vars, folds)
    qlike = {name: float(np.mean(loss)) for name, loss in losses.items()}
    chosen, lowest, p_values = _most_parsimonious(losses)
    described = [_fold_description(len(train), block, features["date"]) for train, block in folds]
    weight_of = {m: round(float(w), 4) for m, w in zip(members, weights, strict=True)}
    log.info("Volatility candidates' validation QLIKE %s (lowest: %s; Diebold-Mariano p "
             "against it %s); combination weights %s; chosen %s",
             {k: round(v, 4) for k, v in qlike.items()}, lowest, p_values, weight_of,
             chosen)  # fmt: skip
    return CandidateChoice(chosen, qlike, weight_of, described, lowest, p_values)


def _most_parsimonious(
    losses: dict[str, np.ndarray],
) -> tuple[str, str, dict[str, float | None]]:
    """``(chosen, lowest, p-values)``: the first candidate of :data:`PARSIMONY_ORDER`
    whose mean loss is not significantly above the lowest one's, by a Diebold-Mariano
    test on the validation rows."""
    lowest = min(losses, key=lambda name: float(np.mean(losses[name])))
    p_values: dict[str, float | None] = {}
    for name in losses:
        if name != lowest:
            p = diebold_mariano(losses[name], losses[lowest], lags=HORIZON - 1)["p_value"]
            p_values[name] = None if np.isnan(p) else round(float(p), 4)
    order = [n for n in PARSIMONY_ORDER if n in losses] + [
        n for n in losses if n not in PARSIMONY_ORDER
    ]
    for name in order:
        p = p_values.get(name)
        if name == lowest or (p is not None and p >= PARSIMONY_P_VALUE):
            return name, lowest, p_values
    return lowest, lowest, p_values


def _cross_validated_losses(
    realized: np.ndarray, member_vars: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """The combination's QLIKE loss of every validation row, with weights chosen on the
    blocks other than the row's own."""
    sizes = [len(block) for _, block in folds]
    edges = np.cumsum([0, *sizes])
    losses = []
    for k in range(len(folds)):
        held = np.zeros(len(realized), dtype=bool)
        held[edges[k] : edges[k + 1]] = True
        if len(folds) > 1:
            weights, _ = best_weights(realized[~held], member_vars[~held])
        else:
            weights, _ = best_weights(realized, member_vars)
        losses.append(qlike_losses(realized[held], member_vars[held] @ weights))
    return np.concatenate(losses)


def choose_return_shrinkage(
    spec: ModelSpec,
    estimator,
    design: pd.DataFrame,
    features: pd.DataFrame,
    rows: np.ndarray,
    historical_mean: np.ndarray,
    n_folds: int,
) -> dict:
    """The shrinkage of :data:`SHRINKAGE_GRID` whose restricted forecast has the lowest
    validation MSE over expanding folds of ``rows`` (the return model's first window),
    with the MSE and the R^2 against the historical mean of every candidate."""
    folds = validation_folds(rows, n_folds)
    if not folds:
        raise ValueError(f"{spec.name}: too few rows ({len(rows)}) for {n_folds} folds")
    target = features[TARGET_RETURN]
    raw, mean, actual = [], [], []
    for train, block in folds:
        model = fit_model(spec, estimator, design, target, train)
        raw.append(model.predict(design.iloc[block])["return"].to_numpy())
        mean.append(historical_mean[block])
        actual.append(target.to_numpy()[block])
    raw, mean, actual = map(np.concatenate, (raw, mean, actual))
    ok = np.isfinite(raw) & np.isfinite(mean) & np.isfinite(actual)
    raw, mean, actual = raw[ok], mean[ok], actual[ok]
    mse = {}
    for shrinkage in SHRINKAGE_GRID:
        forecast = restricted_return(raw, mean, shrinkage)
        mse[f"{shrinkage:g}"] = float(np.mean((actual - forecast) ** 2))
    chosen = min(SHRINKAGE_GRID, key=lambda s: mse[f"{s:g}"])
    benchmark = float(np.sum((actual - mean) ** 2))
    r2 = {key: 1.0 - value * len(actual) / benchmark for key, value in mse.items()}
    log.info("Return forecast: validation R^2 vs the historical mean by shrinkage %s; chosen %g",
             {k: round(v, 4) for k, v in r2.items()}, chosen)  # fmt: skip
    return {
        "shrinkage": chosen,
        "floor": RETURN_FLOOR,
        "validation_mse": mse,
        "validation_r2_vs_historical_mean": r2,
        "validation_rows": int(len(actual)),
    }
