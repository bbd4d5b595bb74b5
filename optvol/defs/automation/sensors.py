"""What runs without anyone clicking: the ingest and cleaning jobs, the sensors that
launch them, an after-close schedule, retraining under a switch, and failure alerts.

README "Operating optvol" lists each with its default status and why. Sensors run in
the Dagster daemon (``make ui`` starts one); a default status is only the starting
point: the UI's toggle overrides it and is kept in the instance.
"""

import datetime as dt
import os
from pathlib import Path

import dagster as dg

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.paths import ALERTS_FILE, OPTIONS_INPUT_DIR
from optvol.core.ops.alerts import (
    WEBHOOK_ENV,
    FailedRunAlert,
    StepFailure,
    append_alert,
    post_json,
    slack_message,
)
from optvol.core.ops.input_watch import InputChange, WatchCursor, look
from optvol.core.options.ingest.read import scan_quote_months
from optvol.defs.options.partitions import (
    FIRST_MONTH_ENV,
    MONTH_FORMAT,
    QUOTE_MONTHS,
    contiguous_ranges,
    outside_partitions,
    range_tags,
)
from optvol.defs.shared.resources import DataRoot

INTERVAL_ENV = "OPTVOL_SENSOR_INTERVAL_SECONDS"
AUTO_RETRAIN_ENV = "OPTVOL_AUTO_RETRAIN"
DEFAULT_INTERVAL_SECONDS = 30
TRIGGER_TAG = "optvol/trigger"


def sensor_interval_seconds() -> int:
    """Seconds between two evaluations of each sensor: ``$OPTVOL_SENSOR_INTERVAL_SECONDS``,
    else 30 (Dagster's default)."""
    text = os.environ.get(INTERVAL_ENV, "").strip()
    if not text:
        return DEFAULT_INTERVAL_SECONDS
    try:
        seconds = int(text)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise ValueError(f"{INTERVAL_ENV} must be a whole number of seconds >= 1, got {text!r}")
    return seconds


def auto_retrain_enabled() -> bool:
    """Whether ``$OPTVOL_AUTO_RETRAIN`` asks for the retrain sensor to start running."""
    text = os.environ.get(AUTO_RETRAIN_ENV, "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{AUTO_RETRAIN_ENV} must be 1/true/yes/on or 0/false/no/off, got {text!r}")


INTERVAL_SECONDS = sensor_interval_seconds()

# Ingest and cleaning are light: run their steps in the run's own process. The default
# executor starts a process per step (and per check), each importing torch and pandas
# again; on 2 cores that made a small clean take a minute instead of seconds.
LIGHT = dg.in_process_executor
# The run queue (dagster.yaml) runs jobs with this tag one at a time, in order: an ingest
# from the schedule and one from the file sensor never race to write the same table.
REFRESH_TAGS = {"optvol/refresh": "inputs"}


def _light_job(name: str, assets: tuple[str, ...], description: str):
    """A job of light steps (ingest, cleaning, their checks), queued one at a time."""
    return dg.define_asset_job(
        name,
        selection=dg.AssetSelection.assets(*assets),
        executor_def=LIGHT,
        tags=REFRESH_TAGS,
        description=description,
    )


ingest_options_job = _light_job(
    "ingest_options", ("raw_option_quotes",), "Read every chain file of raw/options/ into staging."
)
ingest_market_job = _light_job(
    "ingest_market", ("raw_market",), "Read raw/raw_market.csv into staging."
)
ingest_job = _light_job(
    "ingest",
    ("raw_option_quotes", "raw_market"),
    "Both ingests; the clean sensors then refresh the clean tables.",
)
clean_options_job = _light_job(
    "clean_options", ("option_quotes",), "Clean the staged option quotes, with their checks."
)
clean_market_job = _light_job(
    "clean_market",
    ("market_features",),
    "Build the market features from the staged history, with their checks.",
)
INGEST_JOB_OF_ASSET = {"raw_option_quotes": ingest_options_job, "raw_market": ingest_market_job}


