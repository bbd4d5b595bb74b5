"""Sensors, schedule and alerts (optvol.defs.automation) against a real Dagster instance.

Each test keeps its instance (runs, event logs, cursors) in a temporary ``DAGSTER_HOME``
and materializes the real ingest assets on small inputs the test wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from optvol.definitions import load_definitions, resources_for
from optvol.defs.automation import alerts, conditions, jobs, schedules, sensors
from optvol.defs.automation.jobs import TRIGGER_TAG
from optvol.defs.options.assets import option_quotes, raw_option_quotes
from optvol.defs.options.partitions import range_tags
from optvol.defs.shared.settings import AUTO_RETRAIN_ENV, INTERVAL_ENV, Settings
from optvol.defs.volatility.assets import raw_market
from optvol_tests.builders import dated_back, small_chain, write_optionsdx
from optvol_tests.conftest import record_retry_waits
from optvol_tests.webhook import local_webhook

JANUARY = ("2020-01", "2020-01")
# The sensors as the definitions build them by default.
SENSORS = {sensor.name: sensor for sensor in load_definitions().sensors}


@pytest.fixture
def instance(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


@pytest.fixture
def root(small_data_root: Path) -> Path:
    """The small inputs, dated an hour ago (older than the sensor's settling time)."""
    for path in (small_data_root / "raw").rglob("*"):
        dated_back(path)
    return small_data_root


def _materialize(assets, instance, root: Path, raise_on_error: bool = True, months=JANUARY):
    return dg.materialize(
        assets,
        instance=instance,
        resources=resources_for(str(root)),
        raise_on_error=raise_on_error,
        tags=range_tags(*months),
    )


def _tick(sensor: dg.SensorDefinition, instance, root: Path, cursor: str | None):
    """One evaluation: (run requests, skip message, the cursor to pass to the next)."""
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"settings": Settings(data_dir=str(root))},
        definitions=load_definitions(),
    )
    result = sensor.evaluate_tick(context)
    skip = result.skip_message if not result.run_requests else None
    return result.run_requests, skip, result.cursor


# -- the clean tables follow each new ingest (an automation condition) ---------------------


def _cleans(instance, cursor=None):
    """One evaluation of the clean tables' conditions: ({asset: requested partitions (None
    for an unpartitioned asset)}, the cursor to pass to the next)."""
    result = dg.evaluate_automation_conditions(
        defs=load_definitions(),
        instance=instance,
        asset_selection=dg.AssetSelection.assets(*sensors.CLEAN_ASSETS),
        cursor=cursor,
    )
    by_asset = {
        key.path[-1]: result.get_requested_partitions(key)
        for key in map(dg.AssetKey, sensors.CLEAN_ASSETS)
        if result.get_num_requested(key)
    }
    return by_asset, result.cursor


def test_each_ingest_gets_one_clean_of_the_months_it_ingested(instance, root):
    requested, cursor = _cleans(instance)
    assert requested == {}  # the sensor's first look
    _materialize([raw_option_quotes], instance, root)
    requested, cursor = _cleans(instance, cursor)
    assert requested == {"option_quotes": {"2020-01"}}  # not the empty months since 1973
    requested, cursor = _cleans(instance, cursor)
    assert requested == {}  # handled: nothing until the next ingest
    _materialize([raw_option_quotes], instance, root)
    assert _cleans(instance, cursor)[0] == {"option_quotes": {"2020-01"}}


def test_a_range_run_gets_a_clean_of_each_month_it_ingested(instance, root):
    write_optionsdx(
        root / "raw" / "options" / "spy_eod_2020.txt",
        small_chain(dates=("2020-02-03", "2020-03-02", "2020-05-01"), expiries=("2020-06-19",)),
    )
    _, cursor = _cleans(instance)
    _materialize([raw_option_quotes], instance, root, months=("2020-01", "2020-03"))
    _materialize([raw_option_quotes], instance, root, months=("2020-05", "2020-05"))
    requested, _ = _cleans(instance, cursor)
    assert requested == {"option_quotes": {"2020-01", "2020-02", "2020-03", "2020-05"}}


