"""
What an evaluation document records besides its scores: the data it was computed on
(source files and their origin, the cleaning counts, summary statistics of the cleaned
table) and the model (its settings, as the model card has them).

The reports are written from the evaluation documents alone, so everything a report
states must be in them.
"""

from __future__ import annotations

import pandas as pd

from optvol.core.common.parquet import notes_of
from optvol.core.options.summary import summarize_option_quotes
from optvol.core.volatility.summary import summarize_market_features

# Model-card entries of the option GRU that describe it (not its weights or scalers).
_GRU_CARD_KEYS = (
    "model",
    "target",
    "architecture",
    "training",
    "samples",
    "features",
    "metrics",
    "sample_counts",
    "device",
    "versions",
)
_HISTORY_KEYS = ("epoch", "train_loss", "val_loss", "seconds", "samples_per_second")


def _sources_and_cleaning(frame: pd.DataFrame) -> dict:
    """The source files and cleaning counts the table carries in its notes; ``None``
    for a table written before optvol recorded them."""
    notes = notes_of(frame)
    return {"sources": notes.get("sources"), "cleaning": notes.get("cleaning")}


def option_data_record(quotes: pd.DataFrame) -> dict:
    """The ``data`` entry of the option evaluation: sources, cleaning, summary."""
    return {**_sources_and_cleaning(quotes), "summary": summarize_option_quotes(quotes)}


def market_data_record(features: pd.DataFrame) -> dict:
    """The data entry of the volatility evaluation: sources, cleaning, summary."""
    return {**_sources_and_cleaning(features), "summary": summarize_market_features(features)}


def gru_model_record(card: dict) -> dict:
    """The ``model`` entry of the option evaluation, from the GRU's model card."""
    record = {key: card.get(key) for key in _GRU_CARD_KEYS}
    record["history"] = [
        {key: epoch.get(key) for key in _HISTORY_KEYS} for epoch in card.get("history", [])
    ]
    return record


def volatility_model_record(card: dict) -> dict:
    """The ``model`` entry of the volatility evaluation, from the model card."""
    return {
        "chosen": card["chosen_volatility_model"],
        "horizon_days": card.get("horizon_days"),
        "feature_columns": card.get("feature_columns"),
        "macro_columns": card.get("macro_columns"),
        "selection_config": card.get("selection_config"),
        "selection": {
            name: {
                "chosen": selection["chosen"],
                "validation_mse": selection["validation_mse"],
                "folds": len(selection.get("folds", [])),
            }
            for name, selection in card.get("selection", {}).items()
        },
        "fitted": card.get("models"),
        "versions": card.get("versions"),
    }
