"""Features and targets of the volatility task (docs/architecture.md §5), from the cleaned
daily table.

Every feature at day t is a function of rows up to and including t (prices, VIX, and
macro values already aligned to their release dates); every target at t is a function of
rows t+1 .. t+21 only. Targets carry the prefix ``target_`` so that no model can take one
for a feature by accident. Rows are trading days, so windows count trading days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRADING_DAYS_PER_YEAR = 252
HORIZON = 21
WEEK = 5
RV_WINDOWS = (1, 5, 21, 22, 63)
RANGE_WINDOW = 21
MACRO_CHANGE_DAYS = 252
RQ_WINDOW = 22
RQ_RATIO = f"rq_ratio_{RQ_WINDOW}"
TARGET_PREFIX = "target_"
TARGET_RV = "target_rv_21"
TARGET_RETURN = "target_return_21"
TARGET_COLUMNS = (TARGET_RV, TARGET_RETURN)
VIX_FEATURES = ("vix_close", "vrp", "vix_rv_ratio")
PRICE_FEATURES = (
    "log_return",
    *(f"rv_{n}" for n in RV_WINDOWS),
    f"parkinson_{RANGE_WINDOW}",
    f"garman_klass_{RANGE_WINDOW}",
    "return_5",
    "return_21",
    RQ_RATIO,
)
# Features that are volatilities or ratios of them, never negative.
NONNEGATIVE_FEATURES = (
    *(f"rv_{n}" for n in RV_WINDOWS),
    f"parkinson_{RANGE_WINDOW}",
    f"garman_klass_{RANGE_WINDOW}",
    "vix_close",
    "vix_rv_ratio",
    RQ_RATIO,
)
# Plausible ranges of the features a forecast can be asked from: a value outside is a
# unit or typing error (a VIX of 1e300, an annual volatility of 1e308), refused, not
# forecast from. Volatilities are annualised decimals; VIX is in points; returns are logs.
_VOLATILITY_BOUND = (0.0, 5.0)
FEATURE_BOUNDS = {
    "log_return": (-1.0, 1.0),
    "return_5": (-2.0, 2.0),
    "return_21": (-2.0, 2.0),
    **{f"rv_{n}": _VOLATILITY_BOUND for n in RV_WINDOWS},
    f"parkinson_{RANGE_WINDOW}": _VOLATILITY_BOUND,
    f"garman_klass_{RANGE_WINDOW}": _VOLATILITY_BOUND,
    RQ_RATIO: (0.0, 3.0),  # at most sqrt(22 / 3) = 2.71, one day holding all the variance
    "vix_close": (0.0, 200.0),
    "vrp": (-25.0, 4.0),  # (VIX/100)^2 - RV21^2 within those of its parts
    "vix_rv_ratio": (0.0, 1000.0),
}
# The daily prices each range estimator reads. Not every day of a real index history has
# a range: Yahoo's S&P 500 file repeats the close in every field before 1962 (high = low),
# and lacks the open on some later days.
RANGE_INPUTS = {
    f"parkinson_{RANGE_WINDOW}": ("spx_high", "spx_low"),
    f"garman_klass_{RANGE_WINDOW}": ("spx_open", "spx_high", "spx_low", "spx_close"),
}


def realized_vol(log_returns: pd.Series, window: int) -> pd.Series:
    """Annualised realized volatility over the last ``window`` returns up to and incl. t.

    ``RV_t = sqrt(252 / n * sum_{i=0}^{n-1} r_{t-i}^2)`` with ``n = window``: the
    zero-mean estimator (Andersen, Bollerslev, Diebold & Labys 2003), NaN until ``window``
    returns exist.
    """
    squared_sum = (log_returns**2).rolling(window, min_periods=window).sum()
    return np.sqrt(TRADING_DAYS_PER_YEAR / window * squared_sum)


def parkinson_variance(high: pd.Series, low: pd.Series) -> pd.Series:
    """Daily variance from the high-low range (Parkinson 1980, J. Business 53(1)).

    ``sigma^2_t = (ln(H_t / L_t))^2 / (4 ln 2)``.
    """
    return np.log(high / low) ** 2 / (4.0 * np.log(2.0))


def garman_klass_variance(
    open_: pd.Series, high: pd.Series, low: pd.Series, close: pd.Series
) -> pd.Series:
    """Daily variance from open, high, low and close (Garman & Klass 1980, J. Business 53(1)).

    ``sigma^2_t = 0.5 (ln(H_t / L_t))^2 - (2 ln 2 - 1) (ln(C_t / O_t))^2``, floored at 0
    (the estimator can dip below zero on a day whose open-close move spans the range).
    """
    value = 0.5 * np.log(high / low) ** 2 - (2.0 * np.log(2.0) - 1.0) * np.log(close / open_) ** 2
    return value.clip(lower=0.0)


def recorded_range(frame: pd.DataFrame, estimator: str) -> pd.Series:
    """The rule for days without a range, used by the features and by the checks alike: a
    day has a recorded range for ``estimator`` (a key of :data:`RANGE_INPUTS`) when every
    price it reads is present and the high is above the low. On any other day the range
    variance is missing, not zero, and so is every window that holds the day."""
    inputs = frame[list(RANGE_INPUTS[estimator])]
    return inputs.notna().all(axis=1) & (frame["spx_high"] > frame["spx_low"])


def quarticity_ratio(log_returns: pd.Series, window: int = RQ_WINDOW) -> pd.Series:
    """``sqrt(RQ) / RV`` over the last ``window`` daily returns, with the realized
    quarticity ``RQ = n / 3 * sum r^4`` and ``RV = sum r^2`` (Barndorff-Nielsen &
    Shephard 2002; the daily returns of the window stand for intraday ones).

    The ratio is about 1 for normal returns and grows with the fat tails that make RV a
    noisy measure of the window's variance (one crash day in a calm month): HARQ lets the
    weight of the RV lag shrink as it grows. Where RV is 0 the ratio is missing.
    """
    squares = (log_returns**2).rolling(window, min_periods=window).sum()
    fourths = (log_returns**4).rolling(window, min_periods=window).sum()
    return np.sqrt(window / 3.0 * fourths) / squares.where(squares > 0)


def annualised_range_vol(daily_variance: pd.Series, window: int = RANGE_WINDOW) -> pd.Series:
    """``sqrt(252 / n * sum_{i=0}^{n-1} sigma^2_{t-i})``: daily range variances over the last
    ``window`` days, annualised as realized volatility is."""
    total = daily_variance.rolling(window, min_periods=window).sum()
    return np.sqrt(TRADING_DAYS_PER_YEAR / window * total)


def macro_change_column(column: str) -> str:
    return f"{column}_chg_1y"


def add_features(frame: pd.DataFrame, macro: list[str]) -> pd.DataFrame:
    """The daily table with every feature of docs/architecture.md §5 added; rows in date order.

    - ``log_return`` ``r_t = ln(C_t / C_{t-1})``; ``return_5`` and ``return_21`` the log
      returns over the last 5 and 21 days (the week's and month's moves that the leverage
      terms of LHAR read; momentum);
    - ``rv_1, rv_5, rv_21, rv_22, rv_63``: :func:`realized_vol` (rv_1 = sqrt(252) |r_t|,
      rv_22 for HAR's monthly lag); ``rq_ratio_22``: :func:`quarticity_ratio`, which
      HARQ reads;
    - ``parkinson_21``, ``garman_klass_21``: :func:`annualised_range_vol` of the range
      variances, missing over windows holding a day without a recorded range
      (:func:`recorded_range`);
    - ``vrp = (VIX_t / 100)^2 - RV21_t^2`` and ``vix_rv_ratio = (VIX_t / 100) / RV21_t``
      (Bollerslev, Tauchen & Zhou 2009, RFS 22(11)); NaN where VIX is missing;
    - per macro series ``<name>_chg_1y``, its change over the last 252 trading days (levels
      of CPI-like series trend; their change does not). The level stays as it is.
    """
    out = frame.copy()
    close = out["spx_close"]
    out["log_return"] = np.log(close / close.shift(1))
    out["return_5"] = np.log(close / close.shift(WEEK))
    out["return_21"] = np.log(close / close.shift(HORIZON))
    out[RQ_RATIO] = quarticity_ratio(out["log_return"])
    for window in RV_WINDOWS:
        out[f"rv_{window}"] = realized_vol(out["log_return"], window)
    high, low, open_ = out["spx_high"], out["spx_low"], out["spx_open"]
    variances = {
        f"parkinson_{RANGE_WINDOW}": parkinson_variance(high, low),
        f"garman_klass_{RANGE_WINDOW}": garman_klass_variance(open_, high, low, close),
    }
    for name, variance in variances.items():
        out[name] = annualised_range_vol(variance.where(recorded_range(out, name)))
    vix = out["vix_close"] / 100.0
    out["vrp"] = vix**2 - out["rv_21"] ** 2
    out["vix_rv_ratio"] = vix / out["rv_21"]
    for column in macro:
        out[macro_change_column(column)] = out[column] - out[column].shift(MACRO_CHANGE_DAYS)
    return out


def add_targets(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with the two targets of docs/architecture.md §5 added.

    - ``target_rv_21``: realized vol over the next 21 trading days,
      ``sqrt(252 / 21 * sum_{i=1}^{21} r_{t+i}^2)``;
    - ``target_return_21``: the log return over the next 21 trading days,
      ``ln(C_{t+21} / C_t)``.

    Both are NaN on the last 21 rows, whose future is not in the table.
    """
    out = frame.copy()
    out[TARGET_RV] = realized_vol(out["log_return"], HORIZON).shift(-HORIZON)
    close = out["spx_close"]
    out[TARGET_RETURN] = np.log(close.shift(-HORIZON) / close)
    return out


def feature_columns(macro: list[str]) -> list[str]:
    """Every feature column, in table order: price features, VIX features, macro levels and
    their yearly changes."""
    return [
        *PRICE_FEATURES,
        *VIX_FEATURES,
        *macro,
        *(macro_change_column(c) for c in macro),
    ]


def look_ahead_columns(columns: list[str]) -> list[str]:
    """Columns that hold the future: the targets."""
    return [c for c in columns if c.startswith(TARGET_PREFIX)]


def expected_null_counts(frame: pd.DataFrame, macro: list[str]) -> dict[str, int]:
    """The number of NaN each derived column must have, given where its inputs are missing.

    A rolling feature is NaN on the rows whose window reaches back before the first return
    or holds a missing input; a VIX feature also where VIX or RV21 is; a target on the last
    21 rows. Anything else missing means a bug or a bad row.
    """
    close_missing = frame["spx_close"].isna()
    returns_missing = close_missing | close_missing.shift(1, fill_value=True)
    expected = {"log_return": int(returns_missing.sum())}

    def window_missing(missing: pd.Series, window: int) -> pd.Series:
        return missing.astype(float).rolling(window, min_periods=window).max().fillna(1.0) > 0

    for window in RV_WINDOWS:
        expected[f"rv_{window}"] = int(window_missing(returns_missing, window).sum())
    squares = (np.log(frame["spx_close"] / frame["spx_close"].shift(1)) ** 2).rolling(RQ_WINDOW)
    no_variation = squares.sum().eq(0) & ~window_missing(returns_missing, RQ_WINDOW)
    expected[RQ_RATIO] = int((window_missing(returns_missing, RQ_WINDOW) | no_variation).sum())
    for name, days in (("return_5", WEEK), ("return_21", HORIZON)):
        missing = close_missing | close_missing.shift(days, fill_value=True)
        expected[name] = int(missing.sum())
    for name in RANGE_INPUTS:
        expected[name] = int(window_missing(~recorded_range(frame, name), RANGE_WINDOW).sum())
    rv21_missing = window_missing(returns_missing, 21)
    vix_missing = frame["vix_close"].isna() | rv21_missing
    expected["vrp"] = expected["vix_rv_ratio"] = int(vix_missing.sum())
    for column in macro:
        level_missing = frame[column].isna()
        change_missing = level_missing | level_missing.shift(MACRO_CHANGE_DAYS, fill_value=True)
        expected[macro_change_column(column)] = int(change_missing.sum())
    future_missing = window_missing(returns_missing, HORIZON).shift(-HORIZON, fill_value=True)
    expected[TARGET_RV] = int(future_missing.sum())
    expected[TARGET_RETURN] = int(
        (close_missing | close_missing.shift(-HORIZON, fill_value=True)).sum()
    )
    return expected


def recomputed_mismatches(frame: pd.DataFrame, macro: list[str], probes: int = 8) -> dict:
    """Features that change when recomputed from the rows up to their day only.

    For ``probes`` days spread over the table, the features are rebuilt from the input
    columns of the rows up to that day and compared with the table's; a feature that used
    a later row differs. Returns ``{day: [columns that differ]}`` for the days that fail.
    """
    inputs = ["date", "spx_open", "spx_high", "spx_low", "spx_close", "vix_close", *macro]
    columns = feature_columns(macro)
    failures = {}
    for position in np.linspace(0, len(frame) - 1, probes).round().astype(int):
        truncated = add_features(frame.iloc[: position + 1][inputs], macro)
        stored = frame.iloc[: position + 1][columns].to_numpy(float)
        same = np.isclose(truncated[columns].to_numpy(float), stored, rtol=1e-12, atol=0.0,
                          equal_nan=True)  # fmt: skip
        differing = [c for c, ok in zip(columns, same.all(axis=0), strict=True) if not ok]
        if differing:
            failures[f"{frame['date'].iloc[position]:%Y-%m-%d}"] = differing
    return failures