def test_a_run_that_also_cleans_needs_no_second_clean(instance, root):
    _, cursor = _cleans(instance)
    _materialize([raw_option_quotes, option_quotes], instance, root)
    assert _cleans(instance, cursor)[0] == {}


def test_the_market_features_follow_raw_market_alone(instance, root):
    _, cursor = _cleans(instance)
    _materialize([raw_market], instance, root)
    assert _cleans(instance, cursor)[0] == {"market_features": {None}}


def test_a_failed_blocking_check_of_the_ingest_holds_the_clean(instance):
    """The clean tables' condition on a staged table with a blocking check: a failed
    check holds the clean, a passed one lets it run."""

    @dg.asset
    def staged() -> int:
        return 1

    @dg.asset_check(asset=staged, blocking=True)
    def readable() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    @dg.asset(automation_condition=conditions.CLEAN_AFTER_INGEST)
    def clean(staged: int) -> int:
        return staged

    defs = dg.Definitions(assets=[staged, clean], asset_checks=[readable])
    cleaned = dg.AssetSelection.assets(clean)

    def requested(cursor):
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=cleaned, cursor=cursor
        )
        return result.get_num_requested(dg.AssetKey("clean")), result.cursor

    _, cursor = requested(None)
    check = dg.AssetCheckKey(dg.AssetKey("staged"), "readable")
    for passed, cleans in ((False, 0), (True, 1)):
        instance.report_runless_asset_event(dg.AssetMaterialization("staged"))
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(asset_key=check.asset_key, check_name=check.name, passed=passed)
        )
        count, cursor = requested(cursor)
        assert count == cleans


def test_the_clean_sensor_runs_by_default_and_queues_with_the_ingests():
    sensor = SENSORS["clean_after_ingest"]
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.run_tags == jobs.REFRESH_TAGS
    graph = load_definitions().resolve_asset_graph()
    targeted = {key.path[-1] for key in sensor.asset_selection.resolve(graph)}
    assert targeted == {"option_quotes", "market_features"}
    retrain = SENSORS["retrain_when_features_change"].asset_selection.resolve(graph)
    assert not targeted & {key.path[-1] for key in retrain}


def test_quotes_before_the_first_month_are_named_not_requested(instance, root):
    sensor = sensors.new_input_files_sensor(Settings(first_quote_month="2020-01"))
    _, _, cursor = _tick(sensor, instance, root, None)
    path = root / "raw" / "options" / "spy_eod_201906.txt"
    write_optionsdx(path, small_chain(dates=("2019-06-03",), expiries=("2019-07-19",)))
    dated_back(path, 3000)
    requests, skip, _ = _tick(sensor, instance, root, cursor)
    assert requests == []
    assert "quotes dated 2019-06 are outside the quote-month partitions (from 2020-01" in skip
    assert "OPTVOL_FIRST_QUOTE_MONTH" in skip


# -- the input file sensor -------------------------------------------------------------------


def test_files_never_ingested_request_both_ingests_once(instance, root):
    requests, _, cursor = _tick(SENSORS["new_input_files"], instance, root, None)
    assert sorted(r.job_name for r in requests) == ["ingest_market", "ingest_options"]
    assert all("added" in r.tags[TRIGGER_TAG] for r in requests)
    requests, skip, cursor_after = _tick(SENSORS["new_input_files"], instance, root, cursor)
    assert requests == [] and skip == "no input file changed"
    assert json.loads(cursor_after) == json.loads(cursor)


def _edit(path: Path, content: bytes, age: float) -> None:
    """Write ``content`` to ``path`` and date it ``age`` seconds back (each edit its own
    mtime, all older than the settling time)."""
    path.write_bytes(content)
    dated_back(path, age)


