"""The ``optvol`` command, run as a user runs it."""

from __future__ import annotations

import json
import logging
import multiprocessing
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

from optvol.cli import main
from optvol.core.common.paths import ARTIFACT_PATHS, REPORT_PATHS
from optvol.definitions import load_definitions, resources_for
from optvol.defs.options.assets import option_quotes, raw_option_quotes
from optvol_tests.builders import (
    market_frame,
    small_chain,
    volatile_market_frame,
    write_market,
    write_optionsdx,
)
from optvol_tests.instance_race import open_new_instance

REPO = Path(__file__).resolve().parent.parent


def test_help_of_every_command(capsys):
    # `python -m optvol.cli` as a program once; each command's help in this process.
    out = subprocess.run(
        [sys.executable, "-m", "optvol.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "usage: optvol" in out
    for command in (["sample-data"], ["clean"], ["demo"], ["quote-months"]):
        with pytest.raises(SystemExit) as exited:
            main([*command, "--help"])
        assert exited.value.code == 0
        assert f"usage: optvol {command[0]}" in capsys.readouterr().out


def test_clean_options_gives_the_same_bytes_as_the_asset(small_data_root, tmp_path):
    inputs = sorted((small_data_root / "raw" / "options").iterdir())
    out = tmp_path / "clean.parquet"
    assert main(["clean", *map(str, inputs), "--out", str(out)]) == 0
    assert dg.materialize(
        [raw_option_quotes, option_quotes],
        resources=load_definitions().resources,
        partition_key="2020-01",
    ).success
    (month,) = (small_data_root / "processed" / "option_quotes").iterdir()  # the inputs' one month
    assert out.read_bytes() == month.read_bytes()


def test_clean_market_is_detected(tmp_path):
    out = tmp_path / "features.parquet"
    assert main(["clean", str(write_market(tmp_path / "m.csv")), "--out", str(out)]) == 0
    frame = pq.read_table(out).to_pandas()
    assert {"rv_21", "vrp", "vix_rv_ratio"} <= set(frame.columns)


def test_clean_refuses_what_the_blocking_checks_refuse(tmp_path, caplog):
    frame = market_frame()
    frame.loc[50, "spx_high"] = frame.loc[50, "spx_low"] - 1
    out = tmp_path / "features.parquet"
    out.write_bytes(b"previous")
    assert main(["clean", str(write_market(tmp_path / "m.csv", frame)), "--out", str(out)]) == 2
    day = str(frame.loc[50, "date"])[:10]
    assert (
        "fails its blocking checks (values: violations: {'spx_high < spx_low': 1}; first at "
        f"{{'spx_high < spx_low': '{day}'}}): {out} not written" in caplog.text
    )
    assert out.read_bytes() == b"previous"


def test_clean_long_format_with_preset(tmp_path):
    path = tmp_path / "vendor.csv"
    path.write_text(
        "DataDate,Expiration,Strike,Type,Bid,Ask,UnderlyingPrice,Last,Volume,OpenInterest,IV,Delta,Gamma,Theta,Vega\n"
        "01/02/2020,01/17/2020,320,call,3.0,3.1,321.5,3.05,10,100,0.12,0.6,0.05,-0.1,0.2\n"
    )
    out = tmp_path / "o.parquet"
    assert (
        main(["clean", str(path), "--out", str(out), "--long-format", "historicaloptiondata"]) == 0
    )
    assert pd.read_parquet(out)["mid"].tolist() == [3.05]


def test_dynamics_prints_the_table_and_json(tmp_path, capsys, caplog):
    chain = write_optionsdx(tmp_path / "chain.csv", small_chain())
    assert main(["dynamics", str(chain)]) == 0
    text = capsys.readouterr().out
    assert "4 trading days" in text and "near money" in text and "by bucket" in text
    assert main(["dynamics", str(chain), "--json", "--rate", "0.01"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["days"] == 4 and stats["pairs"] == 3 * 2 * 2 * 3
    assert main(["dynamics", str(tmp_path / "missing.csv")]) == 2
    assert "not found" in caplog.text


def test_clean_takes_the_run_configs_long_format_shape(tmp_path, caplog):
    path = tmp_path / "vendor.csv"
    path.write_text("Date,Expiry,K,CP,B,A,Spot\n02.01.2020,17.01.2020,320,C,3.0,3.1,321.5\n")
    columns = {"quote_date": "Date", "expiration": "Expiry", "strike": "K",
               "option_type": "CP", "bid": "B", "ask": "A", "underlying_last": "Spot"}  # fmt: skip
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"columns": columns, "date_format": "%d.%m.%Y"}))
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({**columns, "date_format": "%d.%m.%Y"}))
    outputs = []
    for config in (nested, flat):
        out = tmp_path / f"{config.stem}.parquet"
        assert (
            main(["clean", str(path), "--out", str(out), "--long-format-config", str(config)]) == 0
        )
        outputs.append(pd.read_parquet(out).drop(columns=["source_file"]))
    pd.testing.assert_frame_equal(*outputs)
    assert outputs[0]["mid"].tolist() == [3.05]
    broken = tmp_path / "broken.json"
    broken.write_text("{columns: ")
    assert main(["clean", str(path), "--out", str(tmp_path / "x.parquet"),
                 "--long-format-config", str(broken)]) == 2  # fmt: skip
    assert "broken.json: not a JSON file of long-format settings" in caplog.text


