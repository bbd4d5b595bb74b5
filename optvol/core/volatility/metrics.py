"""Loss functions and scores of volatility and return forecasts.

All functions take aligned arrays and ignore nothing: callers pass only the rows on
which every compared model has a forecast, so that every model is scored on the same
dates.
"""

from __future__ import annotations

import numpy as np

from optvol.core.common.forecast_tests import diebold_mariano

__all__ = [
    "diebold_mariano",
    "hit_rate",
    "qlike_losses",
    "r_squared",
    "return_scores",
    "rmse",
    "volatility_scores",
]


def qlike_losses(realized_var: np.ndarray, forecast_var: np.ndarray) -> np.ndarray:
    """Patton's QLIKE loss per row (Patton 2011, J. Econometrics 160(1)), normalised to be
    zero at a perfect forecast:

    ``L(s^2, h) = s^2 / h - ln(s^2 / h) - 1``

    for realized variance ``s^2`` and forecast variance ``h``. Robust to noise in the
    variance proxy, so it ranks forecasts as the true variance would; it punishes
    under-prediction more than over-prediction.
    """
    ratio = np.asarray(realized_var, float) / np.asarray(forecast_var, float)
    return ratio - np.log(ratio) - 1.0


def r_squared(
    actual: np.ndarray, forecast: np.ndarray, benchmark: np.ndarray | None = None
) -> float:
    """Out-of-sample R^2 = ``1 - sum (y - f)^2 / sum (y - b)^2``.

    ``b`` is ``benchmark`` (Campbell & Thompson 2008, RFS 21(4): the historical mean known
    at each date) or, without one, the mean of ``actual`` over the scored dates.
    """
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    reference = actual.mean() if benchmark is None else np.asarray(benchmark, float)
    return float(1.0 - np.sum((actual - forecast) ** 2) / np.sum((actual - reference) ** 2))


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(actual, float) - np.asarray(forecast, float)) ** 2)))


def hit_rate(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Share of rows where the forecast has the sign of the outcome."""
    return float(np.mean(np.sign(actual) == np.sign(forecast)))


def volatility_scores(realized_vol: np.ndarray, forecast_vol: np.ndarray,
                      forecast_var: np.ndarray) -> dict[str, float]:  # fmt: skip
    """R^2 of ln RV, R^2 and RMSE of volatility, mean QLIKE of variance, and the mean
    forecast, of one model over the scored rows."""
    realized_vol = np.asarray(realized_vol, float)
    forecast_vol = np.asarray(forecast_vol, float)
    return {
        "rows": int(len(realized_vol)),
        "r2_log_rv": r_squared(np.log(realized_vol), np.log(forecast_vol)),
        "r2_vol": r_squared(realized_vol, forecast_vol),
        "rmse_vol": rmse(realized_vol, forecast_vol),
        "mae_vol": float(np.mean(np.abs(realized_vol - forecast_vol))),
        "qlike": float(np.mean(qlike_losses(realized_vol**2, forecast_var))),
        "mean_forecast_vol": float(np.mean(forecast_vol)),
    }


def return_scores(realized: np.ndarray, forecast: np.ndarray,
                  historical_mean: np.ndarray) -> dict[str, float]:  # fmt: skip
    """Campbell-Thompson R^2 against the historical mean, RMSE, hit rate and the mean
    forecast of one return model over the scored rows."""
    return {
        "rows": int(len(realized)),
        "r2_vs_historical_mean": r_squared(realized, forecast, historical_mean),
        "rmse": rmse(realized, forecast),
        "hit_rate": hit_rate(realized, forecast),
        "mean_forecast": float(np.mean(forecast)),
    }
