"""What runs without anyone clicking: jobs, sensors, the schedule, the automation
conditions of the models and the failed-run alerts."""

__all__ = ["alerts", "conditions", "definitions", "jobs", "schedules", "sensors", "settings"]
