"""Tests for optvol.core.options.gru.artifact: the saved weights and model card."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import optvol.core.common.versioned_json as versioned_json
from optvol.core.common.errors import OptvolInputError
from optvol.core.options.evaluation import evaluate_option_models
from optvol.core.options.gru.anchor import with_anchor
from optvol.core.options.gru.artifact import TrainedGRU
from optvol.core.options.gru.card import Clock, GruCard
from optvol.core.options.gru.network import SampleTensors
from optvol.core.options.gru.training import TrainingConfig, predict_over_strike, train_gru
from optvol.core.options.samples import (
    SEQUENCE_FEATURES,
    STATIC_FEATURES,
    SampleConfig,
    build_samples,
)
from optvol_tests.builders import option_quotes_frame

TINY = {"hidden_size": 8, "head_size": 8, "batch_size": 256, "device": "cpu", "epochs": 2}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def quotes():
    return option_quotes_frame()


@pytest.fixture(scope="module")
def samples(quotes):
    # One split: the model's own test split is what the evaluation scores.
    return build_samples(quotes, SampleConfig(evaluation="split"))


@pytest.fixture(scope="module")
def result(samples):
    return train_gru(samples, TrainingConfig(**TINY))


@pytest.fixture
def trained(result, samples) -> TrainedGRU:
    return TrainedGRU.from_training(result, samples)


@pytest.fixture
def saved(trained, tmp_path) -> tuple[Path, Path]:
    return trained.save(tmp_path / "gru_model")


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_save_writes_a_pt_and_a_json_beside_each_other(saved, tmp_path):
    weights, card = saved
    assert weights == tmp_path / "gru_model.pt"
    assert card == tmp_path / "gru_model.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gru_model.json", "gru_model.pt"]


def test_round_trip_gives_identical_predictions(trained, saved, samples, result):
    loaded = TrainedGRU.load(saved[0].with_suffix(""))
    index = np.arange(len(samples.rows))
    before = trained.predict(samples, index)
    after = loaded.predict(samples, index)
    np.testing.assert_array_equal(after, before)
    # ... which are the trained network's prices in dollars, at its anchor's vol.
    anchored = with_anchor(samples, result.anchor.anchor)
    tensors = SampleTensors(anchored, result.scalers, torch.device("cpu"))
    direct = predict_over_strike(result.model, tensors, index) * samples.rows["strike"].to_numpy()
    np.testing.assert_array_equal(after, direct)
    assert loaded.card.document() == strict_json(saved[1].read_text())
    assert loaded.sample_config() == samples.config


def test_load_accepts_the_stem_with_a_suffix(saved):
    assert TrainedGRU.load(saved[0]).card == TrainedGRU.load(saved[1]).card


def test_weights_file_loads_with_weights_only(saved, result):
    state = torch.load(saved[0], weights_only=True)
    assert isinstance(state, dict)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    expected = result.model.state_dict()
    assert state.keys() == expected.keys()
    for name, tensor in state.items():
        assert tensor.device.type == "cpu"
        assert torch.equal(tensor, expected[name].cpu()), name


def test_card_holds_everything_needed_to_use_and_trust_the_model(saved, samples, result):
    weights, card_path = saved
    card = strict_json(card_path.read_text())
    assert card["format"] == GruCard.FORMAT
    assert card["model"] == "OptionGRU"
    assert card["architecture"] == result.architecture
    assert card["training"] == result.config.to_dict()
    assert card["samples"] == samples.config.to_dict()
    assert card["features"] == {
        "sequence": list(SEQUENCE_FEATURES),
        "static": list(STATIC_FEATURES),
    }
    assert card["scalers"] == strict_json(json.dumps(result.scalers.to_dict()))
    assert len(card["scalers"]["static"]["mean"]) == len(STATIC_FEATURES)
    assert card["split_dates"] == samples.split_dates
    assert card["data_fingerprint"] == samples.fingerprint
    assert card["sample_counts"]["train_samples"] == len(samples.indices("train"))
    assert card["sample_counts"]["test_samples"] == len(samples.indices("test"))
    assert card["history"] == result.history
    assert card["metrics"] == {
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "best_validation_loss": result.best_validation_loss,
        "training_seconds": result.seconds,
        "samples_per_second": result.samples_per_second,
        "correction_bound": result.architecture["max_correction"],
        "shrinkage": result.shrinkage.to_dict(),
    }
    assert card["fitted_baselines"] == strict_json(json.dumps(samples.fitted.to_dict()))
    assert card["anchor"] == result.anchor.to_dict()
    assert card["anchor"]["on"] == "validation days"
    assert card["clock"] == result.clock.to_dict()
    assert set(card["clock"]["training_rmse"]) == {"0", "0.25", "0.5", "0.75", "1"}
    seen = sum(h["train_samples"] for h in result.history)
    assert card["metrics"]["samples_per_second"] == pytest.approx(
        seen / sum(h["train_seconds"] for h in result.history)
    )
    assert card["metrics"]["samples_per_second"] > 0
    data = weights.read_bytes()
    saved_at = dt.datetime.fromisoformat(card["file"].pop("saved_at"))
    assert abs(dt.datetime.now(dt.timezone.utc) - saved_at) < dt.timedelta(minutes=10)
    assert card["file"] == {
        "path": "gru_model.pt",
        "bytes": weights.stat().st_size,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert card["versions"]["torch"] == torch.__version__


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + 8):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupted_weights_raise_naming_the_file(saved):
    weights, card = saved
    flip_bytes(weights)
    with pytest.raises(OptvolInputError, match=r"gru_model\.pt does not match the sha256"):
        TrainedGRU.load(weights)


def test_truncated_weights_raise(saved):
    weights, _ = saved
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(OptvolInputError, match=r"gru_model\.pt"):
        TrainedGRU.load(weights)


@pytest.mark.parametrize("suffix", [".json", ".pt"])
def test_a_missing_file_raises_naming_it(saved, suffix):
    stem = saved[0].with_suffix("")
    stem.with_suffix(suffix).unlink()
    with pytest.raises(OptvolInputError, match=rf"gru_model\{suffix} does not exist"):
        TrainedGRU.load(stem)


def test_an_invalid_card_raises_naming_it(saved):
    saved[1].write_text("{not json")
    with pytest.raises(OptvolInputError, match=r"gru_model\.json is not a valid model card"):
        TrainedGRU.load(saved[0])


def test_a_card_written_before_the_clock_prices_in_calendar_time(saved, samples, trained):
    card = json.loads(saved[1].read_text())
    card["clock"] = {"share": 1.0, "training_rmse": {}}
    saved[1].write_text(json.dumps(card))
    index = np.arange(0, len(samples.rows), 5)
    weekend = samples.context.days_since_previous[index] > 1
    moved = TrainedGRU.load(saved[0]).predict(samples, index)
    assert TrainedGRU.load(saved[0]).business_time == 1.0
    del card["clock"]
    saved[1].write_text(json.dumps(card))
    older = TrainedGRU.load(saved[0])
    assert older.business_time == 0.0
    calendar = older.predict(samples, index)
    # A weekend's business time raises the anchor's vol; the weekdays' move it little.
    assert (moved[weekend] > calendar[weekend]).mean() > 0.9


def test_a_card_of_another_format_raises(saved):
    card = json.loads(saved[1].read_text())
    card["format"] = GruCard.FORMAT + 1
    saved[1].write_text(json.dumps(card))
    with pytest.raises(
        OptvolInputError,
        match=r"gru_model\.json: model card of format 4; this optvol reads format 3: re-materialize",
    ):
        TrainedGRU.load(saved[0])


def test_predicting_on_other_data_raises(trained, quotes, samples):
    changed = quotes.copy()
    changed.loc[len(changed) - 1, "mid"] += 0.01
    other = build_samples(changed)
    assert other.fingerprint != samples.fingerprint
    with pytest.raises(OptvolInputError, match="differ from the data this model was trained on"):
        trained.predict(other, np.arange(5))


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture
def retrained(samples) -> TrainedGRU:
    """Another model of the same data, whose weights differ from ``trained``'s."""
    result = train_gru(samples, TrainingConfig(**{**TINY, "seed": 1}))
    return TrainedGRU.from_training(result, samples)


