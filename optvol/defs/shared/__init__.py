"""What both pipelines' definitions share: resources, the executor, the ingest retry,
asset metadata helpers, the report step and the asset-check factory."""

__all__ = ["assets", "checks", "executor", "metadata", "reporting", "retry", "settings", "types"]
