"""Run config of the option assets: where chains are read from and how long-format
files map, and the samples, split and hyperparameters of the GRU (docs/architecture.md §4)."""

import dagster as dg
from pydantic import Field, model_validator

from optvol.core.common.paths import OPTIONS_INPUT_DIR
from optvol.core.options.gru.config import TrainingConfig
from optvol.core.options.ingest.long_format import PRESETS, LongFormatSpec, settings_spec
from optvol.core.options.samples import SampleConfig
from optvol.defs.shared.config import DataclassConfig, config_of


class LongFormatConfig(dg.Config):
    """How to read long-format files (one row per option side); see docs/your-data.md."""

    preset: str | None = Field(
        default=None, description=f"Start from a named mapping: {sorted(PRESETS)}."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Raw field -> vendor column, e.g. {'underlying_last': 'UnderlyingPrice'}.",
    )
    date_format: str | None = Field(default=None, description="strptime pattern; ISO if unset.")
    call_values: list[str] | None = Field(default=None, description="Spellings of a call.")
    put_values: list[str] | None = Field(default=None, description="Spellings of a put.")
    delimiter: str | None = Field(default=None, description="Field separator; ',' if unset.")
    strike_divisor: float | None = Field(default=None, description="e.g. 1000 for OPRA strikes.")
    roots: list[str] | None = Field(
        default=None,
        description="Option classes to keep, by root (e.g. ['SPXW']); needs columns.root.",
    )

    @model_validator(mode="after")
    def _check_mapping(self) -> "LongFormatConfig":
        self.to_spec()  # a bad mapping is refused when the run is launched, not mid-run
        return self

    def to_spec(self) -> LongFormatSpec:
        """The reader's mapping: the preset (or the defaults) with these settings on top,
        read as ``optvol ... --long-format-config`` reads the same settings."""
        return settings_spec(self.model_dump())


class OptionIngestConfig(dg.Config):
    """Where option chains are read from and how long-format files are mapped."""

    input_dir: str | None = Field(
        default=None,
        description=f"Directory of chain files; <data root>/{OPTIONS_INPUT_DIR} if unset.",
    )
    long_format: LongFormatConfig | None = Field(
        default=None, description="Column mapping for long-format files; optionsDX needs none."
    )


# What each setting of the option model does, for the launchpad and the docs. The fields,
# their types and defaults are those of the core dataclasses, not typed again here; a
# field without a description here still appears, named after its dataclass.
SETTING_DESCRIPTIONS = {
    "sequence_length": "L: trading days of history in each sample's sequence.",
    "risk_free_rate": "Continuously compounded rate used by every Black-Scholes price and IV.",
    "dividend_yield": "Continuous dividend yield of the underlying (where an expiry has no "
    "parity forward, the carry is risk_free_rate - dividend_yield).",
    "historical_vol_days": "Returns in the historical-vol Black-Scholes baseline.",
    "train_fraction": "evaluation='split': share of sample dates to train on.",
    "validation_fraction": "evaluation='split': share of sample dates for validation; the "
    "rest test.",
    "train_end": "evaluation='split': last training date (ISO), instead of the fractions.",
    "validation_end": "evaluation='split': last validation date (ISO); give it with train_end.",
    "forward": "'parity': price each expiry at its put-call-parity forward where the quotes "
    "give one; 'fixed': at risk_free_rate - dividend_yield everywhere.",
    "evaluation": "'walk_forward': judge the model on every date after the first training "
    "window, refitting as the window grows; 'split': on one chronological split (quick runs).",
    "refit_every_days": "Walk-forward: test dates between refits (0: about 12 refits, at "
    "least 5 dates apart).",
    "min_train_days": "Walk-forward: sample dates of the first training window.",
    "validation_days": "Validation dates at the end of each training window (0: a fifth of the "
    "window, 5 to 63).",
    "hidden_size": "GRU units.",
    "num_layers": "GRU layers.",
    "head_size": "Width of the head giving the level of the vol correction.",
    "slope_size": "Width of the network giving the coefficients of the return.",
    "dropout": "Dropout rate.",
    "learning_rate": "AdamW learning rate.",
    "weight_decay": "AdamW weight decay.",
    "batch_size": "Samples per batch.",
    "epochs": "Most epochs to train.",
    "patience": "Epochs without a better validation loss before stopping early.",
    "max_grad_norm": "Gradient-norm clipping.",
    "samples_per_day": "Training samples drawn from each day per epoch (0: all).",
    "equal_day_weights": "Weigh every training day the same in the loss.",
    "hedge_weight": "Weight of the one-day hedging error with the model's own delta in the "
    "loss, beside the price error (0: prices only).",
    "seed": "Seed of the weights and the order of the samples.",
    "device": "'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'.",
}


class _GruModelSettings(DataclassConfig):
    """The option model's run config: the fields of :class:`SampleConfig` and
    :class:`TrainingConfig` (:func:`~optvol.defs.shared.config.config_of`)."""

    def sample_config(self) -> SampleConfig:
        return self.build(SampleConfig)

    def training_config(self) -> TrainingConfig:
        return self.build(TrainingConfig)


GruModelConfig = config_of(
    "GruModelConfig",
    SampleConfig,
    TrainingConfig,
    base=_GruModelSettings,
    doc="Samples, evaluation and hyperparameters of the option GRU (docs/architecture.md §4).",
    module=__name__,
    descriptions=SETTING_DESCRIPTIONS,
)
