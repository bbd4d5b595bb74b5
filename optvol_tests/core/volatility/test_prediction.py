"""Forecasts at a date are read from the table computed when the predictor is built:
each is the one-row forecast of that date's features."""

from __future__ import annotations

import numpy as np
import pytest

from optvol.core.volatility.baselines import historical_mean_return
from optvol.core.volatility.prediction import VolatilityPredictor


@pytest.fixture(scope="module")
def predictor(trained, features) -> VolatilityPredictor:
    return VolatilityPredictor(trained, features)


@pytest.mark.parametrize("index", [130, 399, 400, 550, -1])
def test_a_date_gets_the_forecast_of_its_own_row(predictor, trained, features, index):
    position = index % len(features)
    day = features["date"].iloc[position].date()
    row = features.iloc[[position]]
    mean = historical_mean_return(features).to_numpy()[position]
    want = trained.predict(row, mean).iloc[0]
    got = predictor.at_date(day)
    assert got.as_of == day
    for name, value in (("volatility", want["vol"]), ("variance", want["var"]),
                        ("log_return", want["return"])):  # fmt: skip
        if np.isnan(value):
            assert getattr(got, name) is None
        else:
            assert getattr(got, name) == pytest.approx(value, rel=1e-12)
    assert got.baselines["har"] == pytest.approx(want["har_vol"], rel=1e-12)
    vix = row["vix_close"].iloc[0]
    assert (got.baselines["vix"] is None) if np.isnan(vix) else (
        got.baselines["vix"] == pytest.approx(vix / 100))  # fmt: skip
    assert got.baselines["no_change"] == pytest.approx(row["rv_21"].iloc[0])
    realized = row["target_rv_21"].iloc[0]
    assert (got.realized["volatility"] is None) if np.isnan(realized) else (
        got.realized["volatility"] == pytest.approx(realized))  # fmt: skip


def test_a_dates_features_given_explicitly_forecast_as_the_date(predictor, features):
    day = features["date"].iloc[500].date()
    at_date = predictor.at_date(day)
    given = predictor.from_features(predictor.features_on(day))
    assert given.as_of is None and given.baselines["garch"] is None
    assert given.volatility == pytest.approx(at_date.volatility, rel=1e-12)
    assert given.baselines["vix"] == pytest.approx(at_date.baselines["vix"])
    assert given.baselines["no_change"] == pytest.approx(at_date.baselines["no_change"])
