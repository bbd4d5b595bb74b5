"""Run config of the volatility assets: the market file, the macro release lags,
the model selection and the walk-forward (docs/architecture.md §5)."""

from typing import Literal

import dagster as dg
from pydantic import Field

from optvol.core.common.paths import MARKET_INPUT_FILE
from optvol.core.volatility.adaptive import AdaptiveConfig
from optvol.core.volatility.artifact import SelectionConfig
from optvol.core.volatility.market import DEFAULT_RELEASE_LAG_MONTHS
from optvol.core.volatility.walk_forward import WalkForwardConfig
from optvol.defs.shared.config import config_of


class MarketIngestConfig(dg.Config):
    """Where the market history file is read from, and what an implausible value does."""

    input_file: str | None = Field(
        default=None, description=f"Market CSV; <data root>/{MARKET_INPUT_FILE} if unset."
    )
    implausible_values: Literal["warn", "fail"] = Field(
        default="warn",
        description="A one-day index move beyond 0.25 in log terms or a VIX close outside "
        "[5, 200]: 'warn' stores the table and the values check warns; 'fail' refuses the "
        "file, naming the first date, and the stored table stays as it was.",
    )


class MarketCleaningConfig(dg.Config):
    """Release lags of the macro series (docs/architecture.md §3)."""

    release_lag_months: int = Field(
        default=DEFAULT_RELEASE_LAG_MONTHS,
        ge=0,
        description="Months from the end of the period a low-frequency macro value "
        "describes to its first use (its publication lag).",
    )
    release_lag_overrides: dict[str, int] = Field(
        default_factory=dict,
        description="Per-series publication lag in months, e.g. {'core_cpi': 1}.",
    )


# What each setting of the volatility model does, for the launchpad and the docs; the
# fields, types and defaults are those of the core dataclasses.
SETTING_DESCRIPTIONS = {
    "min_train_rows": "Rows a model needs before its first fit (about two years); the "
    "hyperparameters are chosen on the first this many usable rows.",
    "validation_folds": "Expanding validation folds the hyperparameters are chosen on.",
    "walk_forward_start": "First forecast date of the walk-forward (YYYY-MM-DD); by default "
    "the first month in which a model has min_train_rows rows with known targets.",
    "refit_every_months": "Months between two refits of the walk-forward.",
    "weight_half_life_days": "Half-life, in trading days, of the discount on past "
    "out-of-sample losses that set the combination's weights at each refit.",
    "min_history_days": "Out-of-sample days a model needs before its losses set its weight; "
    "until then the first window's choice and weights hold.",
    "choice_window_days": "Trading days of past out-of-sample losses a member must beat the "
    "combination over to be chosen instead.",
    "choice_p_value": "Diebold-Mariano p-value below which a member's lower loss over "
    "choice_window_days makes it the choice.",
}

VolatilityModelConfig = config_of(
    "VolatilityModelConfig",
    SelectionConfig,
    WalkForwardConfig,
    AdaptiveConfig,
    doc="How the volatility and return models are chosen and walked forward "
    "(docs/architecture.md §5).",
    module=__name__,
    descriptions=SETTING_DESCRIPTIONS,
    # The run-config names users have always written.
    names={"start": "walk_forward_start", "half_life_days": "weight_half_life_days"},
    bounds={"min_train_rows": {"ge": 84}, "validation_folds": {"ge": 2, "le": 20}},
)
