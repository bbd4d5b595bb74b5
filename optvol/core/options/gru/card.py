"""``models/gru_model.json``, the option GRU's model card, as a typed file at format
:attr:`GruCard.FORMAT`.

:meth:`~optvol.core.options.gru.artifact.TrainedGRU.from_training` builds it, the
saved model's loader reads it (and refuses a malformed one before the weights are
touched), and the evaluation, the walk-forward, the API and the asset's metadata read its
fields. The sample and training settings are the core dataclasses themselves, validated
by their own checks. Kept as documented mappings: ``history`` (one record per epoch,
which a reader tabulates whole), ``fitted_baselines`` (read by
:meth:`~optvol.core.options.samples.FittedBaselines.from_dict`, which checks it) and the
shrinkage search of ``metrics``: they are printed as they are.
"""

from __future__ import annotations

from typing import Any

from optvol.core.common.model_files import ModelCard
from optvol.core.common.versioned_json import Real, Section, exactly
from optvol.core.options.gru.config import TrainingConfig
from optvol.core.options.samples.config import SampleConfig

Number = Real | None


class Architecture(Section):
    """The network's shape: the arguments of :class:`~optvol.core.options.gru.network.OptionGRU`."""

    sequence_features: int
    static_features: int
    hidden_size: int
    num_layers: int
    dropout: Real
    head_size: int
    max_correction: Real
    shrinkage: Real = 1.0  # the share of the network's correction kept
    drivers: int
    slope_columns: list[int]
    slope_size: int


class Anchor(Section):
    """The baseline whose implied vol the network corrects, and the RMSEs it was chosen on."""

    anchor: str
    rmse: dict[str, Number]
    rows: int
    days: int
    on: str


class Carry(Section):
    shrinkage: Real
    training_rmse: dict[str, Number]


class Clock(Section):
    """The share of the business-time vol change the anchor takes
    (:mod:`optvol.core.options.gru.clock`) and the training RMSEs it was chosen on."""

    share: Real
    training_rmse: dict[str, Number]


class Standardizer(Section):
    mean: list[Real]
    std: list[Real]


class Scalers(Section):
    """The input standardizers, fitted on the training split (checked for their widths
    by :func:`~optvol.core.options.gru.artifact.check_card`)."""

    static: Standardizer
    history: Standardizer
    underlying_return: Standardizer
    price_scale: Real


class TrainingMetrics(Section):
    best_epoch: int
    epochs_run: int
    best_validation_loss: Number
    training_seconds: Real
    samples_per_second: Number
    correction_bound: Real
    shrinkage: dict[str, Any] | None  # the validated share and the search behind it


class GruCard(ModelCard):
    """The option GRU's model card (``models/gru_model.json``)."""

    # 3: the anchor chosen on validation, fitted baselines (leverage and Hull-White), inputs
    # at the parity forward, dimensionless static features.
    FORMAT = 3
    MADE_BY = "gru_model"

    model: str
    target: str
    architecture: Architecture
    training: exactly(TrainingConfig)
    samples: exactly(SampleConfig)
    features: dict[str, list[str]]
    anchor: Anchor
    carry: Carry
    clock: Clock | None = None  # absent in cards written before it: calendar time
    scalers: Scalers
    split_dates: dict[str, list[str]]
    sample_counts: dict[str, int]
    data_fingerprint: str
    history: list[dict[str, Any]]
    metrics: TrainingMetrics
    fitted_baselines: dict[str, Any]
    device: str
    versions: dict[str, str]
