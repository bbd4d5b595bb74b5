"""The Streamlit dashboard, run headless by ``streamlit.testing`` on a served data root:
its widgets' defaults, and that every number it shows is the core predictors' own."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import optvol.serve.dashboard
from optvol.core.options import report as option_report
from optvol.core.options.prediction import ContractRequest
from optvol.core.volatility import report as volatility_report

DASHBOARD = Path(optvol.serve.dashboard.__file__)
# The first run of a test loads the models (and imports torch): generous on a busy machine.
TIMEOUT = 120


def default_contract(predictor) -> dict:
    """The selection the options page opens with: the last trading day, the first
    expiration of the contracts quoted the day before, a call, the middle strike."""
    days = predictor.trading_days_with_successor()
    as_of = days[-1]
    contracts = predictor.contracts_quoted_on(days[-2])
    contracts = contracts.loc[contracts["expiration"].dt.date >= as_of]
    expiration = sorted(contracts["expiration"].dt.date.unique())[0]
    strikes = sorted(
        contracts.loc[
            (contracts["expiration"].dt.date == expiration) & (contracts["option_type"] == "C"),
            "strike",
        ].unique()
    )
    return {
        "as_of": as_of,
        "expiration": expiration,
        "option_type": "C",
        "strike": float(strikes[len(strikes) // 2]),
        "underlying": predictor.spot_on(as_of),
    }


def table(at: AppTest, column: str) -> pd.DataFrame:
    """The one dataframe on the page with ``column``."""
    found = [frame.value for frame in at.dataframe if column in frame.value.columns]
    assert len(found) == 1, [list(frame.value.columns) for frame in at.dataframe]
    return found[0]


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def run(at_or_widget) -> AppTest:
    """Run the app (of a widget just set): it must raise nothing."""
    at = at_or_widget.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def dashboard(monkeypatch: pytest.MonkeyPatch):
    """``dashboard(root)``: an AppTest of the dashboard over ``root``, run once, with no
    model cached from another test."""
    monkeypatch.setattr(sys, "argv", [str(DASHBOARD)])  # no --data-dir from pytest's own
    st.cache_resource.clear()

    def start(root: Path) -> AppTest:
        monkeypatch.setenv("OPTVOL_DATA_DIR", str(root))
        return run(AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT))

    yield start
    st.cache_resource.clear()


def assert_shows_prediction(at: AppTest, served_models, request: ContractRequest) -> None:
    """The Predict output of ``at`` is the predictor's price of ``request``."""
    expected = served_models.options.predict([request])[0]
    shown = metrics(at)
    assert shown["GRU price"] == f"${expected.gru:,.4f}"
    assert shown["GRU delta"] == f"{expected.delta:+.4f}"
    assert expected.realized_mid is not None
    assert shown["Realized mid"] == f"${expected.realized_mid:,.4f}"
    assert shown["Model version"] == served_models.status["options"].version
    prices = table(at, "price ($)").set_index("model")
    assert list(prices.index) == ["gru", *expected.baselines]
    assert prices.at["gru", "price ($)"] == pytest.approx(expected.gru, rel=1e-12)
    for name, price in expected.baselines.items():
        assert prices.at[name, "price ($)"] == pytest.approx(price, rel=1e-12), name
    errors = prices["error vs realized ($)"] + expected.realized_mid
    assert errors.to_numpy() == pytest.approx(prices["price ($)"].to_numpy(), abs=1e-9)
    captions = [caption for image in at.image for caption in image.captions]
    assert "The contract's mid and every model's price of it" in captions


def test_options_page_predicts_the_default_contract_as_the_predictor(
    dashboard, served_root, served_models
):
    at = dashboard(served_root)
    assert at.sidebar.radio(key="model").value == "options"
    assert at.sidebar.radio(key="model").options == ["SPY options (GRU)", "S&P 500 volatility"]
    default = default_contract(served_models.options)
    assert at.selectbox(key="as_of").value == served_models.options.last_date == default["as_of"]
    assert at.selectbox(key="expiration").value == default["expiration"]
    assert at.radio(key="option_type").value == "C"
    assert float(at.selectbox(key="strike").value) == default["strike"]
    assert at.number_input(key="underlying").value == pytest.approx(default["underlying"])
    assert "GRU price" not in metrics(at)  # nothing predicted before Predict

    run(at.button(key="predict").click())
    request = ContractRequest(**default)
    assert_shows_prediction(at, served_models, request)

    # Another day, a put at another strike and another underlying price: another price,
    # still the predictor's.
    days = served_models.options.trading_days_with_successor()
    run(at.selectbox(key="as_of").set_value(days[-3]))
    run(at.radio(key="option_type").set_value("P"))
    strikes = at.selectbox(key="strike").options
    assert len(strikes) > 1
    run(at.selectbox(key="strike").set_value(at.selectbox(key="strike").options[0]))
    spot = served_models.options.spot_on(days[-3])
    assert at.number_input(key="underlying").value == pytest.approx(spot)
    run(at.number_input(key="underlying").set_value(round(spot * 1.01, 2)))
    run(at.button(key="predict").click())
    other = ContractRequest(
        at.selectbox(key="expiration").value,
        float(at.selectbox(key="strike").value),
        "P",
        days[-3],
        round(spot * 1.01, 2),
    )
    assert other.strike != default["strike"]
    assert_shows_prediction(at, served_models, other)
    assert metrics(at)["GRU price"] != f"${served_models.options.predict([request])[0].gru:,.4f}"