def test_a_new_or_changed_file_requests_its_ingest_and_a_touch_does_not(instance, root):
    _, _, cursor = _tick(SENSORS["new_input_files"], instance, root, None)
    path = root / "raw" / "options" / "spy_eod_202002.txt"
    write_optionsdx(path, small_chain(dates=("2020-02-03", "2020-02-04")))
    dated_back(path, 3000)
    (added,), _, cursor = _tick(SENSORS["new_input_files"], instance, root, cursor)
    assert added.job_name == "ingest_options"
    assert added.partition_key == "2020-02"  # the month the new file holds, alone
    assert "added spy_eod_202002.txt" in added.tags[TRIGGER_TAG]

    dated_back(path, 2900)  # touched: same bytes, new mtime
    requests, skip, cursor = _tick(SENSORS["new_input_files"], instance, root, cursor)
    assert requests == [] and skip == "no input file changed"

    market = root / "raw" / "raw_market.csv"
    _edit(market, market.read_bytes() + b"\n", 2800)
    (changed,) = _tick(SENSORS["new_input_files"], instance, root, cursor)[0]
    assert changed.job_name == "ingest_market"
    assert "changed raw_market.csv" in changed.tags[TRIGGER_TAG]


def test_run_keys_repeat_for_a_repeated_tick_and_never_for_a_later_change(instance, root):
    """A -> B -> A -> B: each change is ingested (a key of its own), while the same tick
    evaluated twice (a daemon restart before the cursor was saved) asks for one key."""
    _, _, cursor = _tick(SENSORS["new_input_files"], instance, root, None)
    path = root / "raw" / "options" / "spy_eod_202001.txt"
    a, b = path.read_bytes(), path.read_bytes() + b"\n"
    keys = []
    for age, content in zip((3000, 2900, 2800, 2700), (b, a, b, a), strict=True):
        _edit(path, content, age)
        (request,), _, next_cursor = _tick(SENSORS["new_input_files"], instance, root, cursor)
        (again,) = _tick(SENSORS["new_input_files"], instance, root, cursor)[0]
        assert again.run_key == request.run_key
        keys.append(request.run_key)
        cursor = next_cursor
    assert len(set(keys)) == 4
    assert keys[0].split(":")[2] == keys[2].split(":")[2]  # same content, new key


def test_inputs_already_ingested_are_not_ingested_again_on_the_first_look(instance, root):
    _materialize([raw_option_quotes, raw_market], instance, root)
    requests, skip, _ = _tick(SENSORS["new_input_files"], instance, root, None)
    assert requests == [] and "already ingested" in skip


def test_a_file_being_written_is_waited_for(instance, root):
    _, _, cursor = _tick(SENSORS["new_input_files"], instance, root, None)
    write_optionsdx(
        root / "raw" / "options" / "spy_eod_202002.txt",
        small_chain(dates=("2020-02-03", "2020-02-04")),
    )
    requests, skip, cursor = _tick(SENSORS["new_input_files"], instance, root, cursor)
    assert requests == [] and "still being written" in skip
    dated_back(root / "raw" / "options" / "spy_eod_202002.txt")
    assert len(_tick(SENSORS["new_input_files"], instance, root, cursor)[0]) == 1


def test_removing_every_chain_file_requests_nothing(instance, root):
    _, _, cursor = _tick(SENSORS["new_input_files"], instance, root, None)
    (root / "raw" / "options" / "spy_eod_202001.txt").unlink()
    requests, skip, _ = _tick(SENSORS["new_input_files"], instance, root, cursor)
    assert requests == [] and "no files left" in skip


# -- the schedule and the retrain switch -----------------------------------------------------


