"""The sensors, built when the definitions load from the settings of that moment (their
interval, whether retraining starts on, the quote-month partitions): see
:mod:`optvol.defs.shared.settings` for why nothing is read at import."""

import dagster as dg

from optvol.defs.automation.alerts import alert_sensor
from optvol.defs.automation.sensors import clean_sensor, new_input_files_sensor, retrain_sensor
from optvol.defs.shared.settings import Settings


def sensors_for(settings: Settings) -> list[dg.SensorDefinition]:
    """Every sensor of optvol, as ``settings`` configure them."""
    return [
        new_input_files_sensor(settings),
        clean_sensor(settings),
        retrain_sensor(settings),
        alert_sensor(settings),
    ]


@dg.definitions
def automation() -> dg.Definitions:
    return dg.Definitions(sensors=sensors_for(Settings.at_load()))
