"""The evening download schedules and their jobs, run through Dagster against a local
HTTP server standing in for stooq, Cboe and FRED."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pandas as pd
import pytest

from optvol.definitions import load_definitions
from optvol.defs.automation.alerts import alert_sensor
from optvol.defs.automation.sensors import new_input_files_sensor
from optvol.defs.downloads.schedules import download_schedules
from optvol.defs.shared.settings import Settings
from optvol_tests.builders import dated_back
from optvol_tests.sources import Answer, cboe_json, fred_csv, local_sources, spx_csv, vix_csv


@pytest.fixture
def served():
    with local_sources() as sources:
        sources.serve("/spx.csv", Answer(spx_csv()))
        sources.serve("/vix.csv", Answer(vix_csv()))
        for series in ("DGS10", "DGS2", "UNRATE"):
            sources.serve(f"/fred/{series}", Answer(fred_csv(series)))
        sources.serve("/options/SPY.json", Answer(cboe_json()))
        sources.serve("/options/_SPX.json", Answer(cboe_json(root="SPXW", spot=4839.8)))
        yield sources


def settings_for(root, served, **fields) -> Settings:
    return Settings(
        data_dir=str(root),
        url_spx=f"{served.url}/spx.csv",
        url_vix=f"{served.url}/vix.csv",
        url_fred=f"{served.url}/fred/{{series}}",
        url_cboe_options=f"{served.url}/options/{{symbol}}.json",
        **fields,
    )


def run_schedule(
    schedule: dg.ScheduleDefinition,
    settings: Settings,
    at: dt.datetime,
    instance: dg.DagsterInstance | None = None,
):
    """The schedule's tick at ``at`` (New York time), and its run executed in process."""
    instance = instance or dg.DagsterInstance.ephemeral()
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at)
    (request,) = schedule.evaluate_tick(context).run_requests
    return schedule.job.execute_in_process(
        instance=instance, resources={"settings": settings}, tags=request.tags,
        raise_on_error=False,
    )  # fmt: skip


def test_both_schedules_run_on_weekday_evenings_and_start_on_unless_turned_off():
    on = {s.name: s for s in download_schedules(Settings())}
    assert on["evening_option_snapshot"].cron_schedule == "45 16 * * 1-5"
    assert on["evening_market_download"].cron_schedule == "30 18 * * 1-5"
    assert all(s.execution_timezone == "America/New_York" for s in on.values())
    assert {s.default_status for s in on.values()} == {dg.DefaultScheduleStatus.RUNNING}
    off = download_schedules(Settings(scheduled_downloads=False))
    assert {s.default_status for s in off} == {dg.DefaultScheduleStatus.STOPPED}


def test_the_evening_jobs_write_what_the_file_sensor_picks_up(served, tmp_path):
    schedules = {s.name: s for s in download_schedules(Settings())}
    settings = settings_for(tmp_path, served, option_symbols="spy, SPX")
    evening = dt.datetime(2024, 1, 19, 18, 30)
    result = run_schedule(schedules["evening_market_download"], settings, evening)
    assert result.success
    table = pd.read_csv(tmp_path / "raw" / "raw_market.csv")
    assert len(table) == 30 and {"dgs10", "dgs2", "unrate"} <= set(table.columns)
    result = run_schedule(schedules["evening_option_snapshot"], settings, evening)
    assert result.success
    written = sorted(p.name for p in (tmp_path / "raw" / "options").iterdir())
    assert written == ["cboe_spx_2024-01-19.csv", "cboe_spy_2024-01-19.csv"]
    # The file sensor's next tick, once the files are older than its 10 s wait, asks for
    # both ingests.
    for path in (tmp_path / "raw").rglob("*.csv"):
        dated_back(path)
    sensor = new_input_files_sensor(settings)
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        resources={"settings": settings},
        definitions=load_definitions(),
    )
    requests = sensor.evaluate_tick(context).run_requests
    assert {request.job_name for request in requests} == {"ingest_market", "ingest_options"}


def test_a_failed_download_fails_its_run_and_keeps_the_stored_file(served, tmp_path):
    schedules = {s.name: s for s in download_schedules(Settings())}
    settings = settings_for(tmp_path, served)
    evening = dt.datetime(2024, 1, 19, 18, 30)
    assert run_schedule(schedules["evening_market_download"], settings, evening).success
    stored = (tmp_path / "raw" / "raw_market.csv").read_bytes()
    served.serve("/vix.csv", Answer(b"<html>down for maintenance</html>", 200, "text/html"))
    served.serve("/spx.csv", Answer(spx_csv(pd.bdate_range("2024-01-02", periods=31))))
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        result = run_schedule(schedules["evening_market_download"], settings, evening, instance)
        assert not result.success
        assert (tmp_path / "raw" / "raw_market.csv").read_bytes() == stored
        # The failure alert sensor reports it like any failed run.
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
            dagster_event=failure,
            resources={"settings": settings},
        ).for_run_failure()
        alert_sensor(Settings())(context)
    (alert,) = [json.loads(line) for line in (tmp_path / "alerts" / "alerts.jsonl").open()]
    assert alert["job"] == "download_market_job" and alert["run_id"] == result.run_id
    assert f"GET {served.url}/vix.csv" in alert["error"] and "HTML page, not CSV" in alert["error"]