def test_the_after_close_schedule_is_weekdays_in_new_york_and_stopped():
    schedule = schedules.after_close_ingest
    assert schedule.cron_schedule == "0 18 * * 1-5"
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.job_name == "ingest"
    context = dg.build_schedule_context(
        scheduled_execution_time=__import__("datetime").datetime(2026, 11, 23, 18, 0),
        repository_def=load_definitions().get_repository_def(),
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.job_name in (None, "ingest")
    assert request.partition_key == "2026-11"  # the options of the month in progress
    job = load_definitions().resolve_job_def("ingest")
    assert {k.path[-1] for k in job.asset_layer.selected_asset_keys} == {
        "raw_option_quotes", "raw_market",
    }  # fmt: skip


def test_retraining_is_off_by_default_and_one_switch_turns_it_on(monkeypatch):
    def default_status(value: str | None) -> str:
        if value is None:
            monkeypatch.delenv(AUTO_RETRAIN_ENV, raising=False)
        else:
            monkeypatch.setenv(AUTO_RETRAIN_ENV, value)
        return sensors.retrain_sensor(Settings.from_env()).default_status.value

    assert SENSORS["retrain_when_features_change"].default_status.value == "STOPPED"
    assert default_status(None) == "STOPPED"
    assert default_status("1") == "RUNNING" and default_status(" yes ") == "RUNNING"
    assert default_status("off") == "STOPPED"
    with pytest.raises(ValueError, match=f"^{AUTO_RETRAIN_ENV} must be 1/true/yes/on or"):
        default_status("maybe")


def test_the_sensor_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(INTERVAL_ENV, raising=False)
    assert {s.minimum_interval_seconds for s in SENSORS.values()} == {30}
    monkeypatch.setenv(INTERVAL_ENV, "5")
    from optvol.defs.automation.definitions import sensors_for

    assert {s.minimum_interval_seconds for s in sensors_for(Settings.from_env())} == {5}
    for bad in ("0", "-3", "fast", "2.5"):
        monkeypatch.setenv(INTERVAL_ENV, bad)
        with pytest.raises(ValueError, match=f"^{INTERVAL_ENV} must be a whole number"):
            Settings.from_env()


def _report_checks(instance, asset: str, passed: bool) -> None:
    for key in load_definitions().resolve_asset_graph().asset_check_keys:
        if key.asset_key == dg.AssetKey(asset):
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(asset_key=key.asset_key, check_name=key.name,
                                        passed=passed)
            )  # fmt: skip


def test_retraining_follows_new_features_only_when_their_blocking_checks_pass(instance):
    models = dg.AssetSelection.assets(*sensors.MODEL_ASSETS)

    def requested(cursor):
        result = dg.evaluate_automation_conditions(
            defs=load_definitions(), instance=instance, asset_selection=models, cursor=cursor
        )
        keys = [dg.AssetKey(name) for name in sensors.MODEL_ASSETS]
        return {k.path[-1] for k in keys if result.get_requested_partitions(k)}, result.cursor

    january = dg.AssetMaterialization("option_quotes", partition="2020-01")
    instance.report_runless_asset_event(january)
    for asset in ("market_features", *sensors.MODEL_ASSETS):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset))
    _, cursor = requested(None)

    instance.report_runless_asset_event(january)
    _report_checks(instance, "option_quotes", passed=True)
    options, cursor = requested(cursor)
    assert options == {"gru_model", "option_evaluation"}
    assert requested(cursor)[0] == set()  # handled: nothing more until the next change

    instance.report_runless_asset_event(dg.AssetMaterialization("market_features"))
    _report_checks(instance, "market_features", passed=False)
    blocked, cursor = requested(cursor)
    assert blocked == set()
    _report_checks(instance, "market_features", passed=True)
    assert requested(cursor)[0] == {"volatility_model", "volatility_evaluation"}


# -- alerts ----------------------------------------------------------------------------------


def _failed_ingest(instance, tmp_path: Path) -> dg.ExecuteInProcessResult:
    """A real ingest that fails: the input directory is empty, so the asset retries on
    the plan's 1-2-4 s schedule and then fails."""
    empty = tmp_path / "empty_root"
    (empty / "raw" / "options").mkdir(parents=True)
    result = _materialize([raw_option_quotes], instance, empty, raise_on_error=False)
    assert not result.success
    return result


def _alert(instance, result, root: Path) -> None:
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
        resources={"settings": Settings.from_env(data_dir=str(root))},
    ).for_run_failure()
    alerts.alert_sensor(Settings())(context)


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """One real failed ingest, shared by the alert tests (its retries' waits recorded,
    not slept)."""
    tmp_path = tmp_path_factory.mktemp("failed")
    with (
        dg.instance_for_test(temp_dir=str(tmp_path)) as instance,
        pytest.MonkeyPatch.context() as mp,
    ):
        waits = record_retry_waits(mp)
        result = _failed_ingest(instance, tmp_path)
        assert waits == [1, 2, 4]
        yield instance, result


