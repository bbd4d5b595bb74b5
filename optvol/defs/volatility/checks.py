"""Checks of the volatility assets: the raw and clean market tables (schema, null
shares, values; blocking on the features), no look-ahead and the expected missing values
of the features, the evaluation's common dates and the chosen model against HAR."""

import dagster as dg
import pandas as pd

from optvol.core.common.data_summary import missing_counts
from optvol.core.volatility import validation as market_rules
from optvol.core.volatility.features import (
    expected_null_counts,
    feature_columns,
    look_ahead_columns,
    recomputed_mismatches,
)
from optvol.core.volatility.market import macro_columns
from optvol.core.volatility.models import design_matrix
from optvol.defs.shared.checks import model_vs_baseline, table_checks
from optvol.defs.volatility.assets import market_features, raw_market, volatility_evaluation


@dg.asset_check(asset=market_features, blocking=True)
def no_look_ahead(market_features: pd.DataFrame) -> dg.AssetCheckResult:
    """No model input is a target, and features recomputed from the rows up to their day
    only are identical to the table's (at 8 days spread over the history)."""
    macro = macro_columns(market_features)
    inputs = [*feature_columns(macro), *design_matrix(market_features, macro).columns]
    leaking = look_ahead_columns(inputs)
    mismatches = recomputed_mismatches(market_features, macro)
    return dg.AssetCheckResult(
        passed=not leaking and not mismatches,
        description="features use data up to their day only"
        if not leaking and not mismatches
        else f"look-ahead: target columns among inputs {leaking}; features that change "
        f"without later rows {mismatches}",
        metadata={
            "target_columns_among_inputs": dg.MetadataValue.json(leaking),
            "days_whose_features_use_later_rows": dg.MetadataValue.json(mismatches),
        },
    )


@dg.asset_check(asset=market_features, blocking=True)
def expected_nulls(market_features: pd.DataFrame) -> dg.AssetCheckResult:
    """Each derived column is missing on exactly the rows its inputs explain: warm-up
    windows, days without VIX, the last 21 days for the targets."""
    expected = expected_null_counts(market_features, macro_columns(market_features))
    actual = missing_counts(market_features, expected)
    wrong = {c: {"expected": expected[c], "actual": actual[c]}
             for c in expected if expected[c] != actual[c]}  # fmt: skip
    return dg.AssetCheckResult(
        passed=not wrong,
        description="null counts as expected" if not wrong else f"unexpected nulls: {wrong}",
        metadata={
            "null_counts": dg.MetadataValue.json(actual),
            "unexpected": dg.MetadataValue.json(wrong),
        },  # fmt: skip
    )


@dg.asset_check(asset=volatility_evaluation, blocking=True)
def same_dates_for_every_model(volatility_evaluation: dict) -> dg.AssetCheckResult:
    """Within each window, every model is scored on the same dates: each model's row count
    equals the number of dates on which every model of the window has a forecast."""
    series = pd.DataFrame(volatility_evaluation["series"]["volatility"])
    problems, counts = {}, {}
    for name, window in volatility_evaluation["volatility"].items():
        within = series.loc[series["date"].between(window["first_date"], window["last_date"])]
        common = int(within[["realized", *window["models"]]].notna().all(axis=1).sum())
        rows = {model: window["scores"][model]["rows"] for model in window["models"]}
        counts[name] = {"dates": window["dates"], "common_forecast_dates": common, **rows}
        if set(rows.values()) != {window["dates"]} or common != window["dates"]:
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
def chosen_model_vs_har(volatility_evaluation: dict) -> dg.AssetCheckResult:
    """The chosen volatility model's out-of-sample QLIKE against HAR's; warns when the model
    loses."""
    comparison = volatility_evaluation["comparison"]
    wins = comparison["beats_har"]
    return model_vs_baseline(
        wins,
        f"{comparison['chosen_model']} QLIKE {comparison['qlike']:.4f} vs HAR "
        f"{comparison['har_qlike']:.4f} (ratio {comparison['qlike_ratio_to_har']:.3f}, "
        f"Diebold-Mariano p {_p_value(comparison['har_diebold_mariano_p_value'])}): "
        + ("the model wins" if wins else "the model loses to HAR"),
        comparison,
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
