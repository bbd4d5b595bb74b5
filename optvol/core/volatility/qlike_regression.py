"""A log-linear volatility regression fitted by QLIKE, not by least squares on logs.

The forecast of the 21-day variance is ``h = exp(2 f)`` with ``f = b_0 + x'b``; the
coefficients minimise the mean QLIKE loss (Patton 2011, J. Econometrics 160(1)) of ``h``
against the realized variance ``s^2 = exp(2 y)`` over the training rows:

``min_b  mean( s^2 / h - ln(s^2 / h) - 1 ) = mean( exp(2 (y - f)) + 2 f ) + const``,

a convex problem, solved by Newton's method with a backtracking line search from the
least-squares fit. Its first-order condition for the intercept is
``mean(s^2 / h) = 1``: the forecast is of the conditional *mean* of variance, calm and
crisis years weighted as QLIKE weighs them, where least squares on logs forecasts the
median and leans on a smearing factor averaged over both (Patton 2011 on robust losses;
Corsi & Renò 2012 estimate their LHAR on logs). The estimator follows scikit-learn's
interface, taking ``y = ln RV``, so that :func:`~optvol.core.volatility.models.fit_model`
fits it like any other: its variance smearing factor is 1 at the optimum.
"""

from __future__ import annotations

import numpy as np

MAX_ITERATIONS = 100
GRADIENT_TOLERANCE = 1e-10
# A tiny ridge on the slopes keeps the Hessian invertible on collinear inputs.
RIDGE = 1e-8


class QlikeRegression:
    """``f = b_0 + x'b`` minimising the QLIKE loss of ``exp(2 f)`` against ``exp(2 y)``."""

    def __init__(self) -> None:
        self.intercept_ = 0.0
        self.coef_ = np.zeros(0)
        self.n_iter_ = 0

    def get_params(self, deep: bool = True) -> dict:
        return {}

    def set_params(self, **params) -> QlikeRegression:
        if params:
            raise ValueError(f"QlikeRegression has no parameters {sorted(params)}")
        return self

    def fit(self, x: np.ndarray, y: np.ndarray) -> QlikeRegression:
        x, y = np.asarray(x, float), np.asarray(y, float)
        if x.ndim != 2 or len(x) != len(y) or len(y) <= x.shape[1] + 1:
            raise ValueError(f"QlikeRegression needs more rows than inputs, got {x.shape}")
        center, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        z = np.column_stack([np.ones(len(y)), (x - center) / scale])
        beta = np.linalg.lstsq(z, y, rcond=None)[0]
        # Start where mean(s^2 / h) = 1, so that exp(2 (y - f)) is of order one.
        beta[0] += 0.5 * np.log(np.mean(np.exp(2.0 * (y - z @ beta))))
        penalty = np.full(len(beta), RIDGE)
        penalty[0] = 0.0

        def objective(b: np.ndarray) -> float:
            f = z @ b
            return float(np.mean(np.exp(2.0 * (y - f)) + 2.0 * f) + np.sum(penalty * b * b))

        value = objective(beta)
        self.n_iter_ = 0
        for _ in range(MAX_ITERATIONS):
            self.n_iter_ += 1
            ratio = np.exp(2.0 * (y - z @ beta))
            gradient = z.T @ (2.0 - 2.0 * ratio) / len(y) + 2.0 * penalty * beta
            if np.max(np.abs(gradient)) < GRADIENT_TOLERANCE:
                break
            hessian = (z * (4.0 * ratio)[:, None]).T @ z / len(y) + np.diag(2.0 * penalty)
            step = np.linalg.solve(hessian, gradient)
            size = 1.0
            while size > 1e-8:
                candidate = beta - size * step
                candidate_value = objective(candidate)
                if np.isfinite(candidate_value) and candidate_value <= value:
                    break
                size /= 2.0
            else:
                break
            beta, value = candidate, candidate_value
        self.coef_ = beta[1:] / scale
        self.intercept_ = float(beta[0] - np.sum(self.coef_ * center))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.intercept_ + np.asarray(x, float) @ self.coef_
