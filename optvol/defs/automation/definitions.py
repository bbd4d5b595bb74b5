"""What runs without anyone clicking, as one Definitions: the ingest and cleaning jobs,
the sensors that launch them, the after-close schedule, retraining under a switch, and
the failed-run alerts."""

import dagster as dg

from optvol.defs.automation.alerts import alert_on_run_failure
from optvol.defs.automation.jobs import jobs
from optvol.defs.automation.schedules import after_close_ingest
from optvol.defs.automation.sensors import (
    clean_market_on_ingest,
    clean_options_on_ingest,
    new_input_files,
    retrain_when_features_change,
)

defs = dg.Definitions(
    jobs=jobs,
    sensors=[
        new_input_files,
        clean_options_on_ingest,
        clean_market_on_ingest,
        retrain_when_features_change,
        alert_on_run_failure,
    ],
    schedules=[after_close_ingest],
)
