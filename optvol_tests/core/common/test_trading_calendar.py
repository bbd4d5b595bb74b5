"""Tests for optvol.core.common.trading_calendar (the NYSE's holiday rules)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from optvol.core.common.trading_calendar import (
    is_trading_day,
    nyse_holidays,
    trading_days_between,
)
from optvol.sample.calendar import NYSE_HOLIDAYS


def test_the_rules_give_the_exchanges_published_holidays_of_2020_to_2022():
    # The sample's calendar lists them by hand, as the exchange published them.
    np.testing.assert_array_equal(
        nyse_holidays(2020, 2022), np.array(NYSE_HOLIDAYS, dtype="datetime64[D]")
    )


@pytest.mark.parametrize(
    ("day", "closed"),
    [
        ("2018-12-05", True),  # President Bush's funeral
        ("2018-03-30", True),  # Good Friday
        ("2019-04-19", True),  # Good Friday
        ("2021-12-31", False),  # New Year's Day 2022 fell on a Saturday: not observed
        ("2017-01-02", True),  # New Year's Day on a Sunday: the Monday
        ("2015-07-03", True),  # Independence Day on a Saturday: the Friday
        ("2021-06-18", False),  # Juneteenth was first observed in 2022
        ("2023-06-19", True),
        ("1997-01-20", False),  # Martin Luther King Jr. Day from 1998
        ("2012-10-29", True),  # Hurricane Sandy
        ("2019-11-28", True),  # Thanksgiving
        ("2024-03-29", True),  # Good Friday
        ("2026-12-07", False),  # a Monday
        ("2026-12-05", True),  # a Saturday
    ],
)
def test_single_days(day, closed):
    assert bool(is_trading_day(np.datetime64(day))) is not closed


def test_trading_days_to_expiry_count_the_sessions_after_the_quote_date():
    days = trading_days_between(
        np.array(["2021-12-30", "2021-12-31", "2022-01-14", "2022-01-21", "2022-01-21"],
                 dtype="datetime64[D]"),
        np.array(["2022-01-21", "2022-01-21", "2022-01-21", "2022-01-21", "2022-01-20"],
                 dtype="datetime64[D]"),
    )  # fmt: skip
    # From Thursday 2021-12-30: Dec 31, then Jan 3-7, 10-14, 18-21 (the 17th is a holiday).
    np.testing.assert_array_equal(days, [15, 14, 4, 0, 0])
    assert dt.date(2022, 1, 17).weekday() == 0
