"""The volatility pipeline in Dagster: its assets, run config, checks and
dagster-pandas types."""

__all__ = ["assets", "checks", "config", "definitions", "types"]
