"""Asset checks on every raw and clean asset: schema, null counts, value sanity.

The logic lives in :mod:`optvol.core.validation`; each check here loads the asset and
reports the outcome. Checks on the clean tables guard model inputs and are blocking, so
bad data stops a run before anything downstream (training) is materialized. Checks on
raw tables describe the input as it came; their value check warns instead of blocking,
since cleaning exists to deal with such rows.
"""

from collections.abc import Callable, Mapping

import dagster as dg
import pandas as pd
import pyarrow as pa

from optvol.assets.options import option_evaluation, option_quotes, raw_option_quotes
from optvol.assets.volatility import market_features, raw_market
from optvol.core import validation as v


def _result(outcome: v.CheckOutcome, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=severity,
        description=outcome.description,
        metadata={key: dg.MetadataValue.json(value) for key, value in outcome.metadata.items()},
    )


def _checks_for(
    asset: dg.AssetsDefinition,
    data_type: type,
    schema: Callable[[object], Mapping[str, str]],
    nulls: Mapping[str, float],
    values: Callable[[object], v.CheckOutcome],
    blocking: bool,
) -> list[dg.AssetChecksDefinition]:
    """Schema, null and value checks of one asset."""
    name = asset.key.path[-1]
    value_severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN

    @dg.asset_check(asset=asset, name="schema", blocking=True,
                    description=f"{name} has exactly the expected columns and types.")  # fmt: skip
    def schema_check(data: data_type) -> dg.AssetCheckResult:  # type: ignore[valid-type]
        return _result(v.check_schema(data, schema(data)), dg.AssetCheckSeverity.ERROR)

    @dg.asset_check(asset=asset, name="null_counts", blocking=blocking,
                    description=f"Share of missing values per column of {name} is within "
                                f"its threshold: {dict(nulls)}.")  # fmt: skip
    def null_check(data: data_type) -> dg.AssetCheckResult:  # type: ignore[valid-type]
        return _result(v.check_nulls(data, nulls), value_severity)

    @dg.asset_check(asset=asset, name="values", blocking=blocking,
                    description=" ".join((values.__doc__ or "").split()))  # fmt: skip
    def value_check(data: data_type) -> dg.AssetCheckResult:  # type: ignore[valid-type]
        return _result(values(data), value_severity)

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
    return dg.AssetCheckResult(
        passed=wins,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"GRU test RMSE {comparison['gru_rmse']:.4f} vs {comparison['best_baseline']} "
            f"{comparison['best_baseline_rmse']:.4f} (ratio "
            f"{comparison['rmse_ratio_to_best_baseline']:.3f}): "
            + ("the GRU wins" if wins else "the GRU loses to the best baseline")
        ),
        metadata={key: value for key, value in comparison.items() if value is not None},
    )


asset_checks = [
    *_checks_for(raw_option_quotes, pa.Table, lambda _: v.RAW_OPTION_TYPES, v.RAW_OPTION_NULLS,
                 v.check_raw_option_values, blocking=False),
    *_checks_for(option_quotes, pd.DataFrame, lambda _: v.OPTION_QUOTES_TYPES,
                 v.OPTION_QUOTES_NULLS, v.check_option_quote_values, blocking=True),
    *_checks_for(raw_market, pd.DataFrame, lambda f: v.market_types(f, features=False),
                 v.RAW_MARKET_NULLS, v.check_raw_market_values, blocking=False),
    *_checks_for(market_features, pd.DataFrame, lambda f: v.market_types(f, features=True),
                 v.MARKET_FEATURE_NULLS, v.check_market_feature_values, blocking=True),
    covers_every_test_date,
    gru_vs_best_baseline,
]  # fmt: skip
