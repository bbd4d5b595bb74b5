"""The Dagster layer: thin definitions over optvol.core, one folder per pipeline
(options/, volatility/), automation/ (jobs, sensors, schedules, alerts), io_managers/
and shared/ (resources, executor, retries, metadata, report step)."""

__all__ = ["automation", "io_managers", "options", "resources", "shared", "volatility"]
