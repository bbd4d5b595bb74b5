"""Option pricing: Black-Scholes prices, greeks and implied vols, and the daily
implied-vol surfaces (Dumas-Fleming-Whaley)."""

from optvol.core.options.pricing.black_scholes import Greeks, bs_greeks, bs_price, implied_vol
from optvol.core.options.pricing.iv_surface import (
    SURFACE_TERMS,
    evaluate_surface,
    fit_daily_surfaces,
)

__all__ = [
    "Greeks",
    "SURFACE_TERMS",
    "bs_greeks",
    "bs_price",
    "evaluate_surface",
    "fit_daily_surfaces",
    "implied_vol",
]
