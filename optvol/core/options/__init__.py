"""The options pipeline's domain logic: ingest and cleaning of option chains, pricing
(Black-Scholes, implied-vol surfaces), the leakage-free samples, the GRU, prediction,
metrics, evaluation, plots, summary statistics and the report."""
