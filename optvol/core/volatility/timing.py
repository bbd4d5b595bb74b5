"""The economic value of the 21-day return forecast: a mean-variance investor's
certainty-equivalent gain from using it instead of the historical mean (Campbell &
Thompson 2008, RFS 21(4), section 3).

Once a month, at the walk-forward's refit days (about 21 trading days apart, the
horizon of the forecast; a short month's holding period overlaps the next by a day or
two), the investor holds the index with weight

``w_t = clip(mu_t / (gamma * sigma^2_t), 0, 1.5)``

and cash (at zero return: the data hold no short rate for every year) with the rest,
where ``sigma^2_t`` is the 21-day variance forecast of the adaptive volatility
procedure, the same for both investors, so that the gain is the return forecast's alone,
and ``mu_t = exp(m_t + sigma^2_t / 2) - 1`` the expected simple return of a forecast
21-day log return ``m_t`` (lognormal). Campbell & Thompson use ``gamma = 3`` and the same
bounds. The portfolio's simple return over the next 21 trading days is
``R_p = w_t (exp(r_{t+21}) - 1)``, and its certainty equivalent, annualised,

``CE = (252 / 21) (mean(R_p) - gamma / 2 var(R_p))``.

The gain is ``CE(forecast) - CE(historical mean)``; negative when the forecast loses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optvol.core.volatility.features import HORIZON, TARGET_RETURN, TRADING_DAYS_PER_YEAR

RISK_AVERSION = 3.0
MAX_WEIGHT = 1.5
PERIODS_PER_YEAR = TRADING_DAYS_PER_YEAR / HORIZON


def certainty_equivalent(returns: np.ndarray, gamma: float = RISK_AVERSION) -> float:
    """``(252 / 21) (mean(R) - gamma / 2 var(R))`` of 21-day portfolio returns ``R``."""
    return float(PERIODS_PER_YEAR * (np.mean(returns) - gamma / 2.0 * np.var(returns)))


def timing_value(forecasts: pd.DataFrame, model: str, benchmark: str, variance: str) -> dict | None:
    """The certainty-equivalent gain of timing with ``<model>_return`` over
    ``<benchmark>_return``, both with the 21-day variance of ``<variance>_var`` (annual),
    at the refit days whose 21-day outcome is known."""
    rows = forecasts.loc[forecasts["date"] == forecasts["refit_date"]]
    columns = [f"{model}_return", f"{benchmark}_return", f"{variance}_var", TARGET_RETURN]
    rows = rows.loc[rows[columns].notna().all(axis=1) & rows[f"{variance}_var"].gt(0)]
    if len(rows) < 12:
        return None
    variance_21 = rows[f"{variance}_var"].to_numpy() * HORIZON / TRADING_DAYS_PER_YEAR
    outcome = np.expm1(rows[TARGET_RETURN].to_numpy())
    results = {}
    for name in (model, benchmark):
        expected = np.expm1(rows[f"{name}_return"].to_numpy() + variance_21 / 2.0)
        weight = np.clip(expected / (RISK_AVERSION * variance_21), 0.0, MAX_WEIGHT)
        portfolio = weight * outcome
        results[name] = {
            "certainty_equivalent": certainty_equivalent(portfolio),
            "mean_weight": float(weight.mean()),
            "annual_return": float(PERIODS_PER_YEAR * portfolio.mean()),
            "annual_volatility": float(np.sqrt(PERIODS_PER_YEAR) * portfolio.std()),
        }
    gain = results[model]["certainty_equivalent"] - results[benchmark]["certainty_equivalent"]
    return {
        "model": model,
        "benchmark": benchmark,
        "variance_forecast": variance,
        "risk_aversion": RISK_AVERSION,
        "weight_bounds": [0.0, MAX_WEIGHT],
        "months": int(len(rows)),
        "first_date": f"{rows['date'].iloc[0]:%Y-%m-%d}",
        "last_date": f"{rows['date'].iloc[-1]:%Y-%m-%d}",
        "portfolios": results,
        "certainty_equivalent_gain": gain,
        "gains": gain > 0,
    }
