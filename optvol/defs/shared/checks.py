"""The asset checks of both pipelines: declared on their asset (``check_specs``) and
evaluated in the asset's own step, a table's on the table in memory before it is
written, an evaluation's on the evaluation the asset returns.

The rules live in :mod:`optvol.core.common.validation` and each pipeline's
``validation`` module; here they become Dagster's specs and results. Checks on the
clean tables guard model inputs and are blocking: one that fails stops the step before
the table is written, so the stored version stays and nothing downstream (training)
runs on the new data. Checks on raw tables describe the input as it came; their null and
value checks warn instead of blocking, since cleaning exists to deal with such rows.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence

import dagster as dg

from optvol.core.common import validation as rules


def described_by(function: Callable) -> str:
    """A check's description: the docstring of the rule it applies, on one line."""
    return " ".join((function.__doc__ or "").split())


def table_check_specs(
    asset: str,
    nulls: Mapping[str, float],
    values: Callable,
    *,
    blocking: bool,
    more: Sequence[Callable] = (),
) -> list[dg.AssetCheckSpec]:
    """The schema, null-share and value checks of the table asset ``asset`` (the
    schema check always blocks), and one check per rule of ``more``, named after it
    without its ``check_`` prefix.

    The checks of a month-partitioned table are not partitioned themselves: a result
    covers the months of its run (a range of months is one run), naming the months it
    checked and the first that failed. A month that fails a blocking check is never
    written, so every stored month passed its checks when it was written."""

    def spec(name: str, description: str, blocks: bool = blocking) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(name, asset=asset, blocking=blocks, description=description)

    return [
        spec("schema", f"{asset} has exactly the expected columns and types.", blocks=True),
        spec(
            "null_counts",
            f"Share of missing values per column of {asset} is within its "
            f"threshold: {dict(nulls)}.",
        ),  # fmt: skip
        spec("values", described_by(values)),
        *(spec(rule.__name__.removeprefix("check_"), described_by(rule)) for rule in more),
    ]


def evaluation_check_specs(
    asset: str, checks: Sequence[Callable], blocking: Callable
) -> list[dg.AssetCheckSpec]:
    """The specs of the evaluation asset ``asset``'s ``checks`` (functions of its
    document, each named and described by itself); ``blocking`` is the one the report
    waits on, the others warn."""
    return [
        dg.AssetCheckSpec(check.__name__, asset=asset, blocking=check is blocking,
                          description=described_by(check))
        for check in checks
    ]  # fmt: skip


def check_result(outcome: rules.CheckOutcome, spec: dg.AssetCheckSpec) -> dg.AssetCheckResult:
    """The Dagster result of ``spec``'s check from its outcome, its figures as metadata:
    an error where the check blocks, a warning where it does not."""
    return dg.AssetCheckResult(
        check_name=spec.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if spec.blocking else dg.AssetCheckSeverity.WARN,
        description=outcome.description,
        metadata={
            key: dg.MetadataValue.json(value) if isinstance(value, dict | list) else value
            for key, value in outcome.metadata.items()
        },
    )


def check_results(
    specs: Sequence[dg.AssetCheckSpec], outcomes: Mapping[str, rules.CheckOutcome]
) -> list[dg.AssetCheckResult]:
    """The result of each check of ``specs`` from ``outcomes`` (by check name)."""
    return [check_result(outcomes[spec.name], spec) for spec in specs]


def results_month_by_month(
    specs: Sequence[dg.AssetCheckSpec],
    months: Mapping[str, Mapping[str, rules.CheckOutcome] | None],
) -> list[dg.AssetCheckResult]:
    """The result of each check of ``specs`` over a run's ``months`` (each month, in
    order, to its checks' outcomes, or to ``None`` when it has no rows), each check
    combined by :func:`~optvol.core.common.validation.each_check_month_by_month`."""
    names = [spec.name for spec in specs]
    return check_results(specs, rules.each_check_month_by_month(months, names))


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


def written_if_blocking_checks_pass(
    name: str,
    output: dg.Output,
    specs: Sequence[dg.AssetCheckSpec],
    outcomes: Mapping[str, rules.CheckOutcome],
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """What a table asset yields: ``output`` and then its check results when every
    blocking check passes; else the results alone and a step failure, so the table is not
    written and its stored version stays (the failed results are recorded all the same)."""
    results = check_results(specs, outcomes)
    blocking = {spec.name for spec in specs if spec.blocking}
    if any(not outcomes[check].passed for check in blocking):
        yield from results
        refuse_failed_blocking(name, {check: outcomes[check] for check in blocking})
    yield output
    yield from results


def model_vs_baseline(
    check_name: str, wins: bool, description: str, comparison: dict
) -> dg.AssetCheckResult:
    """A warning (never blocking) when a model loses to its baseline, with the comparison's
    figures as metadata."""
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=wins,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={key: value for key, value in comparison.items() if value is not None},
    )
