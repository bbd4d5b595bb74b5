"""The volatility pipeline in Dagster: its assets, run config and checks."""

__all__ = ["assets", "checks", "config"]
