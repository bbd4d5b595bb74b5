"""Tests for optvol.core.volatility.episodes and timing: stress windows, yearly tests,
worst years and the return forecast's certainty-equivalent gain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optvol.core.volatility.episodes import episode_scores, worst_year_ratio, yearly_tests
from optvol.core.volatility.features import TARGET_RETURN, TARGET_RV
from optvol.core.volatility.metrics import qlike_losses
from optvol.core.volatility.timing import RISK_AVERSION, certainty_equivalent, timing_value


def crisis_window() -> pd.DataFrame:
    """Business days of 2008-06..2009-06; realized vol jumps from 0.2 to 0.8 on 2008-10-01.
    ``slow`` reaches 0.4 (half the peak) ten days after the jump, ``flat`` never."""
    dates = pd.bdate_range("2008-06-02", "2009-06-30")
    realized = np.where(dates >= "2008-10-01", 0.8, 0.2)
    jump = int(np.flatnonzero(dates >= "2008-10-01")[0])
    slow = np.full(len(dates), 0.2)
    slow[jump + 10 :] = 0.5
    frame = pd.DataFrame({"date": dates, TARGET_RV: realized})
    for name, vol in (("slow", slow), ("flat", np.full(len(dates), 0.2))):
        frame[f"{name}_vol"], frame[f"{name}_var"] = vol, vol**2
    return frame


def test_an_episode_scores_its_own_dates_and_the_response_lag():
    frame = crisis_window()
    episodes = episode_scores(frame, ["slow", "flat"])
    assert set(episodes) == {"2008-09..2009-03 financial crisis"}
    crisis = episodes["2008-09..2009-03 financial crisis"]
    assert crisis["first_date"] == "2008-09-01" and crisis["last_date"] == "2009-03-31"
    inside = frame["date"].between("2008-09-01", "2009-03-31")
    assert crisis["dates"] == inside.sum() and crisis["realized_peak_vol"] == 0.8
    expected = qlike_losses(frame.loc[inside, TARGET_RV] ** 2, frame.loc[inside, "flat_var"])
    assert crisis["qlike"]["flat"] == pytest.approx(expected.mean())
    days_to_jump = int((frame.loc[inside, "date"] < "2008-10-01").sum())
    assert crisis["response_lag_days"] == {"slow": days_to_jump + 10, "flat": None}


def test_yearly_tests_and_the_worst_year():
    frame = crisis_window()
    years = frame["date"].dt.year.to_numpy()
    realized = frame[TARGET_RV].to_numpy() ** 2
    losses = {m: qlike_losses(realized, frame[f"{m}_var"].to_numpy()) for m in ("slow", "flat")}
    tests = yearly_tests(losses, years, ("flat",))
    assert set(tests["slow"]) == {"2008", "2009"} and tests["flat"]["2008"] == {}
    assert tests["slow"]["2008"]["vs_flat"]["statistic"] < 0
    by_year = {m: {str(y): float(losses[m][years == y].mean()) for y in (2008, 2009)}
               for m in losses}  # fmt: skip
    worst = worst_year_ratio(by_year, "slow", "flat")
    assert worst["year"] == "2008"
    assert worst["ratio"] == pytest.approx(by_year["slow"]["2008"] / by_year["flat"]["2008"])
    # against the better of two references, year by year: 2008 against the one, 2009
    # against the other
    by_year["other"] = {"2008": by_year["flat"]["2008"] * 2, "2009": by_year["flat"]["2009"] / 4}
    to_better = {
        year: by_year["slow"][year] / min(by_year["flat"][year], by_year["other"][year])
        for year in ("2008", "2009")
    }
    worst = worst_year_ratio(by_year, "slow", ("flat", "other"))
    assert worst == {"year": max(to_better, key=to_better.get), "ratio": max(to_better.values())}
    assert worst_year_ratio(by_year, "slow", ("flat",)) == worst_year_ratio(by_year, "slow", "flat")
    # a year where a reference has no score, or none above 0, is left out, not measured
    # against the other reference alone
    by_year["other"]["2009"] = float("nan")
    assert worst_year_ratio(by_year, "slow", ("flat", "other"))["year"] == "2008"
    del by_year["other"]["2009"]
    assert worst_year_ratio(by_year, "slow", ("flat", "other"))["year"] == "2008"


def monthly(months: int = 60, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2000-01-03", periods=months * 21)
    frame = pd.DataFrame({"date": dates, "refit_date": dates[(np.arange(len(dates)) // 21) * 21]})
    frame[TARGET_RETURN] = rng.normal(0.005, 0.045, len(dates))
    frame["oracle_return"] = frame[TARGET_RETURN]
    frame["historical_mean_return"] = 0.005
    frame["chosen_var"] = 0.16**2
    return frame


def test_a_forecast_that_knows_the_outcome_gains_and_the_gain_is_the_ce_difference():
    frame = monthly()
    value = timing_value(frame, "oracle", "historical_mean", "chosen")
    assert value["months"] == 60 and value["gains"] is True
    rows = frame.loc[frame["date"] == frame["refit_date"]]
    variance = 0.16**2 * 21 / 252
    outcome = np.expm1(rows[TARGET_RETURN].to_numpy())
    weight = np.clip(np.expm1(0.005 + variance / 2) / (RISK_AVERSION * variance), 0, 1.5)
    benchmark = certainty_equivalent(weight * outcome)
    assert value["portfolios"]["historical_mean"]["certainty_equivalent"] == pytest.approx(
        benchmark
    )
    assert value["certainty_equivalent_gain"] == pytest.approx(
        value["portfolios"]["oracle"]["certainty_equivalent"] - benchmark
    )


def test_a_forecast_that_is_wrong_is_reported_as_a_loss():
    frame = monthly()
    frame["contrarian_return"] = -frame[TARGET_RETURN]
    value = timing_value(frame, "contrarian", "historical_mean", "chosen")
    assert value["gains"] is False and value["certainty_equivalent_gain"] < 0
    assert timing_value(frame.iloc[:100], "contrarian", "historical_mean", "chosen") is None
