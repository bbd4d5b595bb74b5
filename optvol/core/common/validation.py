"""The generic data checks: schema, null shares, value rules, month by month.

Each check takes a table (pandas or Arrow) and returns a :class:`CheckOutcome`: pass or
fail, a one-line description, and figures for the check's metadata. They never raise on
bad data: describing bad data is their job. The rules of each pipeline's tables live in
``optvol.core.options.validation`` and ``optvol.core.volatility.validation``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optvol.core.common.data_summary import missing_counts

Table = pd.DataFrame | pa.Table


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check: whether it passed, a one-line description, figures."""

    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


def column_types(data: Table) -> dict[str, str]:
    """Column name -> type name (Arrow type for Arrow tables, dtype for pandas)."""
    if isinstance(data, pa.Table):
        return {f.name: str(f.type) for f in data.schema}
    return {name: str(dtype) for name, dtype in data.dtypes.items()}


def num_rows(data: Table) -> int:
    """Rows of a pandas or Arrow table."""
    return data.num_rows if isinstance(data, pa.Table) else len(data)


def _null_counts(data: Table, columns) -> dict[str, int]:
    """Missing values per column; NaN counts as missing, as in pandas."""
    if isinstance(data, pa.Table):
        return {
            c: int(
                pc.sum(pc.is_null(data.column(c), nan_is_null=True).cast(pa.int64())).as_py() or 0
            )
            for c in columns
        }
    return missing_counts(data, columns)


def check_schema(data: Table, expected: Mapping[str, str]) -> CheckOutcome:
    """Every expected column present with its type; no unexpected columns."""
    actual = column_types(data)
    missing = [c for c in expected if c not in actual]
    wrong = {c: f"{actual[c]} (expected {t})" for c, t in expected.items()
             if c in actual and actual[c] != t}  # fmt: skip
    extra = [c for c in actual if c not in expected]
    passed = not (missing or wrong or extra)
    description = (
        "schema matches"
        if passed
        else (f"missing {missing}; wrong types {wrong}; unexpected {extra}")
    )
    return CheckOutcome(passed, description, {"missing": missing, "wrong_types": wrong,
                                              "unexpected": extra})  # fmt: skip


def check_nulls(
    data: Table, max_fraction: Mapping[str, float], expected: Mapping[str, int] | None = None
) -> CheckOutcome:
    """The share of missing values of each listed column is within its threshold, not
    counting the ``expected`` missing values of a column (those its definition leaves,
    such as the first day's return, which another check counts exactly): a short table
    is not failed for them."""
    rows = max(num_rows(data), 1)
    present = [c for c in max_fraction if c in column_types(data)]
    counts = _null_counts(data, present)
    absent = [c for c in max_fraction if c not in present]
    expected = expected or {}
    unexplained = {c: max(counts[c] - expected.get(c, 0), 0) for c in present}
    over = {c: f"{unexplained[c] / rows:.4f} > {max_fraction[c]}" for c in present
            if unexplained[c] / rows > max_fraction[c]}  # fmt: skip
    passed = not over and not absent and num_rows(data) > 0
    if num_rows(data) == 0:
        description = "the table is empty"
    elif passed:
        description = "null counts within thresholds"
    else:
        description = f"null share over threshold: {over}; columns absent: {absent}"
    return CheckOutcome(passed, description, {"null_counts": counts, "over_threshold": over})


def count_violations(rules: Mapping[str, pd.Series]) -> dict[str, int]:
    """``{rule: rows breaking it}`` of each rule (a boolean mask) that some row breaks."""
    return {name: int(mask.sum()) for name, mask in rules.items() if int(mask.sum())}


def first_violations(rules: Mapping[str, pd.Series], label: Callable[[int], str]) -> dict[str, str]:
    """``{rule: label(position)}`` of the first row (by position) breaking each broken
    rule, so that a failure says where to look, not only how often."""
    first = {}
    for name, mask in rules.items():
        values = mask.to_numpy(dtype=bool, na_value=False)
        if values.any():
            first[name] = label(int(values.argmax()))
    return first


