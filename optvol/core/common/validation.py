"""Data checks shared by the Dagster asset checks, the CLI and the tests.

Each function takes a table (pandas or Arrow) and returns a :class:`CheckOutcome`: pass
or fail, a one-line description, and figures for the check's metadata. They never raise
on bad data: describing bad data is their job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optvol.core.common.data_summary import missing_counts
from optvol.core.options.ingest.clean import OPTION_QUOTES_DTYPES
from optvol.core.options.ingest.schema import KEY_COLUMNS, RAW_OPTION_SCHEMA
from optvol.core.volatility.features import TARGET_COLUMNS, feature_columns
from optvol.core.volatility.market import REQUIRED_COLUMNS as MARKET_REQUIRED_COLUMNS
from optvol.core.volatility.market import macro_columns

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


def _num_rows(data: Table) -> int:
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


def check_nulls(data: Table, max_fraction: Mapping[str, float]) -> CheckOutcome:
    """The share of missing values of each listed column is within its threshold."""
    rows = max(_num_rows(data), 1)
    present = [c for c in max_fraction if c in column_types(data)]
    counts = _null_counts(data, present)
    absent = [c for c in max_fraction if c not in present]
    over = {c: f"{counts[c] / rows:.4f} > {max_fraction[c]}" for c in present
            if counts[c] / rows > max_fraction[c]}  # fmt: skip
    passed = not over and not absent and _num_rows(data) > 0
    if _num_rows(data) == 0:
        description = "the table is empty"
    elif passed:
        description = "null counts within thresholds"
    else:
        description = f"null share over threshold: {over}; columns absent: {absent}"
    return CheckOutcome(passed, description, {"null_counts": counts, "over_threshold": over})


def _violations(rules: Mapping[str, pd.Series]) -> dict[str, int]:
    return {name: int(mask.sum()) for name, mask in rules.items() if int(mask.sum())}


def _outcome(violations: dict[str, int], ok: str) -> CheckOutcome:
    if violations:
        return CheckOutcome(False, f"violations: {violations}", {"violations": violations})
    return CheckOutcome(True, ok, {"violations": {}})


def _as_frame(data: Table, columns) -> pd.DataFrame:
    if isinstance(data, pa.Table):
        return data.select(list(columns)).to_pandas(date_as_object=False)
    return data[list(columns)]


def check_raw_option_values(data: Table) -> CheckOutcome:
    """Raw quotes as they came: finite positive strikes, finite non-negative prices, expiry
    on or after the quote date. Raw data may break these; the check reports by how much."""
    frame = _as_frame(data, ["quote_date", "expiration", "strike", "bid", "ask", "underlying_last"])
    rules = {
        "strike <= 0": frame["strike"] <= 0,
        "non-finite strike": ~np.isfinite(frame["strike"]) & frame["strike"].notna(),
        "infinite price": np.isinf(frame[["bid", "ask", "underlying_last"]]).any(axis=1),
        "bid < 0": frame["bid"] < 0,
        "ask < 0": frame["ask"] < 0,
        "underlying_last <= 0": frame["underlying_last"] <= 0,
        "expiration < quote_date": frame["expiration"] < frame["quote_date"],
    }
    return _outcome(_violations(rules), "strikes, prices and dates are sane")


def check_option_quote_values(frame: pd.DataFrame) -> CheckOutcome:
    """Clean quotes: every strike finite and > 0; keys unique and sorted; on usable rows
    prices finite and >= 0, bid <= ask, expiration >= quote date."""
    usable = frame["usable"]
    keys = list(KEY_COLUMNS)
    rules = {
        "strike not finite and > 0": ~(np.isfinite(frame["strike"]) & (frame["strike"] > 0)),
        "negative price on usable rows": usable & (frame[["bid", "ask", "mid"]] < 0).any(axis=1),
        "bid > ask on usable rows": usable & (frame["bid"] > frame["ask"]),
        "expiration < quote_date on usable rows": usable
        & (frame["expiration"] < frame["quote_date"]),
        "duplicate key": frame.duplicated(keys),
        "non-finite price on usable rows": usable & ~np.isfinite(frame["mid"]),
    }
    violations = _violations(rules)
    sorted_keys = frame[keys].sort_values(keys, kind="stable").index
    if not sorted_keys.equals(frame.index):
        violations["rows not sorted by key"] = 1
    return _outcome(violations, "strikes, prices, dates and keys are sane")


def check_raw_market_values(frame: pd.DataFrame) -> CheckOutcome:
    """Raw market rows: dated, positive prices, high >= low."""
    rules = {
        "missing date": frame["date"].isna(),
        "non-positive price": (frame[list(MARKET_REQUIRED_COLUMNS[1:])] <= 0).any(axis=1),
        "spx_high < spx_low": frame["spx_high"] < frame["spx_low"],
    }
    return _outcome(_violations(rules), "dates and prices are sane")


def check_market_feature_values(frame: pd.DataFrame) -> CheckOutcome:
    """Features: unique sorted dates, positive prices, high >= low, RV >= 0."""
    rules = {
        "duplicate date": frame["date"].duplicated(),
        "non-positive price": (frame[list(MARKET_REQUIRED_COLUMNS[1:])] <= 0).any(axis=1),
        "spx_high < spx_low": frame["spx_high"] < frame["spx_low"],
        "rv_21 < 0": frame["rv_21"] < 0,
        "non-finite log_return": np.isinf(frame["log_return"]),
    }
    violations = _violations(rules)
    if not frame["date"].is_monotonic_increasing:
        violations["dates not sorted"] = 1
    return _outcome(violations, "dates unique and sorted; prices and RV sane")


RAW_OPTION_TYPES = {f.name: str(f.type) for f in RAW_OPTION_SCHEMA}
OPTION_QUOTES_TYPES = dict(OPTION_QUOTES_DTYPES)
# Thresholds on the share of missing values. Keys never miss; IV is often empty deep in
# the money and at expiry, volume on most rows, so those are not bounded.
RAW_OPTION_NULLS = {"quote_date": 0.0, "expiration": 0.0, "strike": 0.0, "option_type": 0.0,
                    "underlying_last": 0.01, "bid": 0.05, "ask": 0.05}  # fmt: skip
OPTION_QUOTES_NULLS = {**RAW_OPTION_NULLS, "mid": 0.05, "dte_days": 0.0, "moneyness": 0.01}
RAW_MARKET_NULLS = {"date": 0.0}
MARKET_FEATURE_NULLS = {"date": 0.0, "spx_close": 0.0, "log_return": 0.01}


def market_types(frame: pd.DataFrame, *, features: bool) -> dict[str, str]:
    """Expected types of ``raw_market`` (``features=False``) or ``market_features``.

    Macro columns vary by file; whatever they are called, they must be numeric.
    """
    expected = {"date": "datetime64[ns]", **{c: "float64" for c in MARKET_REQUIRED_COLUMNS[1:]}}
    expected.update({c: "float64" for c in macro_columns(frame)})
    if features:
        macro = macro_columns(frame)
        columns = [*feature_columns(macro), *TARGET_COLUMNS]
        expected.update({c: "float64" for c in columns})
    else:
        expected.update(source_file="category", source_row="int64")
    return expected


def check_each_month(
    months: Mapping[str, Table], check: Callable[[Table], CheckOutcome]
) -> CheckOutcome:
    """``check`` on each month's table in turn (one in memory at a time), as one outcome.

    It passes when every month with rows passes. Months without rows are listed, not
    checked: ingest already warned of them (a removed file was their only source, say),
    and an empty table would fail the null check. The description names the first
    failing month.
    """
    outcomes: dict[str, CheckOutcome] = {}
    empty: list[str] = []
    for month in months:
        data = months[month]
        if _num_rows(data) == 0:
            empty.append(month)
        else:
            outcomes[month] = check(data)
        del data
    failed = {month: o for month, o in outcomes.items() if not o.passed}
    metadata = {
        "months_checked": len(outcomes),
        "months_without_rows": empty,
        "failed_months": {month: o.description for month, o in failed.items()},
    }
    if not outcomes:  # the inputs hold no quote of these months: nothing is wrong
        return CheckOutcome(True, f"no rows in any month: {empty}", metadata)
    if failed:
        first, outcome = next(iter(failed.items()))
        metadata["first_failure"] = outcome.metadata
        return CheckOutcome(
            False, f"{len(failed)} of {len(outcomes)} months fail; {first}: {outcome.description}",
            metadata,
        )  # fmt: skip
    last = outcomes[next(reversed(outcomes))]
    metadata["last_month"] = last.metadata
    return CheckOutcome(True, f"{len(outcomes)} month(s): {last.description}", metadata)
