"""Tests for the implied-vol dynamics of a chain (optvol.core.options.dynamics)."""

from __future__ import annotations

import numpy as np
import pytest

from optvol.core.common.errors import OptvolInputError
from optvol.core.options.dynamics import contract_pairs, format_dynamics, iv_dynamics
from optvol.core.options.samples.leverage import (
    LEVERAGE_DTE_BUCKETS,
    LEVERAGE_MONEYNESS_BUCKETS,
    regress,
)
from optvol_tests.builders import option_quotes_frame

STRIKES = tuple(float(k) for k in range(80, 125, 5))


def test_regress_recovers_a_line_and_reports_the_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 0.01, 5000)
    y = 0.001 - 1.2 * x + rng.normal(0.0, 0.01, 5000)
    fit = regress(x, np.append(y[:-1], np.nan))  # a NaN pair is left out
    assert fit.n == 4999
    assert fit.slope == pytest.approx(-1.2, abs=0.05)
    assert fit.intercept == pytest.approx(0.001, abs=0.0005)
    assert fit.residual_sd == pytest.approx(0.01, rel=0.05)
    assert fit.r2 == pytest.approx(1.44 / 2.44, abs=0.03)


@pytest.mark.parametrize("x", [np.array([0.01, 0.02]), np.zeros(10)])
def test_regress_without_enough_spread_is_nan(x):
    fit = regress(x, np.ones(len(x)))
    assert np.isnan(fit.slope) and np.isnan(fit.r2)


def test_pairs_are_consecutive_days_of_one_contract():
    quotes = option_quotes_frame(n_days=10, strikes=(100.0,), expiries=("2020-06-19",))
    # The put is unusable on the 5th day: its pairs into and out of that day go.
    day5 = quotes["quote_date"] == quotes["quote_date"].unique()[4]
    quotes.loc[day5 & (quotes["option_type"] == "P"), "usable"] = False
    pairs = contract_pairs(quotes)
    assert len(pairs) == 9 + 7
    call = pairs[pairs["is_call"]]
    spot = quotes.groupby("quote_date")["underlying_last"].median().to_numpy()
    np.testing.assert_allclose(call["underlying_return"], np.diff(np.log(spot)))
    # Vols solved from the mids at the rate and yield the chain was priced at.
    truth = quotes[quotes["option_type"] == "C"]["iv"].to_numpy()
    np.testing.assert_allclose(call["iv_change"], np.diff(truth), atol=1e-6)


def test_the_fixed_strike_slope_of_a_chain_whose_vols_follow_spot():
    # iv = level + 0.20 - 0.15 ln(K/S): a fixed strike moves by (atm_beta + 0.15) r.
    quotes = option_quotes_frame(n_days=120, strikes=STRIKES, atm_beta=-1.15, seed=3)
    dynamics = iv_dynamics(quotes)
    assert dynamics.near_money.slope == pytest.approx(-1.0, abs=0.1)
    assert 0.5 < dynamics.near_money.r2 <= 1.0
    # The smoothed surface at fixed moneyness moves by atm_beta.
    assert dynamics.fixed_moneyness["+0.00"].slope == pytest.approx(-1.15, abs=0.1)
    table = dynamics.buckets
    assert list(table.columns[:2]) == ["moneyness", "dte"]
    assert len(table) == len(LEVERAGE_MONEYNESS_BUCKETS) * len(LEVERAGE_DTE_BUCKETS)
    assert table["n"].sum() == int(np.isfinite(contract_pairs(quotes)["iv_change"]).sum())
    text = format_dynamics(dynamics)
    assert "near money" in text and "-1.0" in text
    assert dynamics.to_dict()["near_money"]["n"] == dynamics.near_money.n


def test_a_sticky_moneyness_chain_has_a_positive_fixed_strike_slope():
    dynamics = iv_dynamics(option_quotes_frame(n_days=120, strikes=STRIKES, seed=3))
    assert dynamics.near_money.slope == pytest.approx(0.15, abs=0.1)


def test_bad_tables_are_refused():
    quotes = option_quotes_frame(n_days=5)
    with pytest.raises(OptvolInputError, match="lacks the columns"):
        iv_dynamics(quotes.drop(columns=["mid"]))
    quotes["usable"] = False
    with pytest.raises(OptvolInputError, match="no usable quote"):
        iv_dynamics(quotes)


def test_two_option_classes_pair_within_their_class():
    import pandas as pd

    spx = option_quotes_frame(n_days=10, strikes=(100.0,), expiries=("2020-06-19",), root="SPX")
    spxw = option_quotes_frame(n_days=10, strikes=(100.0,), expiries=("2020-06-19",), root="SPXW")
    spxw[["bid", "mid", "ask"]] += 0.5  # another contract: its vol is another series
    both = pd.concat([spx, spxw], ignore_index=True)
    alone = contract_pairs(spx)
    pairs = contract_pairs(both)
    assert len(pairs) == 2 * len(alone) == 2 * 2 * 9
    # A pair never joins an SPX quote to an SPXW one: the vol changes are small.
    assert pairs["iv_change"].abs().max() < 0.05