def test_options_evaluation_section_shows_the_metrics_and_the_figures(
    dashboard, served_root, served_models
):
    at = dashboard(served_root)
    evaluation = served_models.evaluations["options"]
    results = table(at, "RMSE $")
    assert list(results["model"]) == evaluation.models
    gru = results.set_index("model").at["gru", "RMSE $"]
    assert float(gru) == pytest.approx(evaluation.overall["gru"].rmse, abs=5e-5)
    figures = option_report.build_option_report(evaluation, served_models.plots_dir).figures()
    expected = [figure.caption for figure in figures if figure.path.exists()]
    assert len(expected) >= 4
    assert [caption for image in at.image for caption in image.captions] == expected
    assert [header.value for header in at.header] == ["Evaluation"]


def test_volatility_page_forecasts_at_a_date_and_from_features(
    dashboard, served_root, served_models
):
    predictor = served_models.volatility
    at = dashboard(served_root)
    run(at.sidebar.radio(key="model").set_value("volatility"))
    assert at.radio(key="volatility_mode").value == "a date of the data"
    assert at.date_input(key="volatility_date").value == predictor.last_date

    # A date whose next 21 trading days are in the data, inside the walk-forward.
    day = pd.Timestamp(predictor.dates[-60]).date()
    run(at.date_input(key="volatility_date").set_value(day))
    run(at.button(key="forecast").click())
    expected = predictor.at_date(day)
    assert expected.volatility is not None and expected.realized["volatility"] is not None
    shown = metrics(at)
    assert shown[f"{predictor.chosen} volatility"] == f"{expected.volatility:.2%}"
    assert shown["Realized volatility"] == f"{expected.realized['volatility']:.2%}"
    assert shown["Model version"] == served_models.status["volatility"].version
    forecasts = table(at, "volatility").set_index("model")["volatility"]
    assert forecasts[predictor.chosen] == pytest.approx(expected.volatility, rel=1e-12)
    for name in ("har", "vix", "no_change", "garch"):
        assert forecasts[name] == pytest.approx(expected.baselines[name], rel=1e-12), name
    assert f"{expected.log_return:+.4f}" in " ".join(md.value for md in at.markdown)

    # Feature values: filled in from the date, and again from a new date; vix_close
    # doubled changes the forecast.
    run(at.radio(key="volatility_mode").set_value("feature values"))
    for name, value in predictor.features_on(day).items():
        assert at.number_input(key=f"feature_{name}").value == pytest.approx(value), name
    other_day = pd.Timestamp(predictor.dates[-80]).date()
    run(at.date_input(key="volatility_date").set_value(other_day))
    features = predictor.features_on(other_day)
    assert all(value is not None for value in features.values())
    assert features != predictor.features_on(day)
    for name, value in features.items():
        assert at.number_input(key=f"feature_{name}").value == pytest.approx(value), name
    run(at.number_input(key="feature_vix_close").set_value(2 * features["vix_close"]))
    run(at.button(key="forecast").click())
    changed = predictor.from_features({**features, "vix_close": 2 * features["vix_close"]})
    unchanged = predictor.from_features(features)
    assert changed.volatility != pytest.approx(unchanged.volatility, rel=1e-3)
    shown = metrics(at)
    assert shown[f"{predictor.chosen} volatility"] == f"{changed.volatility:.2%}"
    assert shown["Realized volatility"] == "not known"
    forecasts = table(at, "volatility").set_index("model")["volatility"]
    assert forecasts[predictor.chosen] == pytest.approx(changed.volatility, rel=1e-9)
    assert forecasts["vix"] == pytest.approx(changed.baselines["vix"], rel=1e-9)
    assert pd.isna(forecasts["garch"])  # GARCH cannot forecast from features

    # The volatility evaluation: one row per model of the evaluation, every figure.
    evaluation = served_models.evaluations["volatility"]
    results = table(at, "QLIKE")
    assert list(results["model"]) == evaluation.volatility["all_models"].models
    report = volatility_report.build_volatility_report(evaluation, served_models.plots_dir)
    expected_captions = [figure.caption for figure in report.figures() if figure.path.exists()]
    assert len(expected_captions) >= 3
    assert [caption for image in at.image for caption in image.captions] == expected_captions


def test_a_data_root_without_models_names_the_assets_to_materialize(dashboard, tmp_path):
    at = dashboard(tmp_path)
    errors = [error.value for error in at.error]
    assert "No model can be served from this data root." in errors
    sidebar = " ".join(error.value for error in at.sidebar.error)
    for asset in ("gru_model", "volatility_model"):
        assert asset in sidebar
    assert "materialize" in sidebar
    assert not at.button  # nothing to predict with


def test_a_data_root_with_only_the_volatility_model_serves_it(dashboard, served_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(served_root, root)
    for path in (root / "models").glob("gru_model.*"):
        path.unlink()
    at = dashboard(root)
    assert at.sidebar.radio(key="model").options == ["S&P 500 volatility"]
    assert at.sidebar.radio(key="model").value == "volatility"
    sidebar = " ".join(error.value for error in at.sidebar.error)
    assert "gru_model" in sidebar and "materialize" in sidebar
    assert [button.key for button in at.button] == ["forecast"]
