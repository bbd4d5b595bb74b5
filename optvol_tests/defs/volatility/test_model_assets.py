"""volatility_model and volatility_evaluation through Dagster, with the real IO managers,
files and checks, on a synthetic market history with persistent volatility."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from optvol.core.common.paths import ARTIFACT_PATHS, MARKET_INPUT_FILE, PLOTS_DIR, REPORT_PATHS
from optvol.core.volatility.artifact import VolatilityModel, data_fingerprint
from optvol.core.volatility.baselines import historical_mean_return
from optvol.core.volatility.evaluation import PLOT_FILES
from optvol.core.volatility.models import design_matrix
from optvol.core.volatility.report import SECTION_TITLES
from optvol.core.volatility.validation import check_expected_nulls, check_no_look_ahead
from optvol.definitions import resources_for
from optvol.defs.volatility.assets import (
    market_features,
    raw_market,
    volatility_evaluation,
    volatility_model,
    volatility_report,
)
from optvol_tests.builders import volatile_market_frame, write_market

ASSETS = [raw_market, market_features, volatility_model, volatility_evaluation, volatility_report]
NAMES = {a.key.path[-1] for a in ASSETS}
SMALL = {"min_train_rows": 126, "validation_folds": 3}
MODEL_STEM = Path(ARTIFACT_PATHS["volatility_model"]).with_suffix("")
EVALUATION = ARTIFACT_PATHS["volatility_evaluation"]
VIX_BASED = {"ridge", "gbm", "vix", "har_x", "harq"}


def run_config(selection: list[str] | None, model: dict | None = None) -> dict:
    """The small model config, where volatility_model is materialized (Dagster refuses
    config for an op that does not run)."""
    if selection is not None and "volatility_model" not in selection:
        return {}
    return {"ops": {"volatility_model": {"config": {**SMALL, **(model or {})}}}}


def materialize(
    root: Path, selection: list[str] | None = None, model: dict | None = None
) -> dg.ExecuteInProcessResult:
    """The volatility assets (``selection`` of them; the rest load from their files)."""
    return dg.materialize(
        ASSETS,
        selection=selection,
        resources=resources_for(str(root)),
        run_config=run_config(selection, model),
        raise_on_error=False,
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    failures = result.get_step_failure_events()
    assert failures, "the run was expected to fail"
    return "\n".join(str(e.step_failure_data.error) for e in failures)


def copy_root(source: Path, tmp_path: Path) -> Path:
    """A private copy of the shared data root, for tests that change files."""
    return Path(shutil.copytree(source, tmp_path / "data"))


@pytest.fixture(scope="module")
def group(tmp_path_factory) -> tuple[Path, dg.ExecuteInProcessResult]:
    """The whole volatility group and its checks, materialized once for the module."""
    root = tmp_path_factory.mktemp("volatility") / "data"
    write_market(root / MARKET_INPUT_FILE, volatile_market_frame(n_days=900, vix_from=300, seed=7))
    result = materialize(root)
    return root, result


@pytest.fixture(scope="module")
def root(group) -> Path:
    return group[0]


@pytest.fixture(scope="module")
def result(group) -> dg.ExecuteInProcessResult:
    return group[1]


@pytest.fixture(scope="module")
def evaluation(root) -> dict:
    return json.loads((root / EVALUATION).read_text())


@pytest.fixture(scope="module")
def card(root) -> dict:
    return json.loads((root / MODEL_STEM).with_suffix(".json").read_text())


@pytest.fixture(scope="module")
def features(root) -> pd.DataFrame:
    return pd.read_parquet(root / ARTIFACT_PATHS["market_features"])


# --- the run and its files ----------------------------------------------------------------


def test_run_succeeds_and_writes_every_artifact(result, root):
    assert result.success
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == NAMES
    assert (root / MODEL_STEM).with_suffix(".joblib").stat().st_size > 0
    assert (root / EVALUATION).stat().st_size > 0
    for file in PLOT_FILES.values():
        assert (root / PLOTS_DIR / file).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (root / PLOTS_DIR).glob("volatility_*.png")) == sorted(
        PLOT_FILES.values()
    )


def test_model_card_records_choice_selection_data_and_file(root, card, features):
    candidates = {"ridge", "gbm", "har_x", "harq", "combination"}
    # served: the walk-forward's choice after its last refit, a member or the combination
    members = set(card["specs"]) - {"return_ridge"} | {"vix", "combination"}
    assert card["chosen_volatility_model"] in members
    assert card["chosen_volatility_model"] == card["adaptive"]["latest"]["chosen"]
    weights = card["combination"]["weights"]
    assert "vix" in weights and sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
    assert {"ridge", "gbm", "return_ridge", "har", "har_x", "harq"} <= set(card["hyperparameters"])
    assert card["hyperparameters"]["har"] == card["hyperparameters"]["har_x"] == "ols"
    for name in ("ridge", "gbm", "return_ridge"):
        selection = card["selection"][name]
        assert selection["chosen"] == card["hyperparameters"][name]
        assert selection["chosen"] in selection["validation_mse"]
        assert len(selection["folds"]) == SMALL["validation_folds"]
        assert all(np.isfinite(v) and v >= 0 for v in selection["validation_mse"].values())
    # The chosen model is the simplest not significantly worse than the lowest QLIKE.
    qlike = card["candidates"]["validation_qlike"]
    assert set(qlike) == candidates
    assert card["candidates"]["lowest_validation_qlike"] == min(qlike, key=qlike.get)
    assert card["candidates"]["chosen"] in candidates
    assert card["return_restriction"]["shrinkage"] in (0.0, 0.1, 0.25, 0.5, 1.0)
    assert card["selection_config"] == SMALL
    assert {"rv_1", "rv_5", "rv_21", "vix_close", "vrp"} <= set(card["feature_columns"])
    assert not any(c.startswith("target_") for c in card["feature_columns"])
    assert card["data_fingerprint"] == data_fingerprint(features)
    assert card["data"]["rows"] == len(features) == 900

    joblib_file = (root / MODEL_STEM).with_suffix(".joblib")
    payload = joblib_file.read_bytes()
    assert card["file"]["path"] == "volatility_model.joblib"
    assert card["file"]["bytes"] == len(payload)
    assert card["file"]["sha256"] == hashlib.sha256(payload).hexdigest()


# --- metadata -----------------------------------------------------------------------------


def _metadata(result) -> dict[str, dict]:
    return {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }


def test_model_metadata_shows_choice_and_hyperparameters(result, card):
    model = _metadata(result)["volatility_model"]
    assert model["chosen_volatility_model"].value == card["chosen_volatility_model"]
    assert model["hyperparameters"].value == card["hyperparameters"]
    assert set(model["validation_mse"].value) == set(card["selection"])
    assert model["data_fingerprint"].value == card["data_fingerprint"]
    assert model["joblib_path"].path.endswith("volatility_model.joblib")
    assert model["joblib_bytes"].value == card["file"]["bytes"]
    assert model["json_path"].path.endswith("volatility_model.json")


def test_evaluation_metadata_shows_scores_ratio_and_inline_plots(result, evaluation):
    metadata = _metadata(result)["volatility_evaluation"]
    for name in ("all_models", "without_vix", "returns"):
        table = metadata[f"scores_{name}"].md_str
        assert table.startswith("| model")
        assert "qlike" in table or "hit_rate" in table
    assert "| har" in metadata["scores_all_models"].md_str
    assert "| historical_mean" in metadata["scores_returns"].md_str
    ratio = metadata["qlike_ratio_to_har"].value
    assert ratio == pytest.approx(evaluation["comparison"]["qlike_ratio_to_har"])
    assert metadata["chosen_model"].value == evaluation["chosen_model"]
    for name, file in PLOT_FILES.items():
        image = metadata[f"plot_{name}"].md_str
        assert image.startswith(f"![{Path(file).stem}](data:image/png;base64,")
        assert metadata[f"plot_{name}_path"].path.endswith(file)


def test_evaluation_metadata_has_rows_and_schema_of_its_scores(result, evaluation):
    metadata = _metadata(result)["volatility_evaluation"]
    window = evaluation["volatility"]["all_models"]
    assert metadata["dagster/row_count"].value == window["dates"]
    columns = [c.name for c in metadata["dagster/column_schema"].schema.columns]
    assert columns[0] == "model" and {"qlike", "r2_log_rv", "rows"} <= set(columns)


def test_report_files_and_metadata(result, root, evaluation):
    markdown, pdf = (root / p for p in REPORT_PATHS["volatility_report"])
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = markdown.read_text()
    assert all(f"## {title}" in text for title in SECTION_TITLES)
    metadata = _metadata(result)["volatility_report"]
    assert metadata["pdf_path"].path == str(pdf) and metadata["markdown_path"].path == str(markdown)
    assert metadata["pdf_pages"].value >= 4
    assert metadata["sections"].value == list(SECTION_TITLES)
    excerpt = metadata["report"].md_str
    assert "## Summary" in excerpt and f"{evaluation['comparison']['qlike']:.4f}" in excerpt


def test_report_logs_its_paths_and_is_the_same_for_the_same_evaluation(root, tmp_path):
    copy = copy_root(root, tmp_path)
    markdown, pdf = (copy / p for p in REPORT_PATHS["volatility_report"])
    before = markdown.read_bytes(), pdf.read_bytes()
    instance = dg.DagsterInstance.ephemeral()
    again = dg.materialize(
        ASSETS, selection=["volatility_report"], resources=resources_for(str(copy)),
        instance=instance,
    )  # fmt: skip
    messages = [e.user_message for e in instance.all_logs(again.run_id)]
    assert any(str(markdown) in m and str(pdf) in m for m in messages)
    assert any("volatility_qlike_by_year.png" in m for m in messages)
    assert (markdown.read_bytes(), pdf.read_bytes()) == before


# --- the evaluation document ----------------------------------------------------------------


def test_windows_score_every_model_on_the_same_rows(evaluation):
    windows = evaluation["volatility"]
    assert set(windows) == {"all_models", "without_vix"}
    for name, window in windows.items():
        rows = {model: scores["rows"] for model, scores in window["scores"].items()}
        assert set(rows) == set(window["models"]), name
        assert set(rows.values()) == {window["dates"]}, name
        assert window["dates"] > 100
    assert {"ridge", "gbm", "har", "har_x", "harq", "combination", "garch", "vix",
            "no_change"} <= set(windows["all_models"]["models"])  # fmt: skip
    without = windows["without_vix"]["models"]
    assert {"har", "garch", "no_change"} <= set(without)
    assert not [m for m in without if evaluation["models"][m]["needs_vix"]]
    assert not VIX_BASED & set(without)
    assert all(evaluation["models"][m]["needs_vix"] for m in VIX_BASED)
    # VIX starts at row 300, so the window without it starts earlier and is longer.
    assert windows["without_vix"]["first_date"] < windows["all_models"]["first_date"]
    assert windows["without_vix"]["dates"] > windows["all_models"]["dates"]


def test_return_scores_and_comparison_with_har(evaluation):
    returns = evaluation["returns"]
    assert set(returns["scores"]) == {"return_restricted", "return_ridge", "historical_mean"}
    rows = {scores["rows"] for scores in returns["scores"].values()}
    assert len(rows) == 1
    assert returns["scores"]["historical_mean"]["r2_vs_historical_mean"] == 0.0
    assert 0 <= returns["scores"]["return_ridge"]["hit_rate"] <= 1

    comparison = evaluation["comparison"]
    scores = evaluation["volatility"]["all_models"]["scores"]
    chosen = evaluation["chosen_model"]
    assert comparison["chosen_model"] == chosen
    assert comparison["qlike"] == scores[chosen]["qlike"]
    assert comparison["har_qlike"] == scores["har"]["qlike"]
    assert comparison["qlike_ratio_to_har"] == pytest.approx(
        comparison["qlike"] / comparison["har_qlike"], rel=1e-12
    )
    assert comparison["beats_har"] == (comparison["qlike"] < comparison["har_qlike"])


def test_evaluation_records_the_data_the_model_was_trained_on(evaluation, card, features):
    assert evaluation["data"]["fingerprint"] == card["data_fingerprint"]
    (source,) = evaluation["data"]["sources"]
    assert source["label"] == "raw_market.csv" and source["origin"] == "supplied"
    assert evaluation["data"]["cleaning"]["rows_out"] == len(features)
    assert evaluation["data"]["summary"]["rows"] == len(features)
    assert evaluation["model"]["chosen"] == card["chosen_volatility_model"]
    assert evaluation["model"]["selection"]["ridge"]["chosen"] == card["hyperparameters"]["ridge"]
    # scored: the walk-forward's choice refit by refit; served: its latest one
    assert evaluation["chosen_model"] == "adaptive"
    assert evaluation["served_model"]["name"] == card["chosen_volatility_model"]
    assert evaluation["adaptive"]["latest"]["chosen"] == card["chosen_volatility_model"]
    assert len(evaluation["adaptive"]["refits"]) == evaluation["walk_forward"]["refits"]
    assert evaluation["walk_forward"]["refits"] >= 30  # monthly over ~3 years


def test_evaluation_carries_yearly_tests_worst_years_episodes_and_timing(evaluation):
    comparison, window = evaluation["comparison"], evaluation["volatility"]["all_models"]
    by_year = window["qlike_by_year"]
    for baseline in ("har", "vix"):
        year = comparison["worst_years"][f"worst_year_ratio_to_{baseline}"]
        ratios = [by_year["adaptive"][y] / by_year[baseline][y] for y in by_year["adaptive"]]
        assert comparison[f"worst_year_ratio_to_{baseline}"] == pytest.approx(max(ratios))
        assert by_year["adaptive"][year] / by_year[baseline][year] == pytest.approx(max(ratios))
    tests = window["diebold_mariano_by_year"]["adaptive"]
    assert set(tests) <= set(by_year["adaptive"]) and tests
    assert all({"vs_har", "vs_vix"} == set(t) for t in tests.values())
    for name, episode in evaluation["episodes"].items():
        assert episode["window"] in evaluation["volatility"], name
        assert set(episode["qlike"]) == set(evaluation["volatility"][episode["window"]]["models"])
    timing = evaluation["return_timing"]
    assert timing["risk_aversion"] == 3.0 and timing["months"] >= 12
    gain = timing["certainty_equivalent_gain"]
    portfolios = timing["portfolios"]
    assert gain == pytest.approx(
        portfolios["return_restricted"]["certainty_equivalent"]
        - portfolios["historical_mean"]["certainty_equivalent"]
    )


# --- checks -------------------------------------------------------------------------------


def test_checks_pass_and_the_har_comparison_warns(result, evaluation):
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    for name in ("no_look_ahead", "expected_nulls", "same_dates_for_every_model"):
        assert checks[name].passed is True, name
        assert checks[name].severity == dg.AssetCheckSeverity.ERROR, name
    versus_har = checks["chosen_model_vs_har"]
    assert versus_har.severity == dg.AssetCheckSeverity.WARN
    assert versus_har.passed == evaluation["comparison"]["beats_har"]
    assert versus_har.metadata["chosen_model"].value == evaluation["chosen_model"]


def test_no_look_ahead_fails_on_a_feature_from_the_future(features):
    assert check_no_look_ahead(features).passed is True
    leaking = features.assign(rv_21=features["rv_21"].shift(-1))
    outcome = check_no_look_ahead(leaking)
    assert outcome.passed is False
    days = outcome.metadata["days_whose_features_use_later_rows"]
    assert days and all(columns == ["rv_21"] for columns in days.values())


def test_expected_nulls_fails_on_extra_missing_values(features):
    assert check_expected_nulls(features).passed is True
    holes = features.copy()
    holes.loc[[100, 400], "rv_5"] = np.nan
    outcome = check_expected_nulls(holes)
    assert outcome.passed is False
    unexpected = outcome.metadata["unexpected"]
    assert unexpected == {"rv_5": {"expected": 5, "actual": 7}}


# --- determinism and loading -------------------------------------------------------------


def test_rematerializing_gives_the_same_evaluation(root, evaluation, card, tmp_path):
    copy = copy_root(root, tmp_path)
    again = materialize(copy, ["volatility_model", "volatility_evaluation"])
    assert again.success
    second = json.loads((copy / EVALUATION).read_text())
    card_again = json.loads((copy / MODEL_STEM).with_suffix(".json").read_text())
    assert card_again["selection"] == card["selection"]
    assert card_again["file"]["sha256"] == card["file"]["sha256"]
    # Wall-clock times of the walk-forward are the one field allowed to differ.
    first = json.loads(json.dumps(evaluation))
    for document in (first, second):
        document["walk_forward"].pop("seconds")
        assert set(document["walk_forward"].pop("seconds_by_model")) >= {"har", "garch"}
    assert second == first


def test_saved_model_loads_and_predicts(root, features, card):
    model = VolatilityModel.load(root / MODEL_STEM)
    assert model.card.file.sha256 == card["file"]["sha256"]
    mean = historical_mean_return(features).to_numpy()
    forecasts = model.predict(features, mean)
    assert list(forecasts.columns) == ["vol", "var", "har_vol", "har_var", "return_ridge", "return"]
    assert len(forecasts) == len(features)
    chosen = model.chosen_columns
    design = design_matrix(features, model.macro)
    has_inputs = design[list(chosen)].notna().all(axis=1)
    assert 500 < has_inputs.sum() < len(features)  # VIX from row 300, warm-ups before
    assert (forecasts.loc[has_inputs, "vol"] > 0).all()
    assert (forecasts.loc[has_inputs, "var"] > 0).all()
    # a combination forecasts from the members present on a row, as the walk-forward did
    assert not forecasts.loc[forecasts["vol"].isna()].index.isin(has_inputs[has_inputs].index).any()
    assert forecasts["vol"].iloc[:5].isna().all()  # no member has its inputs yet
    har_inputs = design[list(model.models["har"].spec.columns)].notna().all(axis=1)
    assert (forecasts.loc[har_inputs, "har_vol"] > 0).all()
    assert forecasts.loc[has_inputs, "return_ridge"].notna().all()
    known = has_inputs & np.isfinite(mean)
    assert (forecasts.loc[known, "return"] >= 0).all()
    assert model.predict(features)["return"].isna().all()  # no historical mean, no forecast
    # Forecasts of annualised vol land in a plausible range for a ~16% vol index.
    assert 0.03 < forecasts.loc[has_inputs, "vol"].median() < 0.6


def test_predict_refuses_a_table_without_the_features(root, features):
    model = VolatilityModel.load(root / MODEL_STEM)
    with pytest.raises(Exception, match="lacks columns.*rv_21"):
        model.predict(features.drop(columns="rv_21"))


# --- bad cases ----------------------------------------------------------------------------


def test_a_corrupt_model_fails_evaluation_and_keeps_the_last_metrics(root, tmp_path):
    copy = copy_root(root, tmp_path)
    metrics = copy / EVALUATION
    before = metrics.read_bytes()
    joblib_file = (copy / MODEL_STEM).with_suffix(".joblib")
    payload = bytearray(joblib_file.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    joblib_file.write_bytes(bytes(payload))

    result = materialize(copy, ["volatility_evaluation"])
    assert not result.success
    message = failure_message(result)
    assert "sha256" in message and "volatility_model.joblib" in message
    assert metrics.read_bytes() == before
    assert not result.get_asset_materialization_events()


def test_a_malformed_evaluation_fails_the_report_with_one_message(root, tmp_path):
    copy = copy_root(root, tmp_path)
    document = json.loads((copy / EVALUATION).read_text())
    del document["comparison"]
    (copy / EVALUATION).write_text(json.dumps(document))

    result = materialize(copy, ["volatility_report"])
    assert not result.success
    (failure,) = result.get_step_failure_events()
    error = failure.step_failure_data.error.cause  # Dagster's load error wraps it
    assert error.cls_name == "OptvolInputError" and error.cause is None
    assert error.message.strip() == (
        f"optvol.core.common.errors.OptvolInputError: {copy / EVALUATION} is not a valid "
        "volatility evaluation: comparison is missing; re-materialize volatility_evaluation"
    )


def test_evaluation_refuses_features_changed_after_training(root, tmp_path):
    copy = copy_root(root, tmp_path)
    metrics = copy / EVALUATION
    before = metrics.read_bytes()
    market = volatile_market_frame(n_days=900, vix_from=300, seed=7)
    last = market.index[market["spx_close"].notna()][-1]
    prices = ["spx_open", "spx_high", "spx_low", "spx_close"]
    market.loc[last, prices] = market.loc[last, prices] * 1.01
    write_market(copy / MARKET_INPUT_FILE, market)
    assert materialize(copy, ["raw_market", "market_features"]).success

    result = materialize(copy, ["volatility_evaluation"])
    assert not result.success
    message = failure_message(result)
    assert "market_features differ from the table this model was trained on" in message
    assert "re-materialize volatility_model" in message
    assert metrics.read_bytes() == before


@pytest.mark.parametrize(
    ("config", "field", "minimum"),
    [
        ({"min_train_rows": 83}, "min_train_rows", 84),
        ({"validation_folds": 1}, "validation_folds", 2),
    ],
)
def test_bad_config_is_refused_and_nothing_is_written(root, tmp_path, config, field, minimum):
    copy = copy_root(root, tmp_path)
    shutil.rmtree(copy / "models")
    result = materialize(copy, ["volatility_model"], model=config)
    assert not result.success
    message = failure_message(result)
    assert field in message and f"greater than or equal to {minimum}" in message
    assert not (copy / "models").exists()


def test_a_history_too_short_for_min_train_rows_fails_clearly(tmp_path):
    root = tmp_path / "data"
    write_market(root / MARKET_INPUT_FILE, volatile_market_frame(n_days=300, vix_from=100))
    result = materialize(root, ["raw_market", "market_features", "volatility_model"])
    assert not result.success
    message = failure_message(result)
    assert "min_train_rows=126 are needed" in message
    assert "rows have every input and the target" in message
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"raw_market", "market_features"}
    assert not (root / "models").exists()