def test_a_failed_ingest_leaves_an_alert_line_and_posts_to_the_webhook(
    failed_run, tmp_path, monkeypatch
):
    instance, result = failed_run
    with local_webhook() as hook:
        monkeypatch.setenv("OPTVOL_ALERT_WEBHOOK", hook.url)
        _alert(instance, result, tmp_path)
        (message,) = hook.received
    (line,) = (tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()
    alert = json.loads(line)
    assert alert["run_id"] == result.run_id
    assert alert["job"] == "__ephemeral_asset_job__"  # what dg.materialize names its job
    assert alert["assets"] == ["raw_option_quotes"]
    assert "ingest failed after 3 retries" in alert["error"]
    assert "no input files" in alert["error"]
    assert [s["step"] for s in alert["failed_steps"]] == ["raw_option_quotes"]
    assert alert["time"].endswith("+00:00")
    assert result.run_id in message["text"] and "raw_option_quotes" in message["text"]
    assert message["alert"] == alert


@pytest.mark.parametrize("webhook", ["dead", "error", "unset"])
def test_a_dead_webhook_does_not_break_the_sensor(failed_run, tmp_path, monkeypatch, webhook):
    instance, result = failed_run
    if webhook == "unset":
        monkeypatch.delenv("OPTVOL_ALERT_WEBHOOK", raising=False)
        _alert(instance, result, tmp_path)
    elif webhook == "dead":
        monkeypatch.setenv("OPTVOL_ALERT_WEBHOOK", "http://127.0.0.1:9/hook")
        _alert(instance, result, tmp_path)
    else:
        with local_webhook(status=503) as hook:
            monkeypatch.setenv("OPTVOL_ALERT_WEBHOOK", hook.url)
            _alert(instance, result, tmp_path)
            assert len(hook.received) == 1
    lines = (tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["run_id"] for line in lines] == [result.run_id]


def test_earlier_alert_lines_are_kept(failed_run, tmp_path, monkeypatch):
    instance, result = failed_run
    monkeypatch.delenv("OPTVOL_ALERT_WEBHOOK", raising=False)
    path = tmp_path / "alerts" / "alerts.jsonl"
    path.parent.mkdir()
    path.write_text('{"run_id": "older"}\n')
    _alert(instance, result, tmp_path)
    assert [json.loads(x)["run_id"] for x in path.read_text().splitlines()] == [
        "older", result.run_id,
    ]  # fmt: skip


def test_an_unexpected_error_is_reported_by_its_class_and_message(tmp_path, monkeypatch):
    @dg.asset
    def broken() -> None:
        raise ValueError("the strike column is all NaN")

    monkeypatch.delenv("OPTVOL_ALERT_WEBHOOK", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        result = dg.materialize([broken], instance=instance, raise_on_error=False)
        _alert(instance, result, tmp_path)
    alert = json.loads((tmp_path / "alerts" / "alerts.jsonl").read_text())
    assert alert["error"] == "ValueError: the strike column is all NaN"
    assert alert["assets"] == ["broken"]


def test_an_alert_file_that_cannot_be_written_still_leaves_the_webhook(
    failed_run, tmp_path, monkeypatch
):
    instance, result = failed_run
    (tmp_path / "alerts").write_text("a file where the alerts directory should be")
    with local_webhook() as hook:
        monkeypatch.setenv("OPTVOL_ALERT_WEBHOOK", hook.url)
        _alert(instance, result, tmp_path)  # does not raise
        (message,) = hook.received
    assert message["alert"]["run_id"] == result.run_id


def test_sensor_and_schedule_runs_queue_one_at_a_time():
    import yaml

    limits = yaml.safe_load((Path(__file__).parents[3] / "dagster.yaml").read_text())
    assert {"key": "optvol/refresh", "limit": 1} in limits["run_queue"]["tag_concurrency_limits"]
    for job in jobs.jobs:
        assert load_definitions().resolve_job_def(job.name).tags["optvol/refresh"] == "inputs", (
            job.name
        )
