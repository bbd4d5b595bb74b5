"""The rules of the market tables, for their asset checks, the CLI and the tests:
``raw_market`` as the file held it, ``market_features`` after cleaning."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optvol.core.common.validation import CheckOutcome, count_violations, outcome_of
from optvol.core.volatility.features import TARGET_COLUMNS, feature_columns
from optvol.core.volatility.market import REQUIRED_COLUMNS as MARKET_REQUIRED_COLUMNS
from optvol.core.volatility.market import macro_columns


def check_raw_market_values(frame: pd.DataFrame) -> CheckOutcome:
    """Raw market rows: dated, positive prices, high >= low."""
    rules = {
        "missing date": frame["date"].isna(),
        "non-positive price": (frame[list(MARKET_REQUIRED_COLUMNS[1:])] <= 0).any(axis=1),
        "spx_high < spx_low": frame["spx_high"] < frame["spx_low"],
    }
    return outcome_of(count_violations(rules), "dates and prices are sane")


def check_market_feature_values(frame: pd.DataFrame) -> CheckOutcome:
    """Features: unique sorted dates, positive prices, high >= low, RV >= 0."""
    rules = {
        "duplicate date": frame["date"].duplicated(),
        "non-positive price": (frame[list(MARKET_REQUIRED_COLUMNS[1:])] <= 0).any(axis=1),
        "spx_high < spx_low": frame["spx_high"] < frame["spx_low"],
        "rv_21 < 0": frame["rv_21"] < 0,
        "non-finite log_return": np.isinf(frame["log_return"]),
    }
    violations = count_violations(rules)
    if not frame["date"].is_monotonic_increasing:
        violations["dates not sorted"] = 1
    return outcome_of(violations, "dates unique and sorted; prices and RV sane")


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
