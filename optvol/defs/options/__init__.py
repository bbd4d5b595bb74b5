"""The options pipeline in Dagster: its assets, run config, checks and quote-month
partitions."""

__all__ = ["assets", "checks", "config", "partitions"]
