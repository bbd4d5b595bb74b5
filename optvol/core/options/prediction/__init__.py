"""Pricing option contracts with the trained GRU and every baseline, for serving."""

from optvol.core.options.prediction.predictor import (
    MAX_DAYS_AFTER_DATA,
    OPTION_TYPES,
    OptionPredictor,
)
from optvol.core.options.prediction.requests import (
    ContractPrediction,
    ContractRequest,
    HistoryQuote,
)

__all__ = [
    "MAX_DAYS_AFTER_DATA",
    "OPTION_TYPES",
    "ContractPrediction",
    "ContractRequest",
    "HistoryQuote",
    "OptionPredictor",
]
