"""The Dagster layer: thin definitions over optvol.core, one folder per pipeline
(options/, volatility/), automation/ (jobs, sensors, schedules, alerts), io_managers/
and shared/ (settings, executor, check specs and results, run config, retries,
metadata, report step); resources.py builds the resources and the executor."""

__all__ = ["automation", "io_managers", "options", "resources", "shared", "volatility"]
