"""Operations without Dagster: failed-run alerts and the watch over the input files."""