def planned_assets(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    """The assets run ``run_id`` planned to materialize (Dagster records the plan at the
    start of each run, whatever job, selection or command launched it)."""
    planned = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    return {record.event_log_entry.dagster_event.asset_key.to_user_string() for record in planned}


def _partition_requests(
    months: list[str], run_key: str, tags: dict[str, str], job_name: str | None = None
) -> list[dg.RunRequest]:
    """One run per stretch of consecutive months (a single month as its partition, a
    stretch as a one-run range); one unpartitioned run when ``months`` is empty."""
    if not months:
        return [dg.RunRequest(run_key=run_key, tags=tags, job_name=job_name)]
    requests = []
    for first, last in contiguous_ranges(months):
        key = f"{run_key}:{first}" if first == last else f"{run_key}:{first}...{last}"
        if first == last:
            requests.append(
                dg.RunRequest(run_key=key, partition_key=first, tags=tags, job_name=job_name)
            )
        else:
            range_run = {**tags, **range_tags(first, last)}
            requests.append(dg.RunRequest(run_key=key, tags=range_run, job_name=job_name))
    return requests


def _refresh_on_materialization(
    name: str, upstream: str, downstream: str, job, partitioned: bool = False
) -> dg.SensorDefinition:
    """A sensor that refreshes ``downstream`` (with the job ``job``) after new
    materializations of ``upstream``. What arrived since the last tick is refreshed
    together: one run, or for a ``partitioned`` upstream one run per stretch of
    consecutive months that were materialized (a partition, or a one-run range). An event
    of a partitioned upstream without a partition (reported by hand) names no month to
    clean, and is passed over.

    The cursor is the storage id of the last materialization handled, so each is handled
    once. A run that itself plans to refresh ``downstream`` (a ``--select '*'``
    materialization, usually still running when the sensor looks) gets no second one:
    cleaning is deterministic, so if that run's clean fails, a second clean of the same
    data would fail the same way; the failure alert reports it.
    """

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Refresh {downstream} after each new materialization of {upstream}.",
    )
    def refresh(context: dg.SensorEvaluationContext):
        after = int(context.cursor) if context.cursor else None
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(upstream), after_storage_id=after),
            limit=1000,
            ascending=True,
        ).records
        if not records:
            return dg.SkipReason(f"no new materialization of {upstream}")
        by_run: dict[str, list[dg.EventLogRecord]] = {}
        for record in records:
            by_run.setdefault(record.run_id, []).append(record)
        months: set[str] = set()
        sources, skipped = [], []
        for run_id, events in by_run.items():
            if run_id and downstream in planned_assets(context.instance, run_id):
                skipped.append(f"run {run_id} also refreshes {downstream}")
                continue
            source = f"run {run_id}" if run_id else "reported events"
            run_months = {e.partition_key for e in events if e.partition_key is not None}
            if partitioned and not run_months:
                skipped.append(f"{source} named no quote month")
                continue
            months |= run_months
            sources.append(source)
        context.update_cursor(str(records[-1].storage_id))
        if not sources:
            return dg.SkipReason("nothing to refresh: " + "; ".join(skipped))
        # Each materialization has its own storage id, so a later one gets a new key.
        key = f"{downstream}-after-{records[-1].storage_id}"
        tags = {TRIGGER_TAG: f"{upstream} materialized by {', '.join(sources)}"[:200]}
        return _partition_requests(sorted(months), key, tags)

    return refresh


clean_options_on_ingest = _refresh_on_materialization(
    "clean_options_on_ingest", "raw_option_quotes", "option_quotes", clean_options_job, True
)
clean_market_on_ingest = _refresh_on_materialization(
    "clean_market_on_ingest", "raw_market", "market_features", clean_market_job
)


def _already_ingested(instance: dg.DagsterInstance, change: InputChange) -> bool:
    """Whether the asset's latest materialization is newer than every file of ``change``
    (used on the first look, when the sensor has no memory of the files yet)."""
    latest = instance.get_latest_materialization_event(dg.AssetKey(change.asset))
    if latest is None or not change.files:
        return False
    newest_file = max(state.mtime_ns for state in change.files.values()) / 1e9
    return latest.timestamp >= newest_file


def _file_months(path: Path) -> list[str] | None:
    """The quote months in the chain file ``path``; None when it cannot be read (its
    ingest will then fail with the file's own error, which the failure alert reports)."""
    try:
        scanned = scan_quote_months([path])
    except OptvolInputError:
        return None
    return sorted({month for months in scanned.values() for month in months})


