"""What both pipelines' definitions share: resources, the executor, the ingest retry,
asset metadata helpers, the report step and the specs and results of asset checks."""

__all__ = ["assets", "checks", "executor", "metadata", "reporting", "resources", "retry"]
