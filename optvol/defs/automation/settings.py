"""The switches of optvol's automation, read from the environment when the code location
loads: how often sensors look, whether retraining starts on, and the tag that says what
triggered a run."""

import os

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
