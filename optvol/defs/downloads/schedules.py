"""The evening download schedules, on by default (``OPTVOL_SCHEDULED_DOWNLOADS=0`` turns
them off): the option chains at 16:45 New York time, after the 16:15 close of index
options, and the market history at 18:30, once stooq and Cboe have the day's close."""

import dagster as dg

from optvol.defs.downloads.jobs import download_market_job, snapshot_options_job
from optvol.defs.shared.settings import DOWNLOADS_ENV, Settings

TIMEZONE = "America/New_York"


def download_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    status = (
        dg.DefaultScheduleStatus.RUNNING
        if settings.scheduled_downloads
        else dg.DefaultScheduleStatus.STOPPED
    )
    return [
        dg.ScheduleDefinition(
            name="evening_option_snapshot",
            job=snapshot_options_job,
            cron_schedule="45 16 * * 1-5",
            execution_timezone=TIMEZONE,
            default_status=status,
            description="Save the delayed quotes of each OPTVOL_OPTION_SYMBOLS underlying as "
            f"the day's chain in raw/options/ (a holiday writes nothing; {DOWNLOADS_ENV}=0: "
            "stopped).",
        ),
        dg.ScheduleDefinition(
            name="evening_market_download",
            job=download_market_job,
            cron_schedule="30 18 * * 1-5",
            execution_timezone=TIMEZONE,
            default_status=status,
            description="Append the day to raw/raw_market.csv from stooq, Cboe and FRED "
            f"({DOWNLOADS_ENV}=0: stopped).",
        ),
    ]
