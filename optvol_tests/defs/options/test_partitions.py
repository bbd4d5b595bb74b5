"""Quote-month partitions: the definition, month ranges, and checks month by month."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet
import pytest

from optvol.core.common import validation as rules
from optvol.core.common.errors import OptvolInputError
from optvol.core.options.ingest.months import stored_months
from optvol.defs.options.partitions import (
    QUOTE_MONTHS,
    contiguous_ranges,
    input_month_range,
    quote_months,
    range_tags,
)
from optvol.defs.shared.settings import FIRST_MONTH_ENV
from optvol_tests.builders import small_chain, write_optionsdx


def test_months_start_when_listed_options_began_and_include_the_month_in_progress():
    keys = QUOTE_MONTHS.get_partition_keys()
    assert keys[:2] == ["1973-04", "1973-05"]
    assert keys[-1] == pd.Timestamp.now(tz="UTC").strftime("%Y-%m")


def test_the_first_month_is_set_by_the_environment_when_the_definitions_load(monkeypatch):
    """Set after the modules were imported, the setting still counts: it is read when the
    definitions load, for every partitioned asset and the jobs over them."""
    from optvol.definitions import load_definitions

    monkeypatch.setenv(FIRST_MONTH_ENV, "2015-07")
    definitions = load_definitions.__wrapped__()
    graph = definitions.resolve_asset_graph()
    for asset in ("raw_option_quotes", "option_quotes"):
        partitions = graph.get(dg.AssetKey(asset)).partitions_def
        assert partitions.get_first_partition_key() == "2015-07"
    assert definitions.resolve_job_def("ingest_options").partitions_def == quote_months("2015-07")
    assert definitions.resolve_implicit_global_asset_job_def().partitions_def == quote_months(
        "2015-07"
    )  # the assets and the jobs agree
    for bad in ("July 2015", "2015-7", "1970-01"):
        monkeypatch.setenv(FIRST_MONTH_ENV, bad)
        with pytest.raises(ValueError, match=f"{FIRST_MONTH_ENV} must be a month as YYYY-MM"):
            load_definitions.__wrapped__()


def test_stored_months_count_only_month_files(tmp_path):
    stored = tmp_path / "processed" / "option_quotes"
    stored.mkdir(parents=True)
    (stored / "2011-05.parquet").write_bytes(b"")
    (stored / ".2009-01.parquet.x.tmp").write_bytes(b"")
    (stored / "notes.parquet").write_bytes(b"")
    assert stored_months(stored) == ["2011-05"]


def test_the_month_index_scans_only_changed_files(tmp_path, monkeypatch):
    from optvol.core.options.ingest import months as index

    calls: list[str] = []
    scan = index.scan_quote_months

    def counting(paths, long_format=None):
        calls.extend(p.name for p in paths)
        return scan(paths, long_format)

    monkeypatch.setattr(index, "scan_quote_months", counting)
    options, saved = tmp_path / "options", tmp_path / "cache" / "months.json"
    write_optionsdx(options / "a.txt", small_chain(dates=("2016-04-01",), expiries=("2016-05-20",)))
    write_optionsdx(options / "b.txt", small_chain(dates=("2016-06-01",), expiries=("2016-07-15",)))
    expected = {"a.txt": ["2016-04"], "b.txt": ["2016-06"]}
    assert index.file_quote_months(options, index_file=saved) == expected
    assert index.file_quote_months(options, index_file=saved) == expected
    assert calls == ["a.txt", "b.txt"]
    write_optionsdx(options / "b.txt", small_chain(dates=("2016-07-01", "2016-08-01")))
    assert index.file_quote_months(options, index_file=saved)["b.txt"] == ["2016-07", "2016-08"]
    assert calls == ["a.txt", "b.txt", "b.txt"]
    saved.write_text("{ damaged")  # a damaged index is rebuilt, not an error
    assert index.file_quote_months(options, index_file=saved)["a.txt"] == ["2016-04"]
    (options / "c.txt").write_text("garbage\n")
    with pytest.raises(OptvolInputError, match="c.txt"):
        index.file_quote_months(options, index_file=saved)
    assert set(index.file_quote_months(options, index_file=saved, strict=False)) == {
        "a.txt",
        "b.txt",
    }


def test_contiguous_ranges_split_at_gaps_and_drop_unknown_months():
    months = ["2020-05", "2020-01", "2020-02", "2020-02", "2019-12", "2020-03", "2099-01"]
    assert contiguous_ranges(months) == [("2019-12", "2020-03"), ("2020-05", "2020-05")]
    from_2020 = quote_months("2020-01")
    assert contiguous_ranges(months, from_2020) == [("2020-01", "2020-03"), ("2020-05", "2020-05")]
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


def test_input_month_range_refuses_months_the_partitions_will_not_hold(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTVOL_DATA_DIR", str(tmp_path / "root"))
    monkeypatch.delenv(FIRST_MONTH_ENV, raising=False)
    default_dir = tmp_path / "root" / "raw" / "options"
    write_optionsdx(
        default_dir / "a.csv", small_chain(dates=("2019-12-31",), expiries=("2020-01-17",))
    )
    assert input_month_range(default_dir) == ("2019-12", "2019-12")
    monkeypatch.setenv(FIRST_MONTH_ENV, "2020-01")
    with pytest.raises(
        OptvolInputError, match=f"{FIRST_MONTH_ENV} is set to 2020-01; set it to 2019-12 or"
    ):
        input_month_range(default_dir)
    write_optionsdx(
        default_dir / "a.csv", small_chain(dates=("1972-12-29",), expiries=("1973-01-19",))
    )
    with pytest.raises(OptvolInputError, match=r"1972-12, before listed options began \(1973-04\)"):
        input_month_range(default_dir)


def test_input_month_range_of_an_empty_directory_says_so(tmp_path):
    with pytest.raises(OptvolInputError, match="no input files in"):
        input_month_range(tmp_path)


# --- checks month by month -------------------------------------------------------------


def _rows_over_two(rows: int) -> rules.CheckOutcome:
    return rules.CheckOutcome(rows > 2, f"{rows} rows", {"rows": rows})


def test_month_by_month_passes_when_every_month_with_rows_passes():
    outcomes = {"2020-01": _rows_over_two(3), "2020-02": None, "2020-03": _rows_over_two(5)}
    outcome = rules.month_by_month(outcomes)
    assert outcome.passed
    assert outcome.description == "2 month(s): 5 rows"
    assert outcome.metadata["months_without_rows"] == ["2020-02"]
    assert outcome.metadata["months_checked"] == 2
    assert outcome.metadata["last_month"] == {"rows": 5}


def test_month_by_month_names_the_first_failing_month():
    outcomes = {"2020-01": _rows_over_two(3), "2020-02": _rows_over_two(1),
                "2020-03": _rows_over_two(2)}  # fmt: skip
    outcome = rules.month_by_month(outcomes)
    assert not outcome.passed
    assert outcome.description == "2 of 3 months fail; 2020-02: 1 rows"
    assert outcome.metadata["failed_months"] == {"2020-02": "1 rows", "2020-03": "2 rows"}
    assert outcome.metadata["first_failure"] == {"rows": 1}


def test_month_by_month_passes_a_run_of_empty_months_and_says_so():
    outcome = rules.month_by_month({"2020-01": None})
    assert outcome.passed and outcome.description == "no rows in any month: ['2020-01']"
    assert outcome.metadata["months_checked"] == 0


def test_each_check_is_combined_over_the_months_on_its_own():
    months = {
        "2020-01": {"schema": _rows_over_two(3), "values": _rows_over_two(1)},
        "2020-02": None,
        "2020-03": {"schema": _rows_over_two(4), "values": _rows_over_two(4)},
    }
    combined = rules.each_check_month_by_month(months, ["schema", "values"])
    assert combined["schema"].passed and combined["schema"].metadata["months_checked"] == 2
    assert not combined["values"].passed
    assert combined["values"].metadata["failed_months"] == {"2020-01": "1 rows"}


def test_a_month_without_quotes_does_not_stop_the_months_that_have_them(tmp_path):
    import dagster as dg

    from optvol.definitions import resources_for
    from optvol.defs.options.assets import option_quotes, raw_option_quotes

    options = tmp_path / "raw" / "options"
    for month, day in (("202001", "2020-01-30"), ("202003", "2020-03-02")):
        write_optionsdx(options / f"spy_eod_{month}.txt", small_chain((day,), ("2020-06-19",)))
    result = dg.materialize(
        [raw_option_quotes, option_quotes],
        resources=resources_for(str(tmp_path)),
        tags={"dagster/asset_partition_range_start": "2020-01",
              "dagster/asset_partition_range_end": "2020-03"},
        raise_on_error=False,
    )  # fmt: skip
    assert result.success
    stored = tmp_path / "processed" / "option_quotes"
    assert stored_months(stored) == ["2020-01", "2020-02", "2020-03"]
    schemas = {m: pa.parquet.read_schema(stored / f"{m}.parquet") for m in stored_months(stored)}
    assert schemas["2020-02"].equals(schemas["2020-01"], check_metadata=False)
    assert pd.read_parquet(stored / "2020-02.parquet").empty
    march = small_chain(("2020-03-02",), ("2020-06-19",))
    assert len(pd.read_parquet(stored / "2020-03.parquet")) == len(march) * 2
