"""gru_model and option_evaluation through Dagster, with the real IO managers and files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import torch

from optvol.core.common.paths import ARTIFACT_PATHS, PLOTS_DIR, REPORT_PATHS
from optvol.core.options.evaluation import PLOT_FILES
from optvol.core.options.report import SECTION_TITLES
from optvol.core.options.samples import BASELINES
from optvol.definitions import resources_for
from optvol.defs.options.assets import gru_model, option_evaluation, option_report
from optvol_tests.builders import option_quotes_frame, write_quote_months

# option_quotes as an upstream the IO manager loads from the file each test writes.
QUOTES = dg.SourceAsset("option_quotes")
TINY = {"hidden_size": 8, "head_size": 8, "epochs": 2, "batch_size": 256}


def run(
    root: Path, model_config: dict | None = None, report: bool = True, **kwargs
) -> dg.ExecuteInProcessResult:
    config = {"ops": {"gru_model": {"config": {**TINY, **(model_config or {})}}}}
    return dg.materialize(
        [QUOTES, gru_model, option_evaluation, option_report],
        selection=["gru_model", "option_evaluation", *(["option_report"] if report else [])],
        resources=resources_for(str(root)),
        run_config=config,
        raise_on_error=False,
        **kwargs,
    )


def evaluate_only(root: Path) -> dg.ExecuteInProcessResult:
    """option_evaluation alone, loading gru_model and option_quotes from their files."""
    return dg.materialize(
        [QUOTES, gru_model, option_evaluation],
        selection=["option_evaluation"],
        resources=resources_for(str(root)),
        raise_on_error=False,
    )


@pytest.fixture
def model_root(tmp_path: Path) -> Path:
    """A data root holding a small clean option_quotes table."""
    root = tmp_path / "data"
    write_quote_months(option_quotes_frame(n_days=50), root / ARTIFACT_PATHS["option_quotes"])
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dg.ExecuteInProcessResult]:
    """The model, its evaluation and its report, materialized once for the module's tests
    that only read them: (data root, run result). A test that changes files works on a
    copy (:func:`trained_copy`)."""
    root = tmp_path_factory.mktemp("trained") / "data"
    write_quote_months(option_quotes_frame(n_days=50), root / ARTIFACT_PATHS["option_quotes"])
    result = run(root)
    assert result.success
    return root, result


@pytest.fixture
def trained_copy(trained, tmp_path: Path) -> Path:
    """A copy of the trained data root, for a test that changes its files."""
    return Path(shutil.copytree(trained[0], tmp_path / "data"))


def card_dates(root) -> np.ndarray:
    """The quote dates of the chain written under ``root``, less the first (no sample)."""
    return np.unique(option_quotes_frame(n_days=50)["quote_date"])[1:]


def test_model_and_evaluation_artifacts(trained):
    model_root, _ = trained
    weights = model_root / "models" / "gru_model.pt"
    state = torch.load(weights, weights_only=True)
    assert all(isinstance(t, torch.Tensor) for t in state.values())
    card = json.loads((model_root / "models" / "gru_model.json").read_text())
    assert card["file"]["bytes"] == weights.stat().st_size
    assert card["training"]["hidden_size"] == 8 and card["samples"]["sequence_length"] == 20
    # Walked forward by default: the saved model trains on every date but the last
    # validation days; the evaluation refits on earlier windows and tests every later date.
    assert set(card["split_dates"]) == {"train", "validation"}
    assert card["split_dates"]["validation"][1] == str(card_dates(model_root)[-1])[:10]
    assert card["anchor"]["on"] == "earlier out-of-sample days"
    assert len(card["history"]) == card["metrics"]["epochs_run"] <= 2

    evaluation = json.loads((model_root / ARTIFACT_PATHS["option_evaluation"]).read_text())
    assert evaluation["models"] == ["gru", *BASELINES]
    walk = evaluation["walk_forward"]
    assert evaluation["evaluation"] == "walk_forward" and walk["refits"] >= 2
    assert walk["test_days"] == evaluation["dates"] == len(evaluation["by_date"]["date"])
    assert walk["first_test_date"] > card["split_dates"]["train"][0]
    comparison = evaluation["comparison"]
    for against in ("practitioner", "best_baseline"):
        low, high = comparison[f"rmse_ratio_to_{against}_interval"]
        assert low <= high and 0 <= comparison[f"dm_p_value_vs_{against}"] <= 1
    hedging = evaluation["hedging"]
    assert hedging["pairs"] == evaluation["rows"]
    assert set(hedging["gain_vs_bs_delta"]) == {"gru", "hull_white_mv", "hull_white_bs",
                                               "leverage_bs"}  # fmt: skip
    rows = {name: m["rows"] for name, m in evaluation["overall"].items()}
    assert set(rows.values()) == {evaluation["rows"]}  # every model on the same rows
    assert evaluation["data_fingerprint"] == card["data_fingerprint"]
    for file in PLOT_FILES.values():
        assert (model_root / PLOTS_DIR / file).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metadata_shows_metrics_and_inline_plots(trained):
    model_root, result = trained
    metadata = {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    model = metadata["gru_model"]
    assert model["pt_bytes"].value > 0 and model["pt_path"].path.endswith("gru_model.pt")
    assert model["best_epoch"].value in (1, 2)
    assert model["training_samples"].value > 0 and model["history"].md_str.startswith("|")
    evaluation = metadata["option_evaluation"]
    assert evaluation["plot_rmse"].md_str.startswith("![rmse](data:image/png;base64,")
    assert "practitioner_bs_mid_iv" in evaluation["metrics"].md_str
    assert evaluation["gru_test_rmse"].value > 0
    document = json.loads((model_root / ARTIFACT_PATHS["option_evaluation"]).read_text())
    assert evaluation["dagster/row_count"].value == document["rows"]
    columns = [c.name for c in evaluation["dagster/column_schema"].schema.columns]
    assert columns[0] == "model" and {"rmse", "mae", "rows"} <= set(columns)
    report = metadata["option_report"]
    markdown, pdf = (model_root / p for p in REPORT_PATHS["option_report"])
    assert report["pdf_path"].path == str(pdf) and pdf.read_bytes()[:5] == b"%PDF-"
    assert report["pdf_pages"].value >= 4
    text = markdown.read_text()
    assert all(f"## {title}" in text for title in SECTION_TITLES)
    assert f"{document['comparison']['gru_rmse']:.4f}" in report["report"].md_str


def test_checks_cover_test_dates_and_compare_with_the_best_baseline(trained):
    model_root, result = trained
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["covers_every_test_date"].passed
    comparison = checks["gru_vs_best_baseline"]
    assert comparison.severity == dg.AssetCheckSeverity.WARN
    evaluation = json.loads((model_root / ARTIFACT_PATHS["option_evaluation"]).read_text())
    assert comparison.passed == evaluation["comparison"]["gru_beats_best_baseline"]
    assert comparison.metadata["best_baseline"].value == evaluation["comparison"]["best_baseline"]


def test_same_seed_same_metrics(trained, trained_copy):
    def metrics(root: Path) -> dict:
        return json.loads((root / ARTIFACT_PATHS["option_evaluation"]).read_text())

    first = metrics(trained[0])
    assert run(trained_copy, report=False).success  # the report reads the metrics only
    assert metrics(trained_copy)["overall"] == first["overall"]


def test_bad_config_is_refused_before_training_and_nothing_is_written(model_root):
    result = run(model_root, {"train_end": "2020-02-01", "validation_end": "2020-01-15"})
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "validation_end 2020-01-15 must come after train_end 2020-02-01" in error
    assert not (model_root / "models").exists()


def test_a_corrupt_model_fails_evaluation_and_keeps_the_last_metrics(trained_copy):
    model_root = trained_copy
    metrics_path = model_root / ARTIFACT_PATHS["option_evaluation"]
    before = metrics_path.read_bytes()
    weights = model_root / "models" / "gru_model.pt"
    weights.write_bytes(weights.read_bytes()[:-10])

    result = evaluate_only(model_root)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "sha256" in str(failure) and "gru_model.pt" in str(failure)
    assert metrics_path.read_bytes() == before


def test_evaluation_refuses_data_the_model_was_not_trained_on(trained_copy):
    model_root = trained_copy
    changed = option_quotes_frame(n_days=50, seed=1)
    write_quote_months(changed, model_root / ARTIFACT_PATHS["option_quotes"])
    result = evaluate_only(model_root)
    assert not result.success
    assert "re-train gru_model" in str(result.get_step_failure_events()[0].step_failure_data.error)
