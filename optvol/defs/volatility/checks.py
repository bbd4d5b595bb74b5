"""The checks of the volatility assets, evaluated in each asset's step: the raw and
clean market tables (schema, null shares, values; blocking on the features, with no
look-ahead and the expected missing values), the evaluation's common dates and the
chosen model against HAR."""

import dagster as dg
import pandas as pd

from optvol.core.volatility import validation as market_rules
from optvol.core.volatility.evaluation_file import VolatilityEvaluationFile
from optvol.defs.shared.checks import (
    evaluation_check_specs,
    model_vs_baseline,
    table_check_specs,
)

MARKET_FEATURE_CHECKS = table_check_specs(
    "market_features", market_rules.MARKET_FEATURE_NULLS, market_rules.check_market_feature_values,
    blocking=True, more=(market_rules.check_no_look_ahead, market_rules.check_expected_nulls),
)  # fmt: skip
RAW_MARKET_CHECKS = table_check_specs(
    "raw_market", market_rules.RAW_MARKET_NULLS, market_rules.check_raw_market_values,
    blocking=False,
)  # fmt: skip


def same_dates_for_every_model(
    volatility_evaluation: VolatilityEvaluationFile,
) -> dg.AssetCheckResult:
    """Within each window, every model is scored on the same dates: each model's row count
    equals the number of dates on which every model of the window has a forecast."""
    series = pd.DataFrame(volatility_evaluation.series.volatility)
    problems, counts = {}, {}
    for name, window in volatility_evaluation.volatility.items():
        within = series.loc[series["date"].between(window.first_date, window.last_date)]
        common = int(within[["realized", *window.models]].notna().all(axis=1).sum())
        rows = {model: window.scores[model].rows for model in window.models}
        counts[name] = {"dates": window.dates, "common_forecast_dates": common, **rows}
        if set(rows.values()) != {window.dates} or common != window.dates:
            problems[name] = counts[name]
    return dg.AssetCheckResult(
        check_name="same_dates_for_every_model",
        passed=not problems,
        description="every model of each window scored on the same dates"
        if not problems
        else f"models scored on different dates: {problems}",
        metadata={"rows": dg.MetadataValue.json(counts)},
    )


def _p_value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def chosen_model_vs_har(volatility_evaluation: VolatilityEvaluationFile) -> dg.AssetCheckResult:
    """The chosen volatility model's out-of-sample QLIKE against HAR's; warns when the model
    loses."""
    comparison = volatility_evaluation.comparison
    wins = comparison.beats_har
    return model_vs_baseline(
        "chosen_model_vs_har",
        wins,
        f"{comparison.chosen_model} QLIKE {comparison.qlike:.4f} vs HAR "
        f"{comparison.har_qlike:.4f} (ratio {comparison.qlike_ratio_to_har:.3f}, "
        f"Diebold-Mariano p {_p_value(comparison.har_diebold_mariano_p_value)}): "
        + ("the model wins" if wins else "the model loses to HAR"),
        comparison.model_dump(exclude_unset=True),
    )


EVALUATION_CHECKS = [same_dates_for_every_model, chosen_model_vs_har]
VOLATILITY_EVALUATION_CHECKS = evaluation_check_specs(
    "volatility_evaluation", EVALUATION_CHECKS, blocking=same_dates_for_every_model
)
