"""The volatility pipeline's domain logic: the market history (import, reading,
cleaning), features and targets, models and baselines, the walk-forward, the model and
its typed card, metrics, evaluation (and its typed document), prediction, plots, summary
statistics and the report."""

__all__ = [
    "artifact",
    "baselines",
    "card",
    "evaluation",
    "evaluation_file",
    "features",
    "market",
    "market_import",
    "metrics",
    "models",
    "plots",
    "prediction",
    "report",
    "summary",
    "validation",
    "walk_forward",
]
