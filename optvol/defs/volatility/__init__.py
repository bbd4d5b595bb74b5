"""The volatility pipeline in Dagster: its assets, run config, checks and
dagster-pandas types."""
