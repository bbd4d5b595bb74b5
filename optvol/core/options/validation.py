"""The rules of the option tables, for their asset checks, the CLI and the tests:
``raw_option_quotes`` as the vendor sent it, ``option_quotes`` after cleaning."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optvol.core.common.validation import (
    CheckOutcome,
    Table,
    as_frame,
    count_violations,
    first_violations,
    infinite_values,
    month_outcomes,
    outcome_of,
)
from optvol.core.options.ingest.clean import OPTION_QUOTES_DTYPES
from optvol.core.options.ingest.schema import KEY_COLUMNS, RAW_OPTION_SCHEMA

OPTION_TYPE_CODES = ("C", "P")


def check_raw_option_values(data: Table) -> CheckOutcome:
    """Raw quotes as they came: finite positive strikes, finite non-negative prices, expiry
    on or after the quote date. Raw data may break these; the check reports by how much."""
    frame = as_frame(data, ["quote_date", "expiration", "strike", "bid", "ask", "underlying_last"])
    rules = {
        "strike <= 0": frame["strike"] <= 0,
        "non-finite strike": ~np.isfinite(frame["strike"]) & frame["strike"].notna(),
        "infinite price": np.isinf(frame[["bid", "ask", "underlying_last"]]).any(axis=1),
        "bid < 0": frame["bid"] < 0,
        "ask < 0": frame["ask"] < 0,
        "underlying_last <= 0": frame["underlying_last"] <= 0,
        "expiration < quote_date": frame["expiration"] < frame["quote_date"],
    }
    return outcome_of(
        count_violations(rules), "strikes, prices and dates are sane", _first(frame, rules)
    )


def _first(frame: pd.DataFrame, rules: dict[str, pd.Series]) -> dict[str, str]:
    """Where each broken rule is first broken: the quote's date, strike and expiration."""

    def label(i: int) -> str:
        row = frame.iloc[i]
        date, expiry = str(row["quote_date"])[:10], str(row["expiration"])[:10]
        return f"{date} strike {row['strike']} exp {expiry}"

    return first_violations(rules, label)


def check_option_quote_values(frame: pd.DataFrame) -> CheckOutcome:
    """Clean quotes: every option type C or P and every strike finite and > 0; keys
    unique and sorted; on usable rows prices finite and >= 0, bid <= ask, expiration >=
    quote date."""
    usable = frame["usable"]
    keys = list(KEY_COLUMNS)
    rules = {
        "option_type not C or P": ~frame["option_type"].isin(OPTION_TYPE_CODES),
        "strike not finite and > 0": ~(np.isfinite(frame["strike"]) & (frame["strike"] > 0)),
        "negative price on usable rows": usable & (frame[["bid", "ask", "mid"]] < 0).any(axis=1),
        "bid > ask on usable rows": usable & (frame["bid"] > frame["ask"]),
        "expiration < quote_date on usable rows": usable
        & (frame["expiration"] < frame["quote_date"]),
        "duplicate key": frame.duplicated(keys),
        "non-finite price on usable rows": usable & ~np.isfinite(frame["mid"]),
        **infinite_values(frame, usable),
    }
    violations = count_violations(rules)
    sorted_keys = frame[keys].sort_values(keys, kind="stable").index
    if not sorted_keys.equals(frame.index):
        violations["rows not sorted by key"] = 1
    return outcome_of(violations, "strikes, prices, dates and keys are sane", _first(frame, rules))


RAW_OPTION_TYPES = {f.name: str(f.type) for f in RAW_OPTION_SCHEMA}
OPTION_QUOTES_TYPES = dict(OPTION_QUOTES_DTYPES)
# Thresholds on the share of missing values. Keys never miss; IV is often empty deep in
# the money and at expiry, volume on most rows, so those are not bounded.
RAW_OPTION_NULLS = {"quote_date": 0.0, "expiration": 0.0, "strike": 0.0, "option_type": 0.0,
                    "underlying_last": 0.01, "bid": 0.05, "ask": 0.05}  # fmt: skip
OPTION_QUOTES_NULLS = {**RAW_OPTION_NULLS, "mid": 0.05, "dte_days": 0.0, "moneyness": 0.01}


def option_quote_outcomes(frame: pd.DataFrame) -> dict[str, CheckOutcome]:
    """Every blocking check of a month of ``option_quotes``, by check name: what must
    pass before the month is written."""
    return month_outcomes(
        frame, OPTION_QUOTES_TYPES, OPTION_QUOTES_NULLS, check_option_quote_values
    )


def raw_option_outcomes(table: Table) -> dict[str, CheckOutcome]:
    """Every check of a month of ``raw_option_quotes``, by check name (they warn, never
    block: cleaning exists for such rows)."""
    return month_outcomes(table, RAW_OPTION_TYPES, RAW_OPTION_NULLS, check_raw_option_values)
