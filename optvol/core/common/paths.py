"""Where optvol reads its inputs and writes its artifacts (docs/architecture.md §2)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "OPTVOL_DATA_DIR"
DEFAULT_DATA_DIR = "data"
# Where the IO managers keep the artifacts when their root is not configured: a local
# directory or a URL (s3://bucket/prefix, ...); unset, the data root.
ARTIFACT_ROOT_ENV = "OPTVOL_ARTIFACT_ROOT"

# Artifact of each asset, relative to the data root.
ARTIFACT_PATHS: dict[str, str] = {
    # Partitioned by quote month: a directory of <YYYY-MM>.parquet files.
    "raw_option_quotes": "staging/raw_option_quotes",
    "option_quotes": "processed/option_quotes",
    "raw_market": "staging/raw_market.parquet",
    "market_features": "processed/market_features.parquet",
    "gru_model": "models/gru_model.pt",
    "option_evaluation": "metrics/evaluation.json",
    "volatility_model": "models/volatility_model.joblib",
    "volatility_evaluation": "metrics/volatility_evaluation.json",
}
PLOTS_DIR = "plots"
# Files of each report asset, relative to the data root: (Markdown, PDF).
REPORT_PATHS: dict[str, tuple[str, str]] = {
    "option_report": ("reports/report.md", "reports/report.pdf"),
    "volatility_report": ("reports/analysis_report.md", "reports/analysis_report.pdf"),
}

OPTIONS_INPUT_DIR = "raw/options"
MARKET_INPUT_FILE = "raw/raw_market.csv"
ALERTS_FILE = "alerts/alerts.jsonl"
# Each option input file's quote months, by its size and mtime (a cache: see
# optvol.core.options.ingest.months).
QUOTE_MONTHS_INDEX = "cache/quote_months.json"


def resolve_data_root(override: str | os.PathLike | None = None) -> Path:
    """The data root, absolute: ``override``, else ``$OPTVOL_DATA_DIR``, else ``./data``."""
    return Path(override or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).absolute()
