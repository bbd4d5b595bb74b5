"""The after-close schedule (stopped by default)."""

import dagster as dg

from optvol.defs.automation.jobs import ingest_job
from optvol.defs.options.partitions import MONTH_FORMAT


@dg.schedule(
    name="after_close_ingest",
    cron_schedule="0 18 * * 1-5",
    execution_timezone="America/New_York",
    job=ingest_job,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Both ingests at 18:00 New York time on weekdays, when vendors have published the "
        "day's end-of-day chains; the options for the month in progress. Stopped by default: "
        "the new_input_files sensor already ingests a file within a minute of its arrival "
        "(the evening downloads' files too). Turn it on when a fetch job of yours rewrites "
        "the inputs where the sensor cannot see the change (e.g. a mount that keeps mtimes)."
    ),
)
def after_close_ingest(context: dg.ScheduleEvaluationContext):
    """The ingest of the month of the scheduled day (New York time)."""
    return dg.RunRequest(partition_key=context.scheduled_execution_time.strftime(MONTH_FORMAT))
