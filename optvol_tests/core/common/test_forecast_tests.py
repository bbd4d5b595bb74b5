"""Tests for optvol.core.common.forecast_tests: Diebold-Mariano and the day-block
bootstrap interval of an RMSE ratio."""

from __future__ import annotations

import numpy as np
import pytest

from optvol.core.common.forecast_tests import (
    block_bootstrap_rmse_ratio,
    diebold_mariano,
    newey_west_lags,
)


def daily(n: int = 120, seed: int = 0, scale: float = 0.8) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    rows = rng.integers(5, 50, n).astype(float)
    sse_b = rng.gamma(2.0, 1.0, n) * rows
    sse_a = sse_b * scale**2 * rng.lognormal(0, 0.1, n)
    return sse_a, sse_b, rows


def test_the_interval_holds_the_ratio_and_narrows_with_more_days():
    sse_a, sse_b, rows = daily(120)
    ratio = np.sqrt(sse_a.sum() / sse_b.sum())
    low, high = block_bootstrap_rmse_ratio(sse_a, sse_b, rows)
    assert low < ratio < high < 1.0
    long = block_bootstrap_rmse_ratio(*daily(1200))
    assert long[1] - long[0] < high - low


def test_the_interval_is_seeded_and_has_the_asked_coverage():
    sse_a, sse_b, rows = daily(60, seed=3)
    assert block_bootstrap_rmse_ratio(sse_a, sse_b, rows) == block_bootstrap_rmse_ratio(
        sse_a, sse_b, rows
    )
    ninety = block_bootstrap_rmse_ratio(sse_a, sse_b, rows, level=0.90)
    fifty = block_bootstrap_rmse_ratio(sse_a, sse_b, rows, level=0.50)
    assert ninety[0] < fifty[0] < fifty[1] < ninety[1]


def test_blocks_keep_neighbouring_days_together():
    # Alternating regimes of 10 days: blocks of 10 see whole regimes, single days do not,
    # so the interval of blocks is wider when the regimes differ.
    n = 200
    regime = (np.arange(n) // 10) % 2 == 0
    sse_b = np.ones(n)
    sse_a = np.where(regime, 0.25, 1.5)
    rows = np.ones(n)
    wide = block_bootstrap_rmse_ratio(sse_a, sse_b, rows, block=10)
    narrow = block_bootstrap_rmse_ratio(sse_a, sse_b, rows, block=1)
    assert wide[1] - wide[0] > narrow[1] - narrow[0]


def test_too_few_days_give_no_interval():
    assert block_bootstrap_rmse_ratio(np.ones(1), np.ones(1), np.ones(1)) is None
    assert block_bootstrap_rmse_ratio(np.ones(3), np.ones(2), np.ones(3)) is None


def test_diebold_mariano_of_equal_and_of_clearly_different_losses():
    rng = np.random.default_rng(1)
    base = rng.gamma(2.0, 1.0, 300)
    assert np.isnan(diebold_mariano(base, base, 4)["p_value"])
    better = diebold_mariano(base * 0.5, base, 4)
    assert better["statistic"] < 0 and better["p_value"] < 1e-6
    assert np.isnan(diebold_mariano(base[:1], base[:1], 4)["p_value"])


@pytest.mark.parametrize(("n", "lags"), [(1, 1), (37, 3), (100, 4), (735, 6)])
def test_newey_west_lag_rule(n, lags):
    assert newey_west_lags(n) == lags
