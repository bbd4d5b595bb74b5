"""What runs without anyone clicking: the ingest jobs, sensors, the schedule, the
automation conditions of the clean tables and the models, and the failed-run alerts;
the sensors are built from the settings when the definitions load (definitions.py)."""

__all__ = ["alerts", "conditions", "definitions", "jobs", "schedules", "sensors"]
