"""Losses and scores of volatility and return forecasts, against values worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from optvol.core.volatility.metrics import (
    diebold_mariano,
    hit_rate,
    qlike_losses,
    r_squared,
    return_scores,
    volatility_scores,
)


def test_qlike_is_zero_at_a_perfect_forecast_and_punishes_under_prediction_more():
    assert qlike_losses(np.array([0.04]), np.array([0.04]))[0] == pytest.approx(0.0)
    under = qlike_losses(np.array([0.04]), np.array([0.02]))[0]
    over = qlike_losses(np.array([0.04]), np.array([0.08]))[0]
    assert under == pytest.approx(2 - np.log(2) - 1)
    assert over == pytest.approx(0.5 - np.log(0.5) - 1)
    assert under > over > 0


def test_r_squared_against_the_sample_mean_and_a_benchmark():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert r_squared(y, y) == 1.0
    assert r_squared(y, np.full(4, 2.5)) == pytest.approx(0.0)
    benchmark = np.array([2.0, 2.0, 2.0, 2.0])
    forecast = np.array([1.5, 2.0, 2.5, 3.0])
    expected = 1 - (0.25 + 0 + 0.25 + 1) / (1 + 0 + 1 + 4)
    assert r_squared(y, forecast, benchmark) == pytest.approx(expected)
    # The benchmark itself scores zero; a worse forecast scores below zero.
    assert r_squared(y, benchmark, benchmark) == 0.0
    assert r_squared(y, -y, benchmark) < 0


def test_hit_rate_counts_sign_agreement():
    assert hit_rate(np.array([0.1, -0.2, 0.3, -0.1]), np.array([0.2, 0.1, 0.1, -0.3])) == 0.75


def test_diebold_mariano_sees_a_clearly_better_forecast_and_not_a_tie():
    rng = np.random.default_rng(0)
    base = rng.exponential(1.0, 2000)
    better = diebold_mariano(base * 0.5, base, lags=20)
    assert better["statistic"] < -3 and better["p_value"] < 0.01
    tie = diebold_mariano(base, base + rng.normal(0, 0.01, 2000), lags=20)
    assert tie["p_value"] > 0.01
    same = diebold_mariano(base, base, lags=20)
    assert np.isnan(same["statistic"])


def test_diebold_mariano_long_run_variance_widens_with_autocorrelated_differences():
    rng = np.random.default_rng(1)
    noise = rng.normal(0.05, 1.0, 3000)
    overlapping = np.convolve(noise, np.ones(21) / 21, mode="valid")
    iid = diebold_mariano(overlapping, np.zeros_like(overlapping), lags=0)
    hac = diebold_mariano(overlapping, np.zeros_like(overlapping), lags=20)
    assert abs(hac["statistic"]) < abs(iid["statistic"]) / 2


def test_volatility_scores():
    realized = np.array([0.1, 0.2, 0.3])
    forecast = np.array([0.1, 0.2, 0.3])
    scores = volatility_scores(realized, forecast, forecast**2)
    assert scores["rows"] == 3 and scores["qlike"] == pytest.approx(0.0)
    assert scores["rmse_vol"] == 0.0 and scores["r2_log_rv"] == 1.0
    off = volatility_scores(realized, forecast * 2, (forecast * 2) ** 2)
    assert off["rmse_vol"] == pytest.approx(np.sqrt(np.mean(realized**2)))
    assert off["qlike"] == pytest.approx(0.25 - np.log(0.25) - 1)
    assert off["mean_forecast_vol"] == pytest.approx(0.4)


def test_return_scores():
    realized = np.array([0.02, -0.01, 0.03, 0.01])
    mean = np.full(4, 0.005)
    scores = return_scores(realized, mean, mean)
    assert scores["r2_vs_historical_mean"] == 0.0 and scores["hit_rate"] == 0.75
    assert return_scores(realized, realized, mean)["r2_vs_historical_mean"] == 1.0