def _touched_months(change: InputChange, cursor: WatchCursor, root: Path) -> list[str]:
    """The months an option-file change touches: those its changed and removed files held
    before and those its added and changed files hold now. Updates the cursor's record of
    each file's months. A file that cannot be read touches the latest month, so that an
    ingest runs and reports the file's error."""
    touched: set[str] = set()
    before: dict[str, list[str]] = {}
    for name in (*change.changed, *change.removed):
        before[name] = cursor.partitions.pop(name, [])
        touched.update(before[name])
    for name in change.files:
        if name in cursor.partitions:
            continue
        found = _file_months(root / OPTIONS_INPUT_DIR / name)
        if found is None:  # remember what it held, so that a fixed file refreshes them
            found = [*before.get(name, []), QUOTE_MONTHS.get_last_partition_key()]
        cursor.partitions[name] = found
        if name in change.added or name in change.changed:
            touched.update(found)
    return sorted(touched)


@dg.sensor(
    name="new_input_files",
    jobs=[ingest_options_job, ingest_market_job],
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def new_input_files(context: dg.SensorEvaluationContext, data_root: DataRoot):
    """Request the ingest of raw/options/ or raw/raw_market.csv when one of their files
    is added, altered (by content: size, mtime, then SHA-256) or removed.

    The cursor, kept in the Dagster instance across restarts, holds each file's size,
    mtime and hash, and a count of the ingests requested per asset. The run key is
    ``<asset>:<count>:<content digest>``: a tick evaluated again with the same cursor
    asks for the same key, which Dagster launches once; a later change, even back to an
    earlier state, gets a new one. Files modified in the last 10 s are waited for (a
    copy may be in progress), and a file that cannot be read holds back only its own
    group. On the very first look, inputs older than their asset's last materialization
    are taken as already ingested.
    """
    cursor = WatchCursor.from_json(context.cursor)
    result = look(data_root.path, cursor.state)
    requests, notes = [], []
    for change in result.changes:
        is_options = change.asset == "raw_option_quotes"
        months = _touched_months(change, cursor, data_root.path) if is_options else []
        outside = outside_partitions(months)
        if outside:
            notes.append(
                f"{change.asset}: quotes dated {', '.join(outside)} are outside the quote-month "
                f"partitions (from {QUOTE_MONTHS.get_first_partition_key()}); set "
                f"{FIRST_MONTH_ENV} to ingest them"
            )
            context.log.warning(notes[-1])
            months = [month for month in months if month not in outside]
        if not change.files:
            notes.append(f"{change.describe()}: no files left, nothing to ingest")
        elif is_options and not months:
            notes.append(f"{change.describe()}: no quote month of the partitions to ingest")
        elif change.asset not in cursor.state and _already_ingested(context.instance, change):
            notes.append(f"{change.asset}: inputs already ingested")
        else:
            count = cursor.requests.get(change.asset, 0) + 1
            cursor.requests[change.asset] = count
            requests += _partition_requests(
                months,
                f"{change.asset}:{count}:{change.digest[:16]}",
                {TRIGGER_TAG: change.describe()[:200]},
                job_name=INGEST_JOB_OF_ASSET[change.asset].name,
            )
            context.log.info("Input change: %s (months %s)", change.describe(), months or "-")
    notes += [f"{asset}: {why}" for asset, why in result.waiting.items()]
    cursor.state = result.state
    context.update_cursor(cursor.to_json())
    if requests:
        return requests
    return dg.SkipReason("; ".join(notes) or "no input file changed")


@dg.schedule(
    name="after_close_ingest",
    cron_schedule="0 18 * * 1-5",
    execution_timezone="America/New_York",
    job=ingest_job,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Both ingests at 18:00 New York time on weekdays, when vendors have published the "
        "day's end-of-day chains; the options for the month in progress. Stopped by default: "
        "optvol downloads nothing, and the new_input_files sensor already ingests a file "
        "within a minute of its arrival. Turn it on when a fetch job of yours rewrites the "
        "inputs where the sensor cannot see the change (e.g. a mount that keeps mtimes)."
    ),
)
def after_close_ingest(context: dg.ScheduleEvaluationContext):
    """The ingest of the month of the scheduled day (New York time)."""
    return dg.RunRequest(partition_key=context.scheduled_execution_time.strftime(MONTH_FORMAT))


