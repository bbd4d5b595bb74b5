"""NYSE trading calendar 2020-2022 and SPY option expiry dates for the sample."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = [
    "END",
    "NYSE_HOLIDAYS",
    "START",
    "adjust_to_trading_day",
    "expiry_calendar",
    "third_friday",
    "trading_days",
    "unix_close",
]

START = dt.date(2020, 1, 2)
END = dt.date(2022, 12, 30)

# NYSE full-day closures. New Year's Day 2022 fell on a Saturday and was not
# observed on Friday 2021-12-31 (a trading day); Juneteenth was first observed
# in 2022.
NYSE_HOLIDAYS: tuple[dt.date, ...] = tuple(
    dt.date.fromisoformat(d)
    for d in (
        # 2020
        "2020-01-01",  # New Year's Day
        "2020-01-20",  # Martin Luther King Jr. Day
        "2020-02-17",  # Washington's Birthday (Presidents' Day)
        "2020-04-10",  # Good Friday
        "2020-05-25",  # Memorial Day
        "2020-07-03",  # Independence Day (observed)
        "2020-09-07",  # Labor Day
        "2020-11-26",  # Thanksgiving Day
        "2020-12-25",  # Christmas Day
        # 2021
        "2021-01-01",
        "2021-01-18",
        "2021-02-15",
        "2021-04-02",
        "2021-05-31",
        "2021-07-05",  # Independence Day (observed)
        "2021-09-06",
        "2021-11-25",
        "2021-12-24",  # Christmas Day (observed)
        # 2022
        "2022-01-17",
        "2022-02-21",
        "2022-04-15",
        "2022-05-30",
        "2022-06-20",  # Juneteenth (observed)
        "2022-07-04",
        "2022-09-05",
        "2022-11-24",
        "2022-12-26",  # Christmas Day (observed)
    )
)

_HOLIDAYS_NP = np.array(NYSE_HOLIDAYS, dtype="datetime64[D]")


def trading_days(start: dt.date = START, end: dt.date = END) -> pd.DatetimeIndex:
    """NYSE trading days from ``start`` to ``end`` inclusive (2020-2022 holidays)."""
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + np.timedelta64(1, "D"))
    keep = np.is_busday(days, holidays=_HOLIDAYS_NP)
    return pd.DatetimeIndex(days[keep].astype("datetime64[ns]"))


def adjust_to_trading_day(days: np.ndarray) -> np.ndarray:
    """Move dates that are not trading days back to the previous trading day."""
    return np.busday_offset(
        np.asarray(days, dtype="datetime64[D]"), 0, roll="backward", holidays=_HOLIDAYS_NP
    )


def third_friday(year: int, month: int) -> dt.date:
    """The third Friday of a month (the standard monthly expiry)."""
    first = dt.date(year, month, 1)
    offset = (4 - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 14)


def expiry_calendar(
    weekly_days: tuple[int, ...],
    last: dt.date,
    first: dt.date = START,
) -> pd.DataFrame:
    """
    Every listed expiry date between ``first`` and ``last``, with its kind.

    Parameters
    ----------
    weekly_days : tuple of int
        Weekdays (Monday=0) on which weeklies expire, e.g. ``(0, 2, 4)``.
    last, first : datetime.date
        The span of the calendar.

    Returns
    -------
    DataFrame
        Columns ``expiry`` (datetime64, moved to the previous trading day
        when it falls on a holiday) and ``kind``: ``"monthly"`` (third Friday),
        ``"leaps"`` (third Friday of December or January) or ``"weekly"``.
        One row per distinct date; a monthly date is never also a weekly.
    """
    days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
    weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday
    weekly = days[np.isin(weekday, weekly_days)]
    monthly, leaps = [], []
    for year in range(first.year, last.year + 1):
        for month in range(1, 13):
            d = third_friday(year, month)
            if first <= d <= last:
                (leaps if month in (1, 12) else monthly).append(d)
    frame = pd.concat(
        [
            pd.DataFrame({"expiry": adjust_to_trading_day(np.array(leaps, "datetime64[D]")),
                          "kind": "leaps"}),
            pd.DataFrame({"expiry": adjust_to_trading_day(np.array(monthly, "datetime64[D]")),
                          "kind": "monthly"}),
            pd.DataFrame({"expiry": adjust_to_trading_day(weekly), "kind": "weekly"}),
        ],
        ignore_index=True,
    )  # fmt: skip
    frame["expiry"] = frame["expiry"].astype("datetime64[ns]")
    frame = frame.drop_duplicates("expiry", keep="first")
    return frame.sort_values("expiry", kind="stable").reset_index(drop=True)


def unix_close(days: pd.DatetimeIndex | pd.Series | np.ndarray) -> np.ndarray:
    """Unix seconds of 16:00 America/New_York on each date (DST-aware)."""
    index = pd.DatetimeIndex(np.asarray(days, dtype="datetime64[ns]"))
    local = (index.normalize() + pd.Timedelta(hours=16)).tz_localize("America/New_York")
    return local.asi8 // 1_000_000_000
