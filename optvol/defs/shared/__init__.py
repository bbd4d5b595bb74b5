"""What both pipelines' definitions share: the settings resource, run config made from
core's dataclasses, the executor, the ingest retry, asset metadata helpers, the report
step and the specs and results of asset checks."""

__all__ = ["assets", "checks", "config", "executor", "metadata", "reporting", "retry", "settings"]
