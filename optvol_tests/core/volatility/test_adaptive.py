"""Tests for optvol.core.volatility.adaptive: weights and choices from past losses only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optvol.core.volatility.adaptive import (
    AdaptiveConfig,
    adapt,
    combine_available,
    discounted_losses,
)
from optvol.core.volatility.features import HORIZON, TARGET_RV

CONFIG = AdaptiveConfig(
    half_life_days=60, min_history_days=40, choice_window_days=120, choice_p_value=0.10
)
MEMBERS = ["good", "biased", "vix"]


def forecasts_of(days: int = 600, seed: int = 0) -> pd.DataFrame:
    """Three members: one tracks the true variance, two (one named VIX) sit at a quarter
    and a third of it; months of 21 days share a refit date."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2010-01-04", periods=days)
    truth = 0.04 * np.exp(np.cumsum(rng.normal(0, 0.05, days)))
    realized = np.sqrt(truth * np.exp(rng.normal(0, 0.3, days)))
    frame = pd.DataFrame({"date": dates, "refit_date": dates[(np.arange(days) // 21) * 21],
                          TARGET_RV: realized})  # fmt: skip
    for name, scale in (("good", 1.0), ("biased", 0.25), ("vix", 0.35)):
        frame[f"{name}_var"] = truth * scale
        frame[f"{name}_vol"] = np.sqrt(truth * scale)
    return frame


def test_the_prior_holds_until_members_have_history_then_losses_set_the_weights():
    frame = forecasts_of()
    known = frame["date"].iloc[21]
    adaptation = adapt(frame, MEMBERS, "biased", {"biased": 1.0}, CONFIG, prior_known_from=known)
    first = adaptation.decisions[0]
    # before its validation targets were realized, the prior is not used: equal weights
    assert first.chosen == "combination" and set(first.weights.values()) == {0.3333}
    first = adaptation.decisions[1]
    assert first.chosen == "biased" and first.weights == {"good": 0.0, "biased": 1.0, "vix": 0.0}
    np.testing.assert_allclose(adaptation.adaptive["var"][21:42], frame["biased_var"][21:42])
    late = adaptation.decisions[-1]
    assert late.history_days >= CONFIG.min_history_days
    assert late.weights["good"] > late.weights["vix"] > late.weights["biased"] > 0
    assert sum(late.weights.values()) == pytest.approx(1.0, abs=1e-3)
    # the member that tracks the truth is significantly better than the biased mix
    assert late.chosen == "good" and late.p_value < CONFIG.choice_p_value


def test_decisions_at_a_refit_depend_on_nothing_after_it():
    frame = forecasts_of()
    original = adapt(frame, MEMBERS, "good", {}, CONFIG)
    refit = 15 * 21  # the 16th refit day
    changed = frame.copy()
    # every target not realized by the refit day, and every later forecast, rewritten
    changed.loc[refit - HORIZON + 1 :, TARGET_RV] *= 3.0
    changed.loc[refit:, ["good_var", "biased_var"]] *= 0.1
    again = adapt(changed, MEMBERS, "good", {}, CONFIG)
    for before, after in zip(original.decisions[:16], again.decisions[:16], strict=True):
        assert before == after
    assert original.decisions[20] != again.decisions[20]


def test_the_combination_rescales_weights_over_the_members_present():
    values = np.array([[1.0, 3.0, np.nan], [np.nan, np.nan, np.nan], [2.0, np.nan, 4.0]])
    weights = np.array([0.5, 0.25, 0.25])
    combined = combine_available(values, weights)
    assert combined[0] == pytest.approx((0.5 * 1 + 0.25 * 3) / 0.75)
    assert np.isnan(combined[1])
    assert combined[2] == pytest.approx((0.5 * 2 + 0.25 * 4) / 0.75)


def test_discounting_weighs_recent_losses_more():
    losses = np.column_stack([np.r_[np.ones(100), np.zeros(100)], np.full(200, 0.5)])
    config = AdaptiveConfig(half_life_days=20, min_history_days=10)
    recent, flat = discounted_losses(losses, 200, config)
    assert recent < 0.05 and flat == pytest.approx(0.5)
    assert np.isnan(discounted_losses(losses, 5, config)).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"half_life_days": 0}, "half_life_days"), ({"choice_p_value": 1.5}, "choice_p_value")],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AdaptiveConfig(**kwargs)
