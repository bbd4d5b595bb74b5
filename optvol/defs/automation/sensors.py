"""The sensors that refresh the pipelines: an ingest when an input file changes, and the
automation sensors of the clean tables (a clean after each ingest) and of the models
(retraining under a switch, off by default), whose conditions are in
:mod:`optvol.defs.automation.conditions`.

docs/operating.md lists each with its default status and why. Sensors run in
the Dagster daemon (``make ui`` starts one); a default status is only the starting
point: the UI's toggle overrides it and is kept in the instance.
"""

from pathlib import Path

import dagster as dg

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.paths import OPTIONS_INPUT_DIR
from optvol.core.monitoring.input_watch import InputChange, WatchCursor, scan
from optvol.core.options.ingest.read import scan_quote_months
from optvol.defs.automation.jobs import (
    INGEST_JOB_OF_ASSET,
    REFRESH_TAGS,
    TRIGGER_TAG,
    ingest_market_job,
    ingest_options_job,
)
from optvol.defs.options.partitions import (
    QUOTE_MONTHS,
    contiguous_ranges,
    outside_partitions,
    quote_months,
    range_tags,
)
from optvol.defs.shared.settings import AUTO_RETRAIN_ENV, FIRST_MONTH_ENV, Settings


def _partition_requests(
    months: list[str],
    run_key: str,
    tags: dict[str, str],
    partitions: dg.PartitionsDefinition,
    job_name: str | None = None,
) -> list[dg.RunRequest]:
    """One run per stretch of consecutive months (a single month as its partition, a
    stretch as a one-run range); one unpartitioned run when ``months`` is empty."""
    if not months:
        return [dg.RunRequest(run_key=run_key, tags=tags, job_name=job_name)]
    requests = []
    for first, last in contiguous_ranges(months, partitions):
        key = f"{run_key}:{first}" if first == last else f"{run_key}:{first}...{last}"
        if first == last:
            requests.append(
                dg.RunRequest(run_key=key, partition_key=first, tags=tags, job_name=job_name)
            )
        else:
            range_run = {**tags, **range_tags(first, last)}
            requests.append(dg.RunRequest(run_key=key, tags=range_run, job_name=job_name))
    return requests


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


def new_input_files_sensor(settings: Settings) -> dg.SensorDefinition:
    """The sensor that ingests each change of the input files, into the quote-month
    partitions of ``settings``."""
    partitions = quote_months(settings.first_quote_month)

    @dg.sensor(
        name="new_input_files",
        jobs=[ingest_options_job, ingest_market_job],
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def new_input_files(context: dg.SensorEvaluationContext, settings: Settings):
        """Request the ingest of raw/options/ or raw/raw_market.csv when one of their
        files is added, altered (by content: size, mtime, then SHA-256) or removed.

        The cursor, kept in the Dagster instance across restarts, holds each file's size,
        mtime and hash, and a count of the ingests requested per asset. The run key is
        ``<asset>:<count>:<content digest>``: a tick evaluated again with the same cursor
        asks for the same key, which Dagster launches once; a later change, even back to
        an earlier state, gets a new one. Files modified in the last 10 s are waited for
        (a copy may be in progress), and a file that cannot be read holds back only its
        own group. On the very first look, inputs older than their asset's last
        materialization are taken as already ingested. Only the months a changed file
        holds are requested, so the partitions' empty months are never run.
        """
        cursor = WatchCursor.from_json(context.cursor)
        result = scan(settings.data_path, cursor.state)
        requests, notes = [], []
        for change in result.changes:
            is_options = change.asset == "raw_option_quotes"
            months = _touched_months(change, cursor, settings.data_path) if is_options else []
            outside = outside_partitions(months, partitions)
            if outside:
                notes.append(
                    f"{change.asset}: quotes dated {', '.join(outside)} are outside the "
                    f"quote-month partitions (from {partitions.get_first_partition_key()}, "
                    f"as {FIRST_MONTH_ENV} says, to the month in progress) and are not "
                    "ingested"
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
                    partitions,
                    job_name=INGEST_JOB_OF_ASSET[change.asset].name,
                )
                context.log.info("Input change: %s (months %s)", change.describe(), months or "-")
        notes += [f"{asset}: {why}" for asset, why in result.waiting.items()]
        cursor.state = result.state
        context.update_cursor(cursor.to_json())
        if requests:
            return requests
        return dg.SkipReason("; ".join(notes) or "no input file changed")

    return new_input_files


CLEAN_ASSETS = ("option_quotes", "market_features")
MODEL_ASSETS = ("gru_model", "option_evaluation", "volatility_model", "volatility_evaluation")


def clean_sensor(settings: Settings) -> dg.AutomationConditionSensorDefinition:
    """The automation sensor of the clean tables (running by default): each evaluates
    :data:`~optvol.defs.automation.conditions.CLEAN_AFTER_INGEST`, so every ingested month
    is cleaned once. Its runs queue one at a time with the ingests (``REFRESH_TAGS``)."""
    return dg.AutomationConditionSensorDefinition(
        "clean_after_ingest",
        target=dg.AssetSelection.assets(*CLEAN_ASSETS),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        run_tags=REFRESH_TAGS,
        description=(
            "Clean each month of option quotes that was ingested, and the market features "
            "after each market ingest, unless the ingest failed a blocking check; an ingest "
            "whose own run also cleaned gets no second clean."
        ),
    )


def retrain_sensor(settings: Settings) -> dg.AutomationConditionSensorDefinition:
    """The automation sensor of the models, running from the start when ``settings`` say
    ``auto_retrain``."""
    return dg.AutomationConditionSensorDefinition(
        "retrain_when_features_change",
        target=dg.AssetSelection.assets(*MODEL_ASSETS),
        default_status=(
            dg.DefaultSensorStatus.RUNNING
            if settings.auto_retrain
            else dg.DefaultSensorStatus.STOPPED
        ),
        minimum_interval_seconds=settings.sensor_interval_seconds,
        description=(
            "Retrain and re-evaluate a model when its clean table changed and that table's "
            "blocking checks passed. Off by default: training stays under human oversight "
            f"(the SPY plan). Start it in the UI, or set {AUTO_RETRAIN_ENV}=1 before starting "
            "Dagster."
        ),
    )
