"""The evening download schedules, on by default (``OPTVOL_SCHEDULED_DOWNLOADS=0`` turns
them off): the option chains at 16:45 New York time, after the 16:15 close of index
options, and the market history at 18:30, once stooq and Cboe have the day's close."""

import dagster as dg

from optvol.defs.downloads.jobs import download_market_job, snapshot_options_job
from optvol.defs.shared.settings import DOWNLOADS_ENV, Settings

TIMEZONE = "America/New_York"


def download_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    """Both schedules, running from the start unless ``settings`` turn them off."""
    running = settings.scheduled_downloads
    return [
        _weekday_evening(
            "evening_option_snapshot", snapshot_options_job, "45 16", running,
            "Save the delayed quotes of each OPTVOL_OPTION_SYMBOLS underlying as the day's "
            "chain in raw/options/ (a holiday writes nothing).",
        ),
        _weekday_evening(
            "evening_market_download", download_market_job, "30 18", running,
            "Append the day to raw/raw_market.csv from stooq, Cboe and FRED.",
        ),
    ]  # fmt: skip


def _weekday_evening(
    name: str, job: dg.JobDefinition, minute_hour: str, running: bool, description: str
) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=name,
        job=job,
        cron_schedule=f"{minute_hour} * * 1-5",
        execution_timezone=TIMEZONE,
        default_status=(
            dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED
        ),
        description=f"{description} Weekdays, New York time; {DOWNLOADS_ENV}=0: stopped.",
    )