MODEL_ASSETS = ("gru_model", "option_evaluation", "volatility_model", "volatility_evaluation")

retrain_when_features_change = dg.AutomationConditionSensorDefinition(
    "retrain_when_features_change",
    target=dg.AssetSelection.assets(*MODEL_ASSETS),
    default_status=(
        dg.DefaultSensorStatus.RUNNING if auto_retrain_enabled() else dg.DefaultSensorStatus.STOPPED
    ),
    minimum_interval_seconds=INTERVAL_SECONDS,
    description=(
        "Retrain and re-evaluate a model when its clean table changed and that table's "
        "blocking checks passed. Off by default: training stays under human oversight (the "
        f"SPY plan). Start it in the UI, or set {AUTO_RETRAIN_ENV}=1 before starting Dagster."
    ),
)


# Errors Dagster wraps around the one raised by the asset's code.
_WRAPPER_ERRORS = ("DagsterExecutionStepExecutionError", "RetryRequestedFromPolicy")


def _error_text(error: object) -> str:
    """The message of the error the asset raised, without Dagster's wrappers and module
    paths: ``ValueError: ...``, or a ``Failure``'s description alone."""
    while getattr(error, "cls_name", None) in _WRAPPER_ERRORS and error.cause is not None:
        error = error.cause
    message = str(getattr(error, "message", "") or "").strip()
    head, sep, rest = message.partition(": ")
    if not sep or " " in head:
        return message
    name = head.rsplit(".", 1)[-1]
    return rest if name == "Failure" else f"{name}: {rest}"


def failed_run_alert(context: dg.RunFailureSensorContext) -> FailedRunAlert:
    """The alert of a failed run: its job, assets, failed steps, first error and end time."""
    run = context.dagster_run
    steps = [
        StepFailure(
            step=event.step_key or "",
            error=_error_text(getattr(event.event_specific_data, "error", None)),
        )
        for event in context.get_step_failure_events()
    ]
    record = context.instance.get_run_record_by_id(run.run_id)
    ended = (
        record.end_time
        if record and record.end_time
        else dt.datetime.now(dt.timezone.utc).timestamp()
    )
    return FailedRunAlert(
        time=dt.datetime.fromtimestamp(ended, dt.timezone.utc).isoformat(timespec="seconds"),
        run_id=run.run_id,
        job=run.job_name,
        assets=sorted(planned_assets(context.instance, run.run_id)),
        error=next((s.error for s in steps if s.error), None)
        or context.failure_event.message
        or "run failed",
        failed_steps=steps,
    )


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=True,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, data_root: DataRoot):
    """Record each failed run of this Dagster instance in <data root>/alerts/alerts.jsonl
    (job, assets, failed steps, error, run id, time) and, when OPTVOL_ALERT_WEBHOOK is set,
    POST a Slack-compatible message there (5 s timeout). A webhook that is down or refuses
    is logged as a warning, an alert file that cannot be written as an error; either way
    the other channel is tried and the sensor carries on. Runs of every job are watched,
    including those started by `dagster asset materialize`, from the sensor's first tick
    on; delivery is at least once (a tick cut short is evaluated again).
    """
    alert = failed_run_alert(context)
    path = data_root.path / ALERTS_FILE
    try:
        append_alert(path, alert)
        context.log.info("Run %s (%s) failed; alert recorded in %s", alert.run_id, alert.job, path)
    except OSError as err:  # a full or read-only disk must not silence the webhook too
        context.log.error("Alert for run %s not recorded in %s: %s", alert.run_id, path, err)
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if url:
        problem = post_json(url, slack_message(alert))
        if problem:
            context.log.warning("Alert for run %s not delivered: %s", alert.run_id, problem)


jobs = [ingest_job, ingest_options_job, ingest_market_job, clean_options_job, clean_market_job]
sensors = [
    new_input_files,
    clean_options_on_ingest,
    clean_market_on_ingest,
    retrain_when_features_change,
    alert_on_run_failure,
]
schedules = [after_close_ingest]