def test_bad_input_exits_2_and_keeps_the_previous_output(tmp_path, caplog):
    good = write_optionsdx(tmp_path / "good.csv", small_chain())
    out = tmp_path / "o.parquet"
    assert main(["clean", str(good), "--out", str(out)]) == 0
    before = out.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("")
    assert main(["clean", str(bad), "--out", str(out)]) == 2
    assert "bad.csv: the file is empty" in caplog.text
    assert out.read_bytes() == before
    assert main(["clean", str(tmp_path / "missing.csv"), "--out", str(out)]) == 2
    assert "missing.csv" in caplog.text


def test_demo_materializes_every_asset_on_existing_inputs(
    small_data_root, monkeypatch, tmp_path, capfd, caplog
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # a real instance, as `make demo` has
    monkeypatch.delenv("OPTVOL_DATA_DIR")  # --data-dir alone must be enough
    monkeypatch.chdir(tmp_path)
    # Enough days for the option model: 21 days of history, then a train/val/test split.
    dates = [str(d.date()) for d in pd.bdate_range("2020-01-02", periods=45)]
    strikes = tuple(float(k) for k in range(290, 360, 10))  # a smile to fit every day
    chain = small_chain(dates=dates, expiries=("2020-03-20", "2020-06-19"), strikes=strikes)
    write_optionsdx(small_data_root / "raw" / "options" / "spy_eod_202001.txt", chain)
    # Enough market history for the volatility model's default two-year first window.
    write_market(
        small_data_root / "raw" / "raw_market.csv", volatile_market_frame(900, vix_from=100)
    )
    before = sorted(p.name for p in (small_data_root / "raw" / "options").iterdir())
    assert main(["demo", "--data-dir", str(small_data_root)]) == 0
    output = capfd.readouterr()
    # Clean output: the months are cleaned on worker threads, whose log lines (and the
    # instance Dagster's type check built there) once logged SQLite thread tracebacks.
    assert "Traceback" not in output.err + output.out + caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert sorted(p.name for p in (small_data_root / "raw" / "options").iterdir()) == before
    for artifact in ARTIFACT_PATHS.values():
        path = small_data_root / artifact
        files = sorted(f.name for f in path.iterdir()) if path.is_dir() else [path.name]
        if path.is_dir():  # a month-partitioned table: the three months of the chain
            assert files == ["2020-01.parquet", "2020-02.parquet", "2020-03.parquet"], artifact
        assert all((path / f if path.is_dir() else path).stat().st_size > 0 for f in files)
    for markdown, pdf in REPORT_PATHS.values():
        assert (small_data_root / pdf).read_bytes()[:5] == b"%PDF-"
        assert "## Summary" in (small_data_root / markdown).read_text()
    instance = dg.DagsterInstance.from_config(str(home))
    assert_every_asset_page_tells_its_story(instance)
    # No log line is lost: every month's cleaning lines are in the run's event log, in order.
    (run,) = instance.get_runs()
    messages = [event.user_message for event in instance.all_logs(run.run_id)]
    cleaned = [m.split(":")[0] for m in messages if m.startswith("Cleaned 2020-")]
    assert cleaned == ["Cleaned 2020-01", "Cleaned 2020-02", "Cleaned 2020-03"]
    steps = [m for m in messages if "raw option quotes" in m or m.startswith("option_quotes: ")]
    assert len(steps) == 2 * 3 and all("Cleaning" in m for m in steps[::2])


def assert_every_asset_page_tells_its_story(instance: dg.DagsterInstance) -> None:
    """Each asset's latest materialization, as the UI shows it: rows and schema for tables,
    files and sizes for models, scores and inline plots for evaluations, paths and pages
    for reports."""
    for key in load_definitions().resolve_asset_graph().get_all_asset_keys():
        event = instance.get_latest_materialization_event(key)
        assert event is not None, f"{key} was not materialized"
        metadata = event.asset_materialization.metadata
        name = key.path[-1]
        if name in ("gru_model", "volatility_model"):
            assert any(k.endswith("_path") for k in metadata) and "data_fingerprint" in metadata
        elif name.endswith("_report"):
            assert {"markdown_path", "pdf_path", "pdf_pages", "report"} <= set(metadata)
        elif name in ("raw_option_quotes", "option_quotes"):  # a run of three months
            assert metadata["total_rows"].value > 0, name
            assert metadata["partition_rows"].md_str.count("2020-0") == 3, name
            assert metadata["dagster/column_schema"].schema.columns, name
        else:
            assert metadata["dagster/row_count"].value > 0, name
            assert metadata["dagster/column_schema"].schema.columns, name
            assert "path" in metadata, name
        if name.endswith("_evaluation"):
            plots = [
                v for k, v in metadata.items() if k.startswith("plot_") and not k.endswith("_path")
            ]
            assert plots and all("data:image/png;base64," in p.md_str for p in plots)
            assert metadata["metrics"].md_str.startswith("| model")
        if name in ("raw_option_quotes", "option_quotes", "raw_market", "market_features"):
            assert metadata["preview"].md_str.startswith("|")


def test_demo_refuses_to_mix_the_sample_with_user_inputs(small_data_root, caplog):
    (small_data_root / "raw" / "raw_market.csv").unlink()
    assert main(["demo", "--data-dir", str(small_data_root)]) == 2
    assert "raw_market.csv is missing while other inputs exist" in caplog.text
    assert not (small_data_root / "raw" / "options" / "SPY_options_2020-2022.csv").exists()


def test_sample_data_is_not_written_beside_a_users_chain_files(small_data_root, caplog):
    assert main(["sample-data", "--data-dir", str(small_data_root)]) == 2
    assert "holds other chain files ['spy_eod_202001.txt']" in caplog.text
    assert not (small_data_root / "raw" / "options" / "SPY_options_2020-2022.csv").exists()


def test_sample_data_keeps_a_users_market_file_unless_forced(tmp_path, caplog):
    market = tmp_path / "raw" / "raw_market.csv"
    market.parent.mkdir(parents=True)
    market.write_text("date,spx_close\n2020-01-02,3257.85\n")
    before = market.read_bytes()
    assert main(["sample-data", "--data-dir", str(tmp_path)]) == 2
    assert "raw_market.csv exists and is not optvol's sample market history" in caplog.text
    assert market.read_bytes() == before
    assert not (tmp_path / "raw" / "options" / "SPY_options_2020-2022.csv").exists()
    assert main(["sample-data", "--data-dir", str(tmp_path), "--force"]) == 0
    assert market.read_text().startswith("date,spx_open")
    # the sample's own market file is no user data: writing the sample again is allowed
    assert main(["sample-data", "--data-dir", str(tmp_path)]) == 0


@pytest.mark.parametrize("through", ["same path", "symlink", "directory"])
def test_clean_refuses_an_output_that_is_an_input(tmp_path, caplog, through):
    from optvol.sample.market import write_market

    market = write_market(tmp_path / "raw_market.csv")
    before = market.read_bytes()
    target = {"same path": market, "symlink": tmp_path / "link.csv", "directory": tmp_path}
    if through == "symlink":
        target["symlink"].symlink_to(market)
    given = str(target[through])
    out = str(market) if through == "directory" else given
    assert main(["clean", given, "--out", out]) == 2
    assert "the cleaned table would replace it" in caplog.text
    assert market.read_bytes() == before


def test_links_in_the_chain_directory_that_lead_nowhere_are_named(tmp_path, caplog):
    chains = tmp_path / "options"
    chains.mkdir()
    write_optionsdx(chains / "spy_eod_202001.txt", small_chain())
    (chains / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    (chains / "loop_a.csv").symlink_to(chains / "loop_b.csv")
    (chains / "loop_b.csv").symlink_to(chains / "loop_a.csv")
    out = tmp_path / "quotes.parquet"
    with caplog.at_level(logging.WARNING):
        assert main(["clean", str(chains), "--out", str(out)]) == 0
    for name in ("dangling.csv", "loop_a.csv", "loop_b.csv"):
        assert f"Skipped {chains / name}: a link that leads to no readable file" in caplog.text
    assert pq.read_table(out).num_rows > 0


@pytest.mark.parametrize("day", ["1970-01-01", "2099-01-02"])
def test_quotes_dated_before_listed_options_or_in_the_future_are_refused(
    tmp_path, caplog, day, sleeps
):
    chains = tmp_path / "raw" / "options"
    rows = small_chain()
    rows[5].update(QUOTE_DATE=day)
    write_optionsdx(chains / "spy_eod_202001.txt", rows)
    out = tmp_path / "quotes.parquet"
    out.write_bytes(b"previous")
    assert main(["clean", str(chains), "--out", str(out)]) == 2
    assert f"data row 6: quote date {day} is before listed options began" in caplog.text
    assert out.read_bytes() == b"previous"
    # a partitioned run refuses them the same way, instead of leaving them out unsaid
    result = dg.materialize(
        [raw_option_quotes, option_quotes],
        resources=resources_for(str(tmp_path)),
        partition_key="2020-01",
        raise_on_error=False,
    )
    assert not result.success
    assert sleeps == [1, 2, 4]  # an input error: tried again on the plan's schedule
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert f"quote date {day} is before listed options began" in (
        failure.step_failure_data.error.message
    )
    assert not (tmp_path / "processed" / "option_quotes").exists()


def test_a_chain_file_that_changes_while_it_is_read_is_refused(tmp_path, caplog, monkeypatch):
    from optvol.core.options.ingest import read

    chain = write_optionsdx(tmp_path / "spy_eod_202001.txt", small_chain())
    original = read._quote_batches

    def cut_short_while_reading(source, long_format):
        kind, per_row, batches = original(source, long_format)

        def batches_then_cut():
            yield from batches
            chain.write_bytes(chain.read_bytes()[: chain.stat().st_size // 2])

        return kind, per_row, batches_then_cut()

    monkeypatch.setattr(read, "_quote_batches", cut_short_while_reading)
    out = tmp_path / "quotes.parquet"
    out.write_bytes(b"previous")
    assert main(["clean", str(chain), "--out", str(out)]) == 2
    assert "the file changed while it was read" in caplog.text
    assert out.read_bytes() == b"previous"


def test_sample_data_writes_both_files(tmp_path):
    assert main(["sample-data", "--data-dir", str(tmp_path)]) == 0
    assert (tmp_path / "raw" / "options" / "SPY_options_2020-2022.csv").stat().st_size > 1e6
    assert (tmp_path / "raw" / "raw_market.csv").read_text().startswith("date,spx_open")


def _market_downloads(tmp_path):
    spx = tmp_path / "GSPC.csv"
    spx.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2020-01-02,3244.67,3258.14,3235.53,3257.85,3257.85,3458250000\n"
        "2020-01-03,3226.36,3246.15,3222.34,3234.85,3234.85,3461290000\n"
    )
    vix = tmp_path / "VIX_History.csv"
    vix.write_text("DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2020,13.46,13.72,12.42,12.47\n")
    fred = tmp_path / "DGS10.csv"
    fred.write_text("observation_date,DGS10\n2020-01-01,.\n2020-01-02,1.88\n2020-01-03,1.80\n")
    return spx, vix, fred


def test_import_market_writes_raw_market_csv(tmp_path, capsys):
    spx, vix, fred = _market_downloads(tmp_path)
    data = tmp_path / "data"
    argv = ["import-market", "--spx", str(spx), "--vix", str(vix), "--fred", f"rate_10y={fred}"]
    assert main([*argv, "--data-dir", str(data)]) == 0
    out = data / "raw" / "raw_market.csv"
    assert out.read_text() == (
        "date,spx_open,spx_high,spx_low,spx_close,vix_close,rate_10y\n"
        "2020-01-02,3244.67,3258.14,3235.53,3257.85,12.47,1.88\n"
        "2020-01-03,3226.36,3246.15,3222.34,3234.85,,1.8\n"
    )
    assert f"wrote {out}: 2 rows, 2020-01-02 to 2020-01-03" in capsys.readouterr().out
    help_text = subprocess.run(
        [sys.executable, "-m", "optvol.cli", "import-market", "--help"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "usage: optvol import-market" in help_text and "--fred [NAME=]FILE" in help_text


def test_import_market_bad_input_exits_2_and_keeps_the_output(tmp_path, caplog):
    spx, vix, _ = _market_downloads(tmp_path)
    out = tmp_path / "raw_market.csv"
    out.write_bytes(b"date,spx_open\nprevious\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close\n2020-01-02,1,2,x,2\n")
    assert main(["import-market", "--spx", str(bad), "--out", str(out), "--force"]) == 2
    assert "bad.csv: line 2: column 'Low': value 'x' is not a number" in caplog.text
    assert main(["import-market", "--spx", str(spx), "--vix", str(vix), "--out", str(out)]) == 2
    assert "already exists; use --force" in caplog.text
    assert out.read_bytes() == b"date,spx_open\nprevious\n"
    assert main(["import-market", "--spx", str(spx), "--out", str(out), "--force"]) == 0
    assert out.read_text().startswith("date,spx_open,spx_high,spx_low,spx_close,vix_close\n")


def test_clean_reads_a_directory_and_refuses_an_unusable_out(tmp_path, caplog):
    folder = tmp_path / "chains"
    folder.mkdir()
    write_optionsdx(folder / "a.csv", small_chain())
    out = tmp_path / "o.parquet"
    assert main(["clean", str(folder), "--out", str(out)]) == 0
    assert len(pd.read_parquet(out)) == 4 * 2 * 3 * 2
    before = out.read_bytes()
    cases = [
        (tmp_path, "is a directory; name the Parquet file"),
        (tmp_path / "missing" / "o.parquet", f"the directory {tmp_path / 'missing'} does not"),
    ]
    for target, message in cases:
        assert main(["clean", str(folder), "--out", str(target)]) == 2
        assert message in caplog.text
    assert main(["clean", str(tmp_path / "empty"), "--out", str(out)]) == 2
    assert "input file not found" in caplog.text
    (tmp_path / "empty").mkdir()
    assert main(["clean", str(tmp_path / "empty"), "--out", str(out)]) == 2
    assert "no input files in" in caplog.text
    assert out.read_bytes() == before


def test_init_home_lets_runs_start_at_once_on_a_new_instance(tmp_path):
    home = tmp_path / "dagster_home"
    assert main(["init-home", "--dagster-home", str(home)]) == 0
    assert (home / "dagster.yaml").read_text() == (REPO / "dagster.yaml").read_text()
    assert (home / "schedules" / "schedules.db").exists()
    # Four processes open the new instance at once: started from a server that imported
    # Dagster once (where the test runs from the repository root; not from this process,
    # whose threads a fork would not take along), they meet at a barrier, then race on
    # the instance's storage.
    server = multiprocessing.get_context("forkserver")
    server.set_forkserver_preload(["optvol_tests.instance_race"])
    start = server.Barrier(4)
    starts = [server.Process(target=open_new_instance, args=(str(home), start)) for _ in range(4)]
    for process in starts:
        process.start()
    deadline = time.monotonic() + 120
    for process in starts:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    exit_codes = [process.exitcode for process in starts]
    for process in starts:
        if process.is_alive():
            process.kill()
    assert exit_codes == [0] * 4  # a child's traceback is on the test's captured stderr
    # a second init on a ready instance changes nothing and succeeds
    assert main(["init-home", "--dagster-home", str(home)]) == 0
