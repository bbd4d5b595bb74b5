"""What the checks of both pipelines share: a check outcome as Dagster's result, the
schema, null and value checks of a table asset, and the warning when a model loses.

The logic lives in :mod:`optvol.core.common.validation` and each pipeline's
``validation`` module; each check loads the asset and reports the outcome. Checks on the
clean tables guard model inputs and are blocking, so bad data stops a run before
anything downstream (training) is materialized. Checks on raw tables describe the input
as it came; their value check warns instead of blocking, since cleaning exists to deal
with such rows.
"""

import warnings
from collections.abc import Callable, Mapping

import dagster as dg

from optvol.core.common import validation as rules
from optvol.core.common.partitioned import LazyTables

# Checks of the quote-month assets are partitioned like them, so that a run's checks read
# the run's months only; Dagster marks partitioned checks as a preview feature.
warnings.filterwarnings(
    "ignore", category=dg.PreviewWarning, message="Specifying a partitions_def on an AssetCheckSpec"
)


def check_result(
    outcome: rules.CheckOutcome, severity: dg.AssetCheckSeverity
) -> dg.AssetCheckResult:
    """The Dagster result of a check's outcome, its figures as metadata."""
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=severity,
        description=outcome.description,
        metadata={
            key: dg.MetadataValue.json(value) if isinstance(value, dict | list) else value
            for key, value in outcome.metadata.items()
        },
    )


def described_by(function: Callable) -> str:
    """A check's description: the docstring of the rule it applies, on one line."""
    return " ".join((function.__doc__ or "").split())


def refuse_failed_blocking(name: str, outcomes: Mapping[str, rules.CheckOutcome]) -> None:
    """Raise a step failure, before anything is written, when one of ``outcomes`` (a
    table's blocking checks, run on the table in memory) fails: the stored version of
    the table stays, and the failure says what fails, how often and where first."""
    message = rules.failed_blocking(name, outcomes)
    if message is not None:
        raise dg.Failure(
            description=f"{message}: not written; the stored {name} is kept",
            metadata={check: o.description for check, o in outcomes.items() if not o.passed},
            allow_retries=False,
        )


def table_checks(
    asset: dg.AssetsDefinition,
    data_type: type,
    schema: Callable[[object], Mapping[str, str]],
    nulls: Mapping[str, float],
    values: Callable[[object], rules.CheckOutcome],
    blocking: bool,
    expected_nulls: Callable[[object], Mapping[str, int]] | None = None,
) -> list[dg.AssetChecksDefinition]:
    """Schema, null and value checks of one asset. A month-partitioned asset is checked
    month by month over the run's months (one month in memory at a time), each month by
    the outcome its file records when its asset computed the same check on it before
    writing it (:func:`~optvol.core.common.validation.record_outcomes`), else by reading
    it. The null shares leave out the missing values ``expected_nulls`` explains."""
    name = asset.key.path[-1]
    value_severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
    partitions_def = asset.partitions_def
    if partitions_def is not None:
        data_type = LazyTables

    def evaluate(
        check: Callable[[object], rules.CheckOutcome], data, check_name
    ) -> rules.CheckOutcome:
        if partitions_def is None:
            return check(data)
        return rules.check_each_month(data, check, check_name)

    @dg.asset_check(asset=asset, name="schema", blocking=True, partitions_def=partitions_def,
                    description=f"{name} has exactly the expected columns and types.")  # fmt: skip
    def schema_check(data: data_type) -> dg.AssetCheckResult:  # type: ignore[valid-type]
        outcome = evaluate(lambda d: rules.check_schema(d, schema(d)), data, "schema")
        return check_result(outcome, dg.AssetCheckSeverity.ERROR)

    @dg.asset_check(asset=asset, name="null_counts", blocking=blocking,
                    partitions_def=partitions_def,
                    description=f"Share of missing values per column of {name} is within "
                                f"its threshold: {dict(nulls)}.")  # fmt: skip
    def null_check(data: data_type) -> dg.AssetCheckResult:  # type: ignore[valid-type]
        def nulls_of(d) -> rules.CheckOutcome:
            return rules.check_nulls(d, nulls, expected_nulls(d) if expected_nulls else None)

        return check_result(evaluate(nulls_of, data, "null_counts"), value_severity)

    @dg.asset_check(asset=asset, name="values", blocking=blocking, partitions_def=partitions_def,
                    description=described_by(values))  # fmt: skip
    def value_check(data: data_type) -> dg.AssetCheckResult:  # type: ignore[valid-type]
        return check_result(evaluate(values, data, "values"), value_severity)

    return [schema_check, null_check, value_check]


def model_vs_baseline(wins: bool, description: str, comparison: dict) -> dg.AssetCheckResult:
    """A warning (never blocking) when a model loses to its baseline, with the comparison's
    figures as metadata."""
    return dg.AssetCheckResult(
        passed=wins,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={key: value for key, value in comparison.items() if value is not None},
    )