def test_a_failed_weights_write_leaves_the_artifact_untouched(
    saved, retrained, monkeypatch, tmp_path
):
    before = snapshot(tmp_path)

    def broken_save(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        retrained.save(saved[0].with_suffix(""))
    assert snapshot(tmp_path) == before
    TrainedGRU.load(saved[0])


def test_a_failed_card_write_leaves_the_artifact_untouched(
    saved, retrained, samples, monkeypatch, tmp_path
):
    before = snapshot(tmp_path)
    original = TrainedGRU.load(saved[0]).predict(samples, np.arange(20))

    def broken_dumps(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(versioned_json.json, "dumps", broken_dumps)
    with pytest.raises(OSError, match="disk full"):
        retrained.save(saved[0].with_suffix(""))
    monkeypatch.undo()
    assert snapshot(tmp_path) == before
    np.testing.assert_array_equal(
        TrainedGRU.load(saved[0]).predict(samples, np.arange(20)), original
    )


def test_predicting_some_samples_prices_them_as_predicting_all(trained, samples):
    every = trained.predict(samples, np.arange(len(samples.rows)))
    some = np.array([len(samples.rows) - 1, 0, 17, 17, 5])
    np.testing.assert_allclose(trained.predict(samples, some), every[some], rtol=1e-6)
    assert trained.predict(samples, np.array([], dtype=np.int64)).shape == (0,)


def test_predict_on_a_named_device_equals_the_default(trained, samples):
    index = samples.indices("test")
    np.testing.assert_array_equal(
        trained.predict(samples, index, torch.device("cpu")), trained.predict(samples, index)
    )


def test_evaluation_prices_the_test_split_on_the_given_device(trained, quotes, samples):
    trained.card.clock = Clock(share=0.75, training_rmse={})  # priced and recorded as such
    evaluation = evaluate_option_models(quotes, trained, device="cpu")
    test = samples.indices("test")
    np.testing.assert_array_equal(evaluation.predictions["gru"], trained.predict(samples, test))
    np.testing.assert_array_equal(evaluation.rows["mid"], samples.rows["mid"].to_numpy()[test])
    (refit,) = evaluation.metrics.walk_forward.by_refit
    assert (refit.business_time, refit.carry_shrinkage) == (0.75, trained.carry_shrinkage)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_evaluation_refuses_a_device_that_is_not_there(trained, quotes):
    with pytest.raises(ValueError, match="sees no CUDA device"):
        evaluate_option_models(quotes, trained, device="cuda")
