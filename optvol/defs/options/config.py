"""Run config of the option assets: where chains are read from and how long-format
files map, and the samples, split and hyperparameters of the GRU (DESIGN section 4)."""

import dagster as dg
from pydantic import Field, model_validator

from optvol.core.common.paths import OPTIONS_INPUT_DIR
from optvol.core.options.gru.training import TrainingConfig
from optvol.core.options.ingest.long_format import PRESETS, LongFormatSpec, settings_spec
from optvol.core.options.samples import SampleConfig

_SAMPLE_DEFAULTS = SampleConfig()


_TRAINING_DEFAULTS = TrainingConfig()


class LongFormatConfig(dg.Config):
    """How to read long-format files (one row per option side); see README "Your own data"."""

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


class GruModelConfig(dg.Config):
    """Samples, split and hyperparameters of the option GRU (DESIGN §4)."""

    sequence_length: int = Field(
        default=_SAMPLE_DEFAULTS.sequence_length,
        description="L: trading days of history in each sample's sequence.",
    )
    risk_free_rate: float = Field(
        default=_SAMPLE_DEFAULTS.risk_free_rate,
        description="Continuously compounded rate used by every Black-Scholes price and IV.",
    )
    dividend_yield: float = Field(
        default=_SAMPLE_DEFAULTS.dividend_yield,
        description="Continuous dividend yield of the underlying.",
    )
    historical_vol_days: int = Field(
        default=_SAMPLE_DEFAULTS.historical_vol_days,
        description="Returns in the historical-vol Black-Scholes baseline.",
    )
    forward: str = Field(
        default=_SAMPLE_DEFAULTS.forward,
        description="'parity': price each expiry at its put-call-parity forward where the "
        "quotes give one (else at risk_free_rate - dividend_yield); 'fixed': at that carry "
        "everywhere.",
    )
    train_fraction: float = Field(
        default=_SAMPLE_DEFAULTS.train_fraction, description="Share of sample dates to train on."
    )
    validation_fraction: float = Field(
        default=_SAMPLE_DEFAULTS.validation_fraction,
        description="Share of sample dates for validation (early stopping); the rest test.",
    )
    train_end: str | None = Field(
        default=None, description="Last training date (ISO), instead of the fractions."
    )
    validation_end: str | None = Field(
        default=None, description="Last validation date (ISO); give it with train_end."
    )
    hidden_size: int = Field(default=_TRAINING_DEFAULTS.hidden_size, description="GRU units.")
    num_layers: int = Field(default=_TRAINING_DEFAULTS.num_layers, description="GRU layers.")
    head_size: int = Field(default=_TRAINING_DEFAULTS.head_size, description="MLP head width.")
    dropout: float = Field(default=_TRAINING_DEFAULTS.dropout, description="Dropout rate.")
    learning_rate: float = Field(
        default=_TRAINING_DEFAULTS.learning_rate, description="AdamW learning rate."
    )
    weight_decay: float = Field(
        default=_TRAINING_DEFAULTS.weight_decay, description="AdamW weight decay."
    )
    batch_size: int = Field(default=_TRAINING_DEFAULTS.batch_size, description="Samples/batch.")
    max_grad_norm: float = Field(
        default=_TRAINING_DEFAULTS.max_grad_norm, description="Gradient-norm clipping."
    )
    epochs: int = Field(default=_TRAINING_DEFAULTS.epochs, description="Most epochs to train.")
    patience: int = Field(
        default=_TRAINING_DEFAULTS.patience,
        description="Epochs without a better validation loss before stopping early.",
    )
    seed: int = Field(default=_TRAINING_DEFAULTS.seed, description="Seed of weights and order.")
    device: str = Field(
        default=_TRAINING_DEFAULTS.device,
        description="'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'.",
    )

    @model_validator(mode="after")
    def _check(self) -> "GruModelConfig":
        self.sample_config()  # bad settings are refused when the run is launched
        self.training_config()
        return self

    def sample_config(self) -> SampleConfig:
        return SampleConfig(**{k: getattr(self, k) for k in SampleConfig.__dataclass_fields__})

    def training_config(self) -> TrainingConfig:
        return TrainingConfig(**{k: getattr(self, k) for k in TrainingConfig.__dataclass_fields__})
