"""Option pricing: Black-Scholes prices, greeks and implied vols, and the daily
implied-vol surfaces (Dumas-Fleming-Whaley)."""
