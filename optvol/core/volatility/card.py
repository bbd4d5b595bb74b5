"""``models/volatility_model.json``, the volatility model's card, as a typed file at format
:attr:`VolatilityCard.FORMAT`.

:func:`~optvol.core.volatility.artifact.train_volatility_model` builds it; the saved
model's loader reads it (and refuses a malformed one before the joblib file is unpickled),
and the evaluation, the predictor, the API and the asset's metadata read its fields. The
specs and the walk-forward and adaptive settings are the core dataclasses themselves,
validated by their own checks. Kept as documented mappings: each hyperparameter search's
folds and the adaptive rule's latest decision, which the evaluation copies as they are.
"""

from __future__ import annotations

from typing import Any

from optvol.core.common.model_files import ModelCard
from optvol.core.common.versioned_json import Real, Section, exactly
from optvol.core.volatility.adaptive import AdaptiveConfig
from optvol.core.volatility.models import ModelSpec
from optvol.core.volatility.walk_forward import WalkForwardConfig

Number = Real | None


class Selection(Section):
    """One regression's hyperparameter search on validation folds (MSE)."""

    family: str
    chosen: str
    validation_mse: dict[str, Number]
    folds: list[dict[str, Any]]


class Fold(Section):
    train_rows: int
    validation_start: str
    validation_end: str
    validation_rows: int


class Candidates(Section):
    """The first window's choice among the volatility candidates, on validation QLIKE."""

    chosen: str
    validation_qlike: dict[str, Number]
    lowest_validation_qlike: str
    p_value_vs_lowest: dict[str, Number]
    rule: str
    combination_weights: dict[str, Real]
    folds: list[Fold]


class ReturnRestriction(Section):
    """The return forecast's shrinkage toward the historical mean, chosen on validation."""

    shrinkage: Real
    floor: Real
    validation_mse: dict[str, Number]
    validation_r2_vs_historical_mean: dict[str, Number]
    validation_rows: int


class FittedRecord(Section):
    """One fitted model: a regression, or a combination of ``members``."""

    name: str
    hyperparameters: Any  # a setting's name, or a combination's weights
    training_rows: int
    training_window: list[str]
    in_sample_r2: Number
    smearing: dict[str, Real] | None = None  # a regression's log-to-level correction
    members: dict[str, FittedRecord] | None = None  # a combination's


class DataSpan(Section):
    rows: int
    first_date: str
    last_date: str


class Combination(Section):
    weights: dict[str, Real]  # served: the last refit's
    prior_weights: dict[str, Real]  # the first window's, on validation
    rule: str


class Timing(Section):
    seconds: Real
    seconds_by_model: dict[str, Real]


class AdaptiveRecord(Section):
    config: exactly(AdaptiveConfig)
    latest: dict[str, Any]
    walk_forward: exactly(WalkForwardConfig)
    timing: Timing


class VolatilityCard(ModelCard):
    """The volatility model's card (``models/volatility_model.json``)."""

    # 2: the candidates' validation, the combination and the return restriction.
    # 3: the walk-forward travels with the model; the choice and weights served are the
    #    adaptive ones of its last refit.
    FORMAT = 3
    MADE_BY = "volatility_model"

    targets: list[str]
    horizon_days: int
    macro_columns: list[str]
    feature_columns: list[str]
    specs: dict[str, exactly(ModelSpec)]
    hyperparameters: dict[str, str]
    selection: dict[str, Selection]
    candidates: Candidates
    return_restriction: ReturnRestriction
    selection_config: dict[str, int]
    models: dict[str, FittedRecord]  # by role: "volatility" (served), "har", "return"
    data: DataSpan
    data_fingerprint: str
    versions: dict[str, str]
    chosen_volatility_model: str
    combination: Combination
    adaptive: AdaptiveRecord
