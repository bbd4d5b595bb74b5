"""The evening downloads in Dagster: the jobs that fetch the market history and snapshot
the option chains, and the schedules that run them after the close."""

__all__ = ["definitions", "jobs", "schedules"]
