"""The NYSE's trading days, by its holiday rules, for any year.

The exchange closes on ten holidays a year (New Year's Day, Martin Luther King Jr. Day
since 1998, Washington's Birthday, Good Friday, Memorial Day, Juneteenth since 2022,
Independence Day, Labor Day, Thanksgiving and Christmas). A holiday on a Sunday is
observed on the Monday after, one on a Saturday on the Friday before -- except New Year's
Day, whose Saturday is not observed (the Friday is the last trading day of a year). The
exchange also closed on a few unscheduled days (:data:`UNSCHEDULED_CLOSINGS`).

Trading days to expiry count the sessions an option still lives through: those after the
quote date's close up to and including the expiration day. Variance accrues mostly when
the market trades, so a quote's implied vol in calendar time moves over a weekend even
when the market's view has not (French and Roll 1986 measure weekend variance at about a
fifth of a trading day's per calendar day).

References
----------
.. [1] NYSE Group "Holidays and Trading Hours", the exchange's published rules.
.. [2] French, K. R. and Roll, R. (1986) "Stock return variances: the arrival of
   information and the reaction of traders", Journal of Financial Economics 17(1), 5-26.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np

__all__ = [
    "UNSCHEDULED_CLOSINGS",
    "is_trading_day",
    "nyse_holidays",
    "trading_days_between",
]

UNSCHEDULED_CLOSINGS = tuple(
    dt.date.fromisoformat(day)
    for day in (
        "1994-04-27",  # President Nixon's funeral
        "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14",  # September 11
        "2004-06-11",  # President Reagan's funeral
        "2007-01-02",  # President Ford's funeral
        "2012-10-29", "2012-10-30",  # Hurricane Sandy
        "2018-12-05",  # President George H. W. Bush's funeral
        "2025-01-09",  # President Carter's funeral
    )
)  # fmt: skip


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th (1-based; -1 the last) ``weekday`` (Monday 0) of the month."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> dt.date:
    """Western Easter Sunday (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


def _observed(day: dt.date) -> dt.date:
    """A Saturday holiday on the Friday before, a Sunday one on the Monday after."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


def _holidays_of(year: int) -> list[dt.date]:
    days = []
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != 5:  # a Saturday New Year's Day is not observed
        days.append(_observed(new_year))
    if year >= 1998:
        days.append(_nth_weekday(year, 1, 0, 3))  # Martin Luther King Jr. Day
    days.append(_nth_weekday(year, 2, 0, 3))  # Washington's Birthday
    days.append(_easter(year) - dt.timedelta(days=2))  # Good Friday
    days.append(_nth_weekday(year, 5, 0, -1))  # Memorial Day
    if year >= 2022:
        days.append(_observed(dt.date(year, 6, 19)))  # Juneteenth
    days.append(_observed(dt.date(year, 7, 4)))  # Independence Day
    days.append(_nth_weekday(year, 9, 0, 1))  # Labor Day
    days.append(_nth_weekday(year, 11, 3, 4))  # Thanksgiving
    days.append(_observed(dt.date(year, 12, 25)))  # Christmas
    return days


@functools.lru_cache(maxsize=32)
def nyse_holidays(first_year: int, last_year: int) -> np.ndarray:
    """Every weekday the NYSE is closed from ``first_year`` to ``last_year`` inclusive, as
    sorted ``datetime64[D]`` (read-only: shared between calls)."""
    days = [day for year in range(first_year, last_year + 1) for day in _holidays_of(year)]
    days += [day for day in UNSCHEDULED_CLOSINGS if first_year <= day.year <= last_year]
    holidays = np.unique(np.array(days, dtype="datetime64[D]"))
    holidays.setflags(write=False)
    return holidays


def _holidays_around(*days: np.ndarray) -> np.ndarray:
    years = [np.asarray(d, "datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
             for d in days if np.size(d)]  # fmt: skip
    if not years:
        return nyse_holidays(2000, 2000)
    first = int(min(y.min() for y in years))
    last = int(max(y.max() for y in years))
    return nyse_holidays(first, last + 1)


def is_trading_day(days: np.ndarray) -> np.ndarray:
    """Whether each day (anything ``datetime64[D]`` takes) is an NYSE trading day."""
    days = np.asarray(days, "datetime64[D]")
    return np.is_busday(days, holidays=_holidays_around(days))


def trading_days_between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The NYSE sessions after ``start``'s and up to and including ``end``'s: the trading
    days an option quoted at ``start``'s close and expiring on ``end`` still lives
    through (0 where ``end <= start``)."""
    start = np.asarray(start, "datetime64[D]")
    end = np.asarray(end, "datetime64[D]")
    one = np.timedelta64(1, "D")
    count = np.busday_count(start + one, end + one, holidays=_holidays_around(start, end))
    return np.maximum(count, 0)
