"""The light jobs that the file sensor and the schedule launch (the ingests, whose checks
run in their steps), and what a run planned to materialize."""

import dagster as dg

# Ingests are light: run their steps in the run's own process. The default executor
# starts a process per step, each importing torch and pandas again; on 2 cores that made
# a small clean take a minute instead of seconds.
IN_PROCESS = dg.in_process_executor
# The run queue (dagster.yaml) runs jobs with this tag one at a time, in order: an ingest
# from the schedule and one from the file sensor never race to write the same table.
REFRESH_TAGS = {"optvol/refresh": "inputs"}
# The tag saying what triggered a sensor's run (a file change, an ingest).
TRIGGER_TAG = "optvol/trigger"


def _light_job(name: str, assets: tuple[str, ...], description: str):
    """A job of light steps (ingests and their checks), queued one at a time."""
    return dg.define_asset_job(
        name,
        selection=dg.AssetSelection.assets(*assets),
        executor_def=IN_PROCESS,
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
    "Both ingests; the clean_after_ingest sensor then cleans what they staged.",
)
INGEST_JOB_OF_ASSET = {"raw_option_quotes": ingest_options_job, "raw_market": ingest_market_job}


def planned_assets(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    """The assets run ``run_id`` planned to materialize (Dagster records the plan at the
    start of each run, whatever job, selection or command launched it)."""
    planned = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    return {record.event_log_entry.dagster_event.asset_key.to_user_string() for record in planned}


jobs = [ingest_job, ingest_options_job, ingest_market_job]