def outcome_of(
    violations: dict[str, int], ok: str, first: Mapping[str, str] | None = None
) -> CheckOutcome:
    """Pass, described as ``ok``, when nothing is violated; else fail, naming each
    violation, its count and, where given, its first row."""
    if violations:
        where = {rule: first[rule] for rule in violations if first and rule in first}
        description = f"violations: {violations}" + (f"; first at {where}" if where else "")
        return CheckOutcome(False, description, {"violations": violations, "first_at": where})
    return CheckOutcome(True, ok, {"violations": {}})


def month_outcomes(
    data: Table,
    types: Mapping[str, str],
    nulls: Mapping[str, float],
    values: Callable[[Table], CheckOutcome],
) -> dict[str, CheckOutcome]:
    """The schema, null and value checks of one month's table, by check name, as the
    month-by-month checks judge it: a month without rows is checked for its schema only
    (ingest warned of it, and an empty table would fail the null check)."""
    outcomes = {"schema": check_schema(data, types)}
    if num_rows(data):
        outcomes["null_counts"] = check_nulls(data, nulls)
        outcomes["values"] = values(data)
    return outcomes


def failed_blocking(name: str, outcomes: Mapping[str, CheckOutcome]) -> str | None:
    """What fails among a table's blocking checks, as one message (None when they all
    pass): what the pipeline and the CLI refuse to write."""
    failed = [f"{check}: {outcome.description}" for check, outcome in outcomes.items()
              if not outcome.passed]  # fmt: skip
    if not failed:
        return None
    return f"{name} fails its blocking checks ({'; '.join(failed)})"


def as_frame(data: Table, columns) -> pd.DataFrame:
    """The ``columns`` of a pandas or Arrow table as a pandas frame."""
    if isinstance(data, pa.Table):
        return data.select(list(columns)).to_pandas(date_as_object=False)
    return data[list(columns)]


def month_by_month(outcomes: Mapping[str, CheckOutcome | None]) -> CheckOutcome:
    """One check's outcomes on each month of a run (``None`` for a month without rows),
    as one outcome.

    It passes when every month with rows passes. Months without rows are listed, not
    checked: ingest already warned of them (a removed file was their only source, say),
    and an empty table would fail the null check. The description names the first
    failing month.
    """
    checked = {month: o for month, o in outcomes.items() if o is not None}
    empty = [month for month, o in outcomes.items() if o is None]
    failed = {month: o for month, o in checked.items() if not o.passed}
    metadata = {
        "months_checked": len(checked),
        "months_without_rows": empty,
        "failed_months": {month: o.description for month, o in failed.items()},
    }
    if not checked:  # the inputs hold no quote of these months: nothing is wrong
        return CheckOutcome(True, f"no rows in any month: {empty}", metadata)
    if failed:
        first, outcome = next(iter(failed.items()))
        metadata["first_failure"] = outcome.metadata
        return CheckOutcome(
            False, f"{len(failed)} of {len(checked)} months fail; {first}: {outcome.description}",
            metadata,
        )  # fmt: skip
    last = checked[next(reversed(checked))]
    metadata["last_month"] = last.metadata
    return CheckOutcome(True, f"{len(checked)} month(s): {last.description}", metadata)


def each_check_month_by_month(
    months: Mapping[str, Mapping[str, CheckOutcome] | None], names: Iterable[str]
) -> dict[str, CheckOutcome]:
    """The outcomes of the checks ``names`` over a run's months, each check combined by
    :func:`month_by_month`; ``months`` maps each month, in order, to its checks' outcomes
    (:func:`month_outcomes`), or to ``None`` when it has no rows."""
    return {
        name: month_by_month(
            {month: None if checks is None else checks[name] for month, checks in months.items()}
        )
        for name in names
    }


def infinite_values(frame: pd.DataFrame, rows: pd.Series | None = None) -> dict[str, pd.Series]:
    """One rule per float column holding an infinite value (``inf``, or a number too
    large for a float, such as ``1e999``) on ``rows`` (every row by default): values must
    be finite or missing."""
    floats = frame.select_dtypes("floating")
    rules = {}
    for column in floats:
        infinite = np.isinf(floats[column])
        if rows is not None:
            infinite &= rows
        if infinite.any():
            rules[f"infinite {column}" + ("" if rows is None else " on usable rows")] = infinite
    return rules
