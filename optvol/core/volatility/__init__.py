"""The volatility pipeline's domain logic: the market history (import, reading,
cleaning), features and targets, models and baselines, the walk-forward, metrics,
evaluation, prediction, plots, summary statistics and the report."""

__all__ = [
    "artifact",
    "baselines",
    "evaluation",
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
