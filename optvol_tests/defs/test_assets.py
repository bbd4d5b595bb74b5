"""The assets through Dagster: the whole graph, idempotency, retries, failures."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from optvol.core.common.errors import InputNotFoundError
from optvol.core.common.paths import ARTIFACT_PATHS
from optvol.core.common.retry import ingest_retry_delay
from optvol.definitions import load_definitions
from optvol.defs.options.assets import option_quotes, raw_option_quotes
from optvol.defs.options.partitions import range_tags
from optvol.defs.shared.retry import INGEST_RETRY_POLICY, read_with_retries
from optvol.defs.volatility.assets import market_features, raw_market
from optvol_tests.builders import small_chain, write_optionsdx

TABLE_ASSETS = [raw_option_quotes, option_quotes, raw_market, market_features]
TABLES = {a.key.path[-1]: ARTIFACT_PATHS[a.key.path[-1]] for a in TABLE_ASSETS}
ALL = TABLE_ASSETS


def materialize(
    selection=ALL, months=("2020-01", "2020-01"), **kwargs
) -> dg.ExecuteInProcessResult:
    """A run of ``selection`` over the quote months ``months`` (first, last)."""
    return dg.materialize(
        selection,
        resources=load_definitions().resources,
        raise_on_error=False,
        tags={**range_tags(*months), **kwargs.pop("tags", {})},
        **kwargs,
    )


def artifact_bytes(root: Path) -> dict[str, bytes]:
    """Every file of the table assets (a partitioned one is a directory of months)."""
    files = {}
    for relative in TABLES.values():
        path = root / relative
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            files[str(file.relative_to(root))] = file.read_bytes()
    return files


def test_whole_graph_materializes_with_checks_passing(small_data_root):
    result = materialize()
    assert result.success
    for relative in TABLES.values():
        assert (small_data_root / relative).stat().st_size > 0
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 14 and all(e.passed for e in evaluations)
    clean = pq.read_table(small_data_root / ARTIFACT_PATHS["option_quotes"] / "2020-01.parquet")
    assert clean.num_rows == 2 * len(small_chain())  # two option sides per optionsDX row


def test_materialization_metadata(small_data_root):
    result = materialize()
    metadata = {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    quotes = metadata["option_quotes"]
    assert quotes["dagster/row_count"].value == 2 * len(small_chain())
    assert "usable" in [c.name for c in quotes["dagster/column_schema"].schema.columns]
    assert quotes["path"].path.endswith("processed/option_quotes")
    assert quotes["bytes"].value > 0 and "quote_date" in quotes["preview"].md_str
    assert metadata["raw_option_quotes"]["input_rows"].value == len(small_chain())


def test_materializing_twice_gives_identical_parquet_bytes(small_data_root):
    assert materialize().success
    first = artifact_bytes(small_data_root)
    assert materialize().success
    assert artifact_bytes(small_data_root) == first


def test_missing_input_fails_with_the_expected_path(small_data_root, sleeps):
    for path in (small_data_root / "raw" / "options").iterdir():
        path.unlink()
    result = materialize([raw_option_quotes])
    assert not result.success
    assert sleeps == [1, 2, 4]
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.event_specific_data.error
    assert str(small_data_root / "raw" / "options") in error.message
    assert error.message.count("no input files in") == 1 and error.cause is None
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_input_appearing_after_a_failed_attempt_is_ingested_on_retry(small_data_root, monkeypatch):
    import optvol.defs.shared.retry

    options = small_data_root / "raw" / "options"
    stash = small_data_root / "stash.txt"
    (options / "spy_eod_202001.txt").rename(stash)
    waits: list[float] = []

    def deliver_while_waiting(seconds: float) -> None:
        """The file arrives while the first retry waits."""
        waits.append(seconds)
        if stash.exists():
            stash.rename(options / "spy_eod_202001.txt")

    monkeypatch.setattr(optvol.defs.shared.retry, "sleep", deliver_while_waiting)
    result = materialize([raw_option_quotes])
    assert result.success
    assert waits == [1]


def test_retry_policy_and_plan_delays():
    assert raw_option_quotes.op.retry_policy == INGEST_RETRY_POLICY
    assert raw_market.op.retry_policy == INGEST_RETRY_POLICY
    assert INGEST_RETRY_POLICY.max_retries == 3
    assert INGEST_RETRY_POLICY.delay == 1
    assert INGEST_RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL
    assert [ingest_retry_delay(n) for n in (1, 2, 3)] == [1, 2, 4]
    with pytest.raises(ValueError):
        ingest_retry_delay(0)


class _Context:
    """The one attribute of an execution context that ``read_with_retries`` uses."""

    def __init__(self) -> None:
        self.log = dg.get_dagster_logger()


def test_input_errors_retry_after_1_2_4_seconds_then_fail_once(sleeps, caplog):
    err = InputNotFoundError("input directory not found: /data/raw/options")
    attempts: list[int] = []

    def read():
        attempts.append(1)
        raise err

    with pytest.raises(dg.Failure) as failed:
        read_with_retries(_Context(), read)
    assert len(attempts) == 4 and sleeps == [1, 2, 4]
    assert failed.value.description == (
        "ingest failed after 3 retries: input directory not found: /data/raw/options"
    )
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    lines = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert lines == [
        f"input directory not found: /data/raw/options; retry {n} of 3 in {s} s"
        for n, s in ((1, 1), (2, 2), (3, 4))
    ]
    assert read_with_retries(_Context(), lambda: "read") == "read"


def test_previous_artifacts_survive_a_failed_run(small_data_root, sleeps, step_retry_waits):
    assert materialize().success
    before = artifact_bytes(small_data_root)
    source = small_data_root / "raw" / "options" / "spy_eod_202001.txt"
    source.write_text(source.read_text()[:-200])  # truncated delivery
    result = materialize()
    assert not result.success
    assert sleeps == [1, 2, 4]  # the truncated file was tried again, then refused
    retried = [event for event in result.all_events if event.is_step_up_for_retry]
    assert retried == [] and step_retry_waits == []  # inside the step, not by its policy
    assert artifact_bytes(small_data_root) == before
    leftovers = [p for p in small_data_root.rglob("*.tmp")]
    assert leftovers == []


def test_long_format_through_run_config(small_data_root):
    options = small_data_root / "raw" / "options"
    for path in options.iterdir():
        path.unlink()
    (options / "vendor.csv").write_text(
        "DataDate,Expiration,Strike,Type,Bid,Ask,UnderlyingPrice\n"
        "01/02/2020,01/17/2020,320,call,3.0,3.1,321.5\n"
        "01/02/2020,01/17/2020,320,put,1.1,1.2,321.5\n"
    )
    config = {
        "ops": {
            "raw_option_quotes": {
                "config": {
                    "long_format": {
                        "preset": "historicaloptiondata",
                        "columns": {
                            "last": "",
                            "volume": "",
                            "open_interest": "",
                            "iv": "",
                            "delta": "",
                            "gamma": "",
                            "vega": "",
                            "theta": "",
                        },
                    }
                }
            }
        }
    }
    result = materialize([raw_option_quotes, option_quotes], run_config=config)
    assert result.success
    clean = pq.read_table(small_data_root / ARTIFACT_PATHS["option_quotes"] / "2020-01.parquet")
    clean = clean.to_pandas()
    assert list(clean["option_type"]) == ["C", "P"] and list(clean["mid"]) == [3.05, 1.15]


def test_second_file_with_later_quotes_is_merged(small_data_root):
    write_optionsdx(
        small_data_root / "raw" / "options" / "spy_eod_202002.txt",
        small_chain(dates=("2020-02-03",), expiries=("2020-02-21",)),
    )
    assert materialize([raw_option_quotes, option_quotes], months=("2020-01", "2020-02")).success
    months = sorted((small_data_root / ARTIFACT_PATHS["option_quotes"]).iterdir())
    assert [p.name for p in months] == ["2020-01.parquet", "2020-02.parquet"]
    january, february = (pq.read_table(p).to_pandas() for p in months)
    assert january["source_file"].unique().tolist() == ["spy_eod_202001.txt"]
    assert february["source_file"].unique().tolist() == ["spy_eod_202002.txt"]
    assert february["quote_date"].max().strftime("%Y-%m-%d") == "2020-02-03"


def test_a_write_that_dies_halfway_keeps_the_previous_artifacts(
    small_data_root, monkeypatch, step_retry_waits
):
    import optvol.core.common.parquet as parquet

    assert materialize().success
    before = artifact_bytes(small_data_root)
    real_write = parquet.pq.write_table

    def disk_full(table, where, **kwargs):
        real_write(table.slice(0, 1), where, **kwargs)  # something is on disk already
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(parquet.pq, "write_table", disk_full)
    result = materialize()
    assert not result.success
    # an OSError may be transient: each ingest step was retried by its policy, then failed
    retried = [event.step_key for event in result.all_events if event.is_step_up_for_retry]
    failed = [event.step_key for event in result.all_events if event.is_step_failure]
    assert sorted(retried) == ["raw_market"] * 3 + ["raw_option_quotes"] * 3
    assert sorted(failed) == ["raw_market", "raw_option_quotes"]
    assert {1, 3, 7} <= set(step_retry_waits)  # the policy's waits, not slept
    assert artifact_bytes(small_data_root) == before
    assert not [p for p in small_data_root.rglob("*") if p.name.endswith(".tmp")]
