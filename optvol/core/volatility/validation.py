"""The rules of the market tables, for their asset checks, the CLI and the tests:
``raw_market`` as the file held it, ``market_features`` after cleaning."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optvol.core.common.data_summary import missing_counts
from optvol.core.common.errors import OptvolInputError
from optvol.core.common.validation import (
    CheckOutcome,
    check_nulls,
    check_schema,
    count_violations,
    first_violations,
    infinite_values,
    outcome_of,
)
from optvol.core.volatility.features import (
    TARGET_COLUMNS,
    expected_null_counts,
    feature_columns,
    look_ahead_columns,
    recomputed_mismatches,
)
from optvol.core.volatility.market import REQUIRED_COLUMNS as MARKET_REQUIRED_COLUMNS
from optvol.core.volatility.market import macro_columns
from optvol.core.volatility.models import design_matrix


def price_rules(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The rules of a day's prices: positive, high >= low, open and close inside
    [low, high] (where both are given), dated no later than today."""
    high, low = frame["spx_high"], frame["spx_low"]
    rules = {
        "non-positive price": (frame[list(MARKET_REQUIRED_COLUMNS[1:])] <= 0).any(axis=1),
        "spx_high < spx_low": high < low,
        "date in the future": frame["date"] > pd.Timestamp.now().normalize(),
    }
    ranged = high >= low  # an inverted range is one violation, not three
    for column in ("spx_open", "spx_close"):
        outside = (frame[column] > high) | (frame[column] < low)
        rules[f"{column} outside [spx_low, spx_high]"] = ranged & outside
    return rules


# Beyond these a day's value is more likely a typing or unit error than a market move:
# the S&P 500's largest one-day move since 1927 is ln 0.795 = -0.229 (1987-10-19), and VIX
# has closed between 9.1 and 82.7.
MAX_ABS_LOG_RETURN = 0.25
VIX_RANGE = (5.0, 200.0)


def implausible_values(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Rules for values that are possible but implausible: a one-day index move beyond
    :data:`MAX_ABS_LOG_RETURN` in log terms, on the day it arrives (a close times 1000 is
    a move out and a move back: two days), and VIX outside :data:`VIX_RANGE`."""
    by_date = frame.sort_values("date", kind="stable")
    moves = np.log(by_date["spx_close"]).diff().abs() > MAX_ABS_LOG_RETURN
    moves = moves.reindex(frame.index)
    low, high = VIX_RANGE
    return {
        f"one-day |ln close change| > {MAX_ABS_LOG_RETURN:g}": moves,
        f"vix_close outside [{low:g}, {high:g}]": (frame["vix_close"] < low)
        | (frame["vix_close"] > high),
    }


def refuse_implausible_values(frame: pd.DataFrame) -> None:
    """Raise :class:`OptvolInputError` naming each rule of :func:`implausible_values` that
    rows break, with how many and the first date, when any does."""
    rules = implausible_values(frame)
    broken = count_violations(rules)
    if broken:
        first = _first(frame, rules)
        listed = "; ".join(f"{rule}: {n} (first {first[rule]})" for rule, n in broken.items())
        raise OptvolInputError(
            f"implausible market values, refused as configured (implausible_values: fail): "
            f"{listed}; correct the file, or set implausible_values: warn to load it"
        )


def check_raw_market_values(frame: pd.DataFrame) -> CheckOutcome:
    """Raw market rows: dated, prices sane (:func:`price_rules`), every value finite or
    missing, no implausible move or VIX (:func:`implausible_values`; this check warns)."""
    rules = {
        "missing date": frame["date"].isna(),
        **price_rules(frame),
        **infinite_values(frame),
        **implausible_values(frame),
    }
    return outcome_of(count_violations(rules), "dates and prices are sane", _first(frame, rules))


def _first(frame: pd.DataFrame, rules: dict[str, pd.Series]) -> dict[str, str]:
    dates = frame["date"]
    return first_violations(rules, lambda i: str(dates.iloc[i])[:10])


def check_market_feature_values(frame: pd.DataFrame) -> CheckOutcome:
    """Features: unique sorted dates, prices sane (:func:`price_rules`: positive, open and
    close inside the day's range, no future date), RV >= 0, every value finite or missing
    (an infinite VIX would reach the models)."""
    rules = {
        "duplicate date": frame["date"].duplicated(),
        **price_rules(frame),
        "rv_21 < 0": frame["rv_21"] < 0,
        **infinite_values(frame),
    }
    violations = count_violations(rules)
    if not frame["date"].is_monotonic_increasing:
        violations["dates not sorted"] = 1
    return outcome_of(
        violations,
        "dates unique and sorted; prices and RV sane; values finite",
        _first(frame, rules),
    )


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


def check_expected_nulls(frame: pd.DataFrame) -> CheckOutcome:
    """Each derived column of ``market_features`` is missing on exactly the rows its
    inputs explain: warm-up windows, days without VIX, the last 21 days for the targets."""
    expected = expected_null_counts(frame, macro_columns(frame))
    actual = missing_counts(frame, expected)
    wrong = {c: {"expected": expected[c], "actual": actual[c]}
             for c in expected if expected[c] != actual[c]}  # fmt: skip
    return CheckOutcome(
        not wrong,
        "null counts as expected" if not wrong else f"unexpected nulls: {wrong}",
        {"null_counts": actual, "unexpected": wrong},
    )


def check_no_look_ahead(frame: pd.DataFrame) -> CheckOutcome:
    """No model input of ``market_features`` is a target, and features recomputed from
    the rows up to their day only are identical to the table's (at 8 days spread over the
    history)."""
    macro = macro_columns(frame)
    leaking = look_ahead_columns([*feature_columns(macro), *design_matrix(frame, macro).columns])
    mismatches = recomputed_mismatches(frame, macro)
    passed = not leaking and not mismatches
    return CheckOutcome(
        passed,
        "features use data up to their day only"
        if passed
        else f"look-ahead: target columns among inputs {leaking}; features that change "
        f"without later rows {mismatches}",
        {"target_columns_among_inputs": leaking, "days_whose_features_use_later_rows": mismatches},
    )


def market_feature_outcomes(frame: pd.DataFrame) -> dict[str, CheckOutcome]:
    """Every blocking check of ``market_features``, by check name: what must pass before
    the table is written."""
    return {
        "schema": check_schema(frame, market_types(frame, features=True)),
        "null_counts": check_nulls(
            frame, MARKET_FEATURE_NULLS, expected_null_counts(frame, macro_columns(frame))
        ),
        "values": check_market_feature_values(frame),
        "expected_nulls": check_expected_nulls(frame),
        "no_look_ahead": check_no_look_ahead(frame),
    }


def raw_market_outcomes(frame: pd.DataFrame) -> dict[str, CheckOutcome]:
    """Every check of ``raw_market``, by check name (the null and value checks warn,
    never block: cleaning exists for such rows)."""
    return {
        "schema": check_schema(frame, market_types(frame, features=False)),
        "null_counts": check_nulls(frame, RAW_MARKET_NULLS),
        "values": check_raw_market_values(frame),
    }
