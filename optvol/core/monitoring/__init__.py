"""Watching a running pipeline, without Dagster: failed-run alerts and the watch over the
input files."""

__all__ = ["alerts", "input_watch"]
