"""The options pipeline in Dagster: its assets, run config, checks, quote-month
partitions and dagster-pandas types."""

__all__ = ["assets", "checks", "config", "definitions", "partitions", "types"]
