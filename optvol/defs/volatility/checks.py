"""Checks of the volatility assets: the raw and clean market tables (schema, null
shares, values; blocking on the features), no look-ahead and the expected missing values
of the features, the evaluation's common dates and the chosen model against HAR."""

import dagster as dg
import pandas as pd

from optvol.core.volatility import validation as market_rules
from optvol.core.volatility.evaluation_file import VolatilityEvaluationFile
from optvol.core.volatility.features import expected_null_counts
from optvol.core.volatility.market import macro_columns
from optvol.defs.shared.checks import check_result, described_by, model_vs_baseline, table_checks
from optvol.defs.volatility.assets import market_features, raw_market, volatility_evaluation

ERROR = dg.AssetCheckSeverity.ERROR


@dg.asset_check(asset=market_features, blocking=True,
                description=described_by(market_rules.check_no_look_ahead))  # fmt: skip
def no_look_ahead(market_features: pd.DataFrame) -> dg.AssetCheckResult:
    return check_result(market_rules.check_no_look_ahead(market_features), ERROR)


@dg.asset_check(asset=market_features, blocking=True,
                description=described_by(market_rules.check_expected_nulls))  # fmt: skip
def expected_nulls(market_features: pd.DataFrame) -> dg.AssetCheckResult:
    return check_result(market_rules.check_expected_nulls(market_features), ERROR)


@dg.asset_check(asset=volatility_evaluation, blocking=True)
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
        passed=not problems,
        description="every model of each window scored on the same dates"
        if not problems
        else f"models scored on different dates: {problems}",
        metadata={"rows": dg.MetadataValue.json(counts)},
    )


def _p_value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@dg.asset_check(asset=volatility_evaluation)
def chosen_model_vs_har(volatility_evaluation: VolatilityEvaluationFile) -> dg.AssetCheckResult:
    """The chosen volatility model's out-of-sample QLIKE against HAR's; warns when the model
    loses."""
    comparison = volatility_evaluation.comparison
    wins = comparison.beats_har
    return model_vs_baseline(
        wins,
        f"{comparison.chosen_model} QLIKE {comparison.qlike:.4f} vs HAR "
        f"{comparison.har_qlike:.4f} (ratio {comparison.qlike_ratio_to_har:.3f}, "
        f"Diebold-Mariano p {_p_value(comparison.har_diebold_mariano_p_value)}): "
        + ("the model wins" if wins else "the model loses to HAR"),
        comparison.model_dump(exclude_unset=True),
    )


asset_checks = [
    *table_checks(raw_market, pd.DataFrame, lambda f: market_rules.market_types(f, features=False),
                  market_rules.RAW_MARKET_NULLS, market_rules.check_raw_market_values,
                  blocking=False),
    *table_checks(market_features, pd.DataFrame,
                  lambda f: market_rules.market_types(f, features=True),
                  market_rules.MARKET_FEATURE_NULLS, market_rules.check_market_feature_values,
                  blocking=True,
                  expected_nulls=lambda f: expected_null_counts(f, macro_columns(f))),
    no_look_ahead,
    expected_nulls,
    same_dates_for_every_model,
    chosen_model_vs_har,
]  # fmt: skip
