"""The download jobs and their schedules, built when the definitions load: whether the
schedules start running is a setting read then."""

import dagster as dg

from optvol.defs.downloads.jobs import download_market_job, snapshot_options_job
from optvol.defs.downloads.schedules import download_schedules
from optvol.defs.shared.settings import Settings


@dg.definitions
def downloads() -> dg.Definitions:
    return dg.Definitions(
        jobs=[download_market_job, snapshot_options_job],
        schedules=download_schedules(Settings.at_load()),
    )
