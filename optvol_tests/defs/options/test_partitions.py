"""Quote-month partitions: the definition, month ranges, and checks month by month."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pytest

from optvol.core.common import validation as v
from optvol.core.common.errors import OptvolInputError
from optvol.defs.options.partitions import (
    FIRST_MONTH_ENV,
    QUOTE_MONTHS,
    contiguous_ranges,
    input_month_range,
    range_tags,
)
from optvol_tests.builders import small_chain, write_optionsdx


def test_months_start_in_2020_and_include_the_month_in_progress():
    keys = QUOTE_MONTHS.get_partition_keys()
    assert keys[:2] == ["2020-01", "2020-02"]
    assert keys[-1] == pd.Timestamp.now(tz="UTC").strftime("%Y-%m")


def _first_key(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = "from optvol.defs.options.partitions import QUOTE_MONTHS; print(QUOTE_MONTHS.get_first_partition_key())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_the_first_month_is_set_by_the_environment(monkeypatch):
    import os

    result = _first_key({**os.environ, FIRST_MONTH_ENV: "2015-07"})
    assert result.returncode == 0 and result.stdout.strip() == "2015-07"
    bad = _first_key({**os.environ, FIRST_MONTH_ENV: "July 2015"})
    assert bad.returncode != 0 and f"{FIRST_MONTH_ENV} must be a month as YYYY-MM" in bad.stderr


def test_contiguous_ranges_split_at_gaps_and_drop_unknown_months():
    months = ["2020-05", "2020-01", "2020-02", "2020-02", "2019-12", "2020-03", "2099-01"]
    assert contiguous_ranges(months) == [("2020-01", "2020-03"), ("2020-05", "2020-05")]
    assert contiguous_ranges([]) == []
    assert contiguous_ranges(["2020-12", "2021-01"]) == [("2020-12", "2021-01")]


def test_range_tags_are_the_ones_dagster_reads():
    assert range_tags("2020-01", "2020-03") == {
        "dagster/asset_partition_range_start": "2020-01",
        "dagster/asset_partition_range_end": "2020-03",
    }


def test_input_month_range_reads_the_quote_dates(tmp_path):
    write_optionsdx(tmp_path / "b.csv", small_chain(dates=("2020-03-02", "2020-05-29")))
    write_optionsdx(
        tmp_path / "a.csv", small_chain(dates=("2020-02-03",), expiries=("2020-03-20",))
    )
    assert input_month_range(tmp_path) == ("2020-02", "2020-05")


def test_input_month_range_refuses_months_outside_the_partitions(tmp_path):
    write_optionsdx(
        tmp_path / "a.csv", small_chain(dates=("2019-12-31",), expiries=("2020-01-17",))
    )
    with pytest.raises(
        OptvolInputError,
        match=f"before the first quote-month partition 2020-01: set {FIRST_MONTH_ENV}=2019-12",
    ):
        input_month_range(tmp_path)


def test_input_month_range_of_an_empty_directory_says_so(tmp_path):
    with pytest.raises(OptvolInputError, match="no input files in"):
        input_month_range(tmp_path)


# --- checks month by month -------------------------------------------------------------


class _Counting(dict):
    """A mapping that records which months were read."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.read: list[str] = []

    def __getitem__(self, key):
        self.read.append(key)
        return super().__getitem__(key)


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0] * n})


def _has_rows_over_two(frame: pd.DataFrame) -> v.CheckOutcome:
    return v.CheckOutcome(len(frame) > 2, f"{len(frame)} rows", {"rows": len(frame)})


def test_check_each_month_passes_when_every_month_with_rows_passes():
    months = _Counting({"2020-01": _frame(3), "2020-02": _frame(0), "2020-03": _frame(5)})
    outcome = v.check_each_month(months, _has_rows_over_two)
    assert outcome.passed
    assert outcome.description == "2 month(s): 5 rows"
    assert outcome.metadata["months_without_rows"] == ["2020-02"]
    assert outcome.metadata["months_checked"] == 2
    assert months.read == ["2020-01", "2020-02", "2020-03"]  # each read once, in order


def test_check_each_month_names_the_first_failing_month():
    months = {"2020-01": _frame(3), "2020-02": _frame(1), "2020-03": _frame(2)}
    outcome = v.check_each_month(months, _has_rows_over_two)
    assert not outcome.passed
    assert outcome.description == "2 of 3 months fail; 2020-02: 1 rows"
    assert outcome.metadata["failed_months"] == {"2020-02": "1 rows", "2020-03": "2 rows"}
    assert outcome.metadata["first_failure"] == {"rows": 1}


def test_check_each_month_passes_a_run_of_empty_months_and_says_so():
    table = pa.table({"x": pa.array([], pa.float64())})
    outcome = v.check_each_month({"2020-01": table}, _has_rows_over_two)
    assert outcome.passed and outcome.description == "no rows in any month: ['2020-01']"
    assert outcome.metadata["months_checked"] == 0
