"""Asset checks on every raw and clean asset: schema, null counts, value sanity.

The logic lives in :mod:`optvol.core.common.validation`; each check here loads the asset and
reports the outcome. Checks on the clean tables guard model inputs and are blocking, so
bad data stops a run before anything downstream (training) is materialized. Checks on
raw tables describe the input as it came; their value check warns instead of blocking,
since cleaning exists to deal with such rows.
"""

import warnings
from collections.abc import Callable, Mapping

import dagster as dg
import pandas as pd
import pyarrow as pa

from optvol.core.common import validation as v
from optvol.core.common.data_summary import missing_counts
from optvol.core.common.partitioned import LazyTables
from optvol.core.options import validation as option_rules
from optvol.core.volatility import validation as market_rules
from optvol.core.volatility.features import (
    expected_null_counts,
    feature_columns,
    look_ahead_columns,
    recomputed_mismatches,
)
from optvol.core.volatility.market import macro_columns
from optvol.core.volatility.models import design_matrix
from optvol.defs.options.assets import option_evaluation, option_quotes, raw_option_quotes
from optvol.defs.volatility.assets import market_features, raw_market, volatility_evaluation

# Checks of the quote-month assets are partitioned like them, so that a run's checks read
# the run's months only; Dagster marks partitioned checks as a preview feature.
warnings.filterwarnings(
    "ignore", category=dg.PreviewWarning, message="Specifying a partitions_def on an AssetCheckSpec"
)


def _result(outcome: v.CheckOutcome, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=severity,
        description=outcome.description,
        metadata={
            key: dg.MetadataValue.json(value) if isinstance(value, dict | list) else value
            for key, value in outcome.metadata.items()
        },
    )


def _checks_for(
    asset: dg.AssetsDefinition,
    data_type: type,
    schema: Callable[[object], Mapping[str, str]],
    nulls: Mapping[str, float],
    values: Callable[[object], v.CheckOutcome],
    blocking: bool,
) -> list[dg.AssetChecksDefinition]:
    """Schema, null and value checks of one asset. A month-partitioned asset is checked
    month by month over the run's months (one month in memory at a time)."""
    name = asset.key.path[-1]
    value_severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
    partitions_def = asset.partitions_def
    if partitions_def is not None:
        data_type = LazyTables

    def evaluate(check: Callable[[object], v.CheckOutcome], data) -> v.CheckOutcome:
        return check(data) if partitions_def is None else v.check_each_month(data, check)

    @dg.asset_check(asset=asset, name="schema", blocking=True, partitions_def=partitions_def,
                    description=f"{name} has exactly the expected columns and types.")  # fmt: skip
    def schema_check(data: data_type) -> dg.AssetCheckResult:  # type: ignore[valid-type]
        outcome = evaluate(lambda d: v.check_schema(d, schema(d)), data)
        return _result(outcome, dg.AssetCheckSeverity.ERROR)

    @dg.asset_check(asset=asset, name="null_counts", blocking=blocking,
                    partitions_def=partitions_def,
                    description=f"Share of missing values per column of {name} is within "
                                f"its threshold: {dict(nulls)}.")  # fmt: skip
    def null_check(data: data_type) -> dg.AssetCheckResult:  # type: ignore[valid-type]
        return _result(evaluate(lambda d: v.check_nulls(d, nulls), data), value_severity)

    @dg.asset_check(asset=asset, name="values", blocking=blocking, partitions_def=partitions_def,
                    description=" ".join((values.__doc__ or "").split()))  # fmt: skip
    def value_check(data: data_type) -> dg.AssetCheckResult:  # type: ignore[valid-type]
        return _result(evaluate(values, data), value_severity)

    return [schema_check, null_check, value_check]


@dg.asset_check(asset=option_evaluation, blocking=True)
def covers_every_test_date(option_evaluation: dict) -> dg.AssetCheckResult:
    """Every trading day of the test period is scored, for every model on the same rows."""
    expected = option_evaluation["test_calendar_dates"]
    scored = set(option_evaluation["by_date"]["date"])
    missing = [day for day in expected if day not in scored]
    return dg.AssetCheckResult(
        passed=not missing,
        description=f"{len(expected) - len(missing)} of {len(expected)} test dates scored",
        metadata={
            "test_dates": len(expected),
            "missing_dates": dg.MetadataValue.json(missing[:50]),
            "rows_per_model": dg.MetadataValue.json(
                {name: m["rows"] for name, m in option_evaluation["overall"].items()}
            ),
        },
    )


@dg.asset_check(asset=option_evaluation)
def gru_vs_best_baseline(option_evaluation: dict) -> dg.AssetCheckResult:
    """The GRU's test RMSE against the best baseline's; warns when the GRU loses."""
    comparison = option_evaluation["comparison"]
    wins = comparison["gru_beats_best_baseline"]
    return _model_vs_baseline(
        wins,
        f"GRU test RMSE {comparison['gru_rmse']:.4f} vs {comparison['best_baseline']} "
        f"{comparison['best_baseline_rmse']:.4f} (ratio "
        f"{comparison['rmse_ratio_to_best_baseline']:.3f}): "
        + ("the GRU wins" if wins else "the GRU loses to the best baseline"),
        comparison,
    )


def _model_vs_baseline(wins: bool, description: str, comparison: dict) -> dg.AssetCheckResult:
    """A warning (never blocking) when a model loses to its baseline, with the comparison's
    figures as metadata."""
    return dg.AssetCheckResult(
        passed=wins,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={key: value for key, value in comparison.items() if value is not None},
    )


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
    return _model_vs_baseline(
        wins,
        f"{comparison['chosen_model']} QLIKE {comparison['qlike']:.4f} vs HAR "
        f"{comparison['har_qlike']:.4f} (ratio {comparison['qlike_ratio_to_har']:.3f}, "
        f"Diebold-Mariano p {_p_value(comparison['har_diebold_mariano_p_value'])}): "
        + ("the model wins" if wins else "the model loses to HAR"),
        comparison,
    )


asset_checks = [
    *_checks_for(raw_option_quotes, pa.Table, lambda _: option_rules.RAW_OPTION_TYPES,
                 option_rules.RAW_OPTION_NULLS, option_rules.check_raw_option_values,
                 blocking=False),
    *_checks_for(option_quotes, pd.DataFrame, lambda _: option_rules.OPTION_QUOTES_TYPES,
                 option_rules.OPTION_QUOTES_NULLS, option_rules.check_option_quote_values,
                 blocking=True),
    *_checks_for(raw_market, pd.DataFrame, lambda f: market_rules.market_types(f, features=False),
                 market_rules.RAW_MARKET_NULLS, market_rules.check_raw_market_values,
                 blocking=False),
    *_checks_for(market_features, pd.DataFrame,
                 lambda f: market_rules.market_types(f, features=True),
                 market_rules.MARKET_FEATURE_NULLS, market_rules.check_market_feature_values,
                 blocking=True),
    covers_every_test_date,
    gru_vs_best_baseline,
    no_look_ahead,
    expected_nulls,
    same_dates_for_every_model,
    chosen_model_vs_har,
]  # fmt: skip
