"""Tests for optvol.core.volatility.qlike_regression."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from optvol.core.volatility.metrics import qlike_losses
from optvol.core.volatility.qlike_regression import QlikeRegression


def data(seed: int = 0, rows: int = 3000):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    # log-vol noise of sd 0.4: the mean of variance is exp(2 f + 2 * 0.4^2)
    y = -1.6 + 0.3 * x[:, 0] + 0.4 * rng.standard_normal(rows)
    return x, y


def test_the_fit_minimises_qlike_and_forecasts_the_mean_of_variance():
    x, y = data()
    model = clone(QlikeRegression()).fit(x, y)
    variance = np.exp(2 * model.predict(x))
    # first-order condition of the intercept: mean(s^2 / h) = 1
    assert np.mean(np.exp(2 * y) / variance) == pytest.approx(1.0, abs=1e-8)
    assert model.coef_ == pytest.approx([0.3, 0.0], abs=0.03)
    assert model.intercept_ == pytest.approx(-1.6 + 0.4**2, abs=0.03)
    ols = LinearRegression().fit(x, y)
    loss = qlike_losses(np.exp(2 * y), variance).mean()
    for shift in (-0.05, 0.0, 0.05):  # OLS, and OLS moved up or down
        other = np.exp(2 * (ols.predict(x) + shift))
        assert loss < qlike_losses(np.exp(2 * y), other).mean()


def test_collinear_and_constant_inputs_still_fit():
    x, y = data(rows=500)
    x = np.column_stack([x, x[:, 0], np.ones(len(x))])
    model = QlikeRegression().fit(x, y)
    assert np.isfinite(model.predict(x)).all()


def test_too_few_rows_are_refused():
    with pytest.raises(ValueError, match="more rows than inputs"):
        QlikeRegression().fit(np.ones((3, 2)), np.ones(3))
