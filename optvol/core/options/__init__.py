"""The options pipeline's domain logic: ingest and cleaning of option chains, pricing
(Black-Scholes, implied-vol surfaces), the leakage-free samples, the GRU, prediction,
metrics, evaluation (and its typed document), plots, summary statistics and the report.

``__all__`` names the public modules; import from them (the package itself imports
nothing, so that reading a chain file does not load PyTorch)."""

__all__ = [
    "evaluation",
    "evaluation_file",
    "gru",
    "ingest",
    "metrics",
    "plots",
    "prediction",
    "pricing",
    "report",
    "samples",
    "summary",
    "validation",
]
