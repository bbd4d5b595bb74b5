"""Baselines of the volatility task that are not regressions: GARCH(1,1), VIX, no-change,
and the historical mean return.

HAR-RV, the fourth volatility baseline, is a regression and lives with the models
(:mod:`optvol.core.volatility.models`).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from optvol.core.volatility.features import HORIZON, TARGET_RETURN, TRADING_DAYS_PER_YEAR

log = logging.getLogger(__name__)

# arch fits best on returns in percent.
PERCENT = 100.0


class GarchForecaster:
    """GARCH(1,1) with Student-t errors and a constant mean (Bollerslev 1986, 1987), refit
    on every return up to the refit day and used with fixed parameters until the next.

    The forecast of 21-day variance at origin t is the sum of the h-step conditional
    variance forecasts, ``sum_{h=1}^{21} E_t[sigma^2_{t+h}]``, which the model gives in
    closed form; annualised as realized volatility is:
    ``vol_t = sqrt(252 / 21 * sum_h E_t[sigma^2_{t+h}])``.
    """

    def __init__(self, log_returns: pd.Series, min_returns: int) -> None:
        self.returns = log_returns.reset_index(drop=True) * PERCENT
        self.min_returns = min_returns
        self.params: pd.Series | None = None
        self.fits = 0
        self.failures = 0

    def _model(self, end: int):
        """The model on the returns at positions ``<= end`` (the first one is NaN)."""
        from arch import arch_model

        returns = self.returns.iloc[: end + 1].dropna()
        return arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t",
                          rescale=False)  # fmt: skip

    def forecast(self, refit: int, origins: np.ndarray) -> pd.DataFrame:
        """``vol`` and ``var`` forecasts at the positions ``origins`` (all ``>= refit``), the
        model fitted on returns up to ``refit``; NaN when too few returns exist."""
        empty = pd.DataFrame({"vol": np.nan, "var": np.nan}, index=origins)
        if int(self.returns.iloc[: refit + 1].notna().sum()) < self.min_returns:
            return empty
        starting = None if self.params is None else self.params.to_numpy()
        with warnings.catch_warnings():
            # Convergence warnings are counted and logged, not printed per refit.
            warnings.simplefilter("ignore")
            result = self._model(refit).fit(disp="off", show_warning=False,
                                             starting_values=starting)  # fmt: skip
        self.fits += 1
        if result.convergence_flag != 0:
            self.failures += 1
            if self.params is None:
                return empty
        else:
            self.params = result.params
        model = self._model(int(origins[-1]))
        # arch takes ``start`` as a location in its data, which lacks the first (NaN)
        # return; the forecasts come back labelled with the returns' positions.
        start = int(model.y.index.get_loc(int(origins[0])))
        fixed = model.fix(self.params)
        variance = fixed.forecast(horizon=HORIZON, start=start, reindex=False).variance
        total = variance.sum(axis=1).reindex(origins).to_numpy() / PERCENT**2
        annual_var = total * TRADING_DAYS_PER_YEAR / HORIZON
        return pd.DataFrame({"vol": np.sqrt(annual_var), "var": annual_var}, index=origins)


def vix_forecast(frame: pd.DataFrame) -> pd.DataFrame:
    """VIX as the forecast of 21-day volatility: ``vol_t = VIX_t / 100``.

    VIX is the risk-neutral expectation of 30-calendar-day (about 21 trading days)
    variance, so it carries the variance risk premium and is biased upwards.
    """
    vol = frame["vix_close"] / 100.0
    return pd.DataFrame({"vol": vol, "var": vol**2}, index=frame.index)


def no_change_forecast(frame: pd.DataFrame) -> pd.DataFrame:
    """The random-walk forecast: the next 21 days' volatility is the last 21 days',
    ``vol_t = RV21_t``."""
    vol = frame["rv_21"]
    return pd.DataFrame({"vol": vol, "var": vol**2}, index=frame.index)


def historical_mean_return(frame: pd.DataFrame) -> pd.Series:
    """The benchmark of Campbell & Thompson (2008, RFS 21(4)): at t, the mean of every
    21-day return already realized, ``mean(R_s : s + 21 <= t)``; NaN before the first."""
    realized = frame[TARGET_RETURN].expanding(min_periods=1).mean()
    return realized.shift(HORIZON).rename("return")
