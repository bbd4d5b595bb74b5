"""Tests for optvol.core.options.gru.training: determinism, early stopping, config and logs."""

from __future__ import annotations

import copy
import logging
import re

import numpy as np
import pytest
import torch

import optvol.core.options.gru.anchor as anchor_module
import optvol.core.options.gru.training as gru_training
from optvol.core.options.gru.anchor import MIN_SWITCH_DAYS
from optvol.core.options.gru.network import SampleTensors
from optvol.core.options.gru.training import TrainingConfig, predict_over_strike, train_gru
from optvol.core.options.samples import SEQUENCE_FEATURES, STATIC_FEATURES, build_samples
from optvol_tests.builders import option_quotes_frame

TINY = {"hidden_size": 8, "head_size": 8, "batch_size": 256, "device": "cpu"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def samples():
    return build_samples(option_quotes_frame())


def train(samples, **overrides):
    return train_gru(samples, TrainingConfig(**{**TINY, "epochs": 2, **overrides}))


def assert_same_state(a: torch.nn.Module | dict, b: torch.nn.Module | dict) -> None:
    a = a.state_dict() if isinstance(a, torch.nn.Module) else a
    b = b.state_dict() if isinstance(b, torch.nn.Module) else b
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def losses(result) -> list[tuple[float, float]]:
    return [(h["train_loss"], h["val_loss"]) for h in result.history]


@pytest.fixture(scope="module")
def seed0(samples):
    return train(samples, seed=0)


def test_same_seed_gives_identical_weights_and_losses(samples, seed0):
    again = train(samples, seed=0)
    assert_same_state(again.model, seed0.model)
    assert losses(again) == losses(seed0)
    assert again.best_epoch == seed0.best_epoch
    assert again.best_validation_loss == seed0.best_validation_loss


def test_different_seeds_give_different_weights(samples, seed0):
    other = train(samples, seed=1)
    state, base = other.model.state_dict(), seed0.model.state_dict()
    assert any(not torch.equal(state[name], base[name]) for name in state)
    assert losses(other) != losses(seed0)


def test_training_moves_away_from_the_initial_weights(samples, seed0):
    torch.manual_seed(0)
    initial = gru_training.build_model(seed0.architecture)
    state = seed0.model.state_dict()
    assert any(not torch.equal(state[n], initial.state_dict()[n]) for n in state)
    # The zero-initialised last layer has learnt something.
    assert seed0.model.head[-1].weight.abs().sum() > 0


def test_result_fields(samples, seed0):
    assert seed0.device == "cpu"
    assert len(seed0.history) == 2
    assert [h["epoch"] for h in seed0.history] == [1, 2]
    assert seed0.architecture["hidden_size"] == 8
    assert seed0.architecture["sequence_features"] == len(SEQUENCE_FEATURES)
    assert seed0.architecture["static_features"] == len(STATIC_FEATURES)
    assert not seed0.model.training
    assert seed0.seconds > 0
    for h in seed0.history:
        assert set(h) == {
            "epoch", "train_loss", "val_loss", "seconds", "train_seconds", "train_samples",
            "samples_per_second",
        }  # fmt: skip
        assert h["train_samples"] == len(samples.indices("train"))
        assert 0 < h["train_seconds"] <= h["seconds"]
        assert h["samples_per_second"] > 0
        assert h["samples_per_second"] == h["train_samples"] / h["train_seconds"]
        assert np.isfinite(h["train_loss"]) and np.isfinite(h["val_loss"])
    total = sum(h["train_samples"] for h in seed0.history)
    assert seed0.samples_per_second == pytest.approx(
        total / sum(h["train_seconds"] for h in seed0.history)
    )


def validation_loss(result, samples) -> float:
    tensors = SampleTensors(samples, result.scalers, torch.device("cpu"))
    index = samples.indices("validation")
    prediction = predict_over_strike(result.model, tensors, index)
    target = samples.target()[index].astype(np.float64)
    return float(np.mean(((prediction - target) / result.scalers.price_scale) ** 2))


def test_returned_model_has_the_best_validation_loss(samples):
    # A large step makes the validation loss jump about (here the best epoch is not the
    # last), so returning the last weights would fail the final check.
    result = train(samples, epochs=4, patience=4, learning_rate=0.2)
    val = [h["val_loss"] for h in result.history]
    assert result.best_validation_loss == min(val)
    assert result.best_epoch == 1 + int(np.argmin(val))
    kept, result.model.shrinkage = result.model.shrinkage, 1.0  # the epochs' losses are unshrunk
    assert validation_loss(result, samples) == pytest.approx(min(val), rel=1e-9)
    result.model.shrinkage = kept
    # The kept share is no worse than the anchor on the validation dates.
    shrunk = validation_loss(result, samples)
    result.model.shrinkage = 0.0
    assert shrunk <= validation_loss(result, samples)
    result.model.shrinkage = kept


def test_the_correction_is_bounded_by_what_training_supports(samples, seed0):
    bound = gru_training.correction_bound(samples)
    train_index = samples.indices("train")
    gap = np.abs(samples.target_iv[train_index] - samples.anchor_iv[train_index])
    assert bound == pytest.approx(np.clip(np.quantile(gap, 0.99), 0.01, 1.0))
    assert seed0.architecture["max_correction"] == bound
    tensors = SampleTensors(samples, seed0.scalers, torch.device("cpu"))
    with torch.no_grad():
        seed0.model.head[-1].bias.fill_(1e3)  # a network gone wild
        correction = seed0.model.iv_correction(*tensors.batch(torch.arange(50))[:2])
    assert correction.abs().max() <= bound * seed0.model.shrinkage + 1e-7


def test_a_correction_that_hurts_in_one_validation_block_is_not_kept(samples, monkeypatch):
    from optvol.core.options.gru import shrinkage

    dates = samples.rows["quote_date"].to_numpy()[samples.indices("validation")]
    last_block = dates >= np.array_split(np.unique(dates), 3)[-1][0]

    def helpful_then_harmful(model, tensors, index):
        exact = samples.target_iv[index].astype(np.float64) - samples.anchor_iv[index]
        return np.where(last_block, 0.3, np.nan_to_num(exact))

    monkeypatch.setattr(shrinkage, "corrections", helpful_then_harmful)
    model = gru_training.build_model({**TINY_ARCHITECTURE, "max_correction": 0.5})
    choice = shrinkage.choose_shrinkage(model, None, samples)
    assert choice.shrinkage == choice.candidate == 0.0  # the blocks' rule, not the evidence
    assert choice.relative_loss["1"][0] < 0.5 < 1.0 < choice.relative_loss["1"][-1]
    assert len(choice.blocks) == 3

    monkeypatch.setattr(
        shrinkage, "corrections",
        lambda model, tensors, index: np.nan_to_num(
            samples.target_iv[index].astype(np.float64) - samples.anchor_iv[index]
        ),
    )  # fmt: skip
    # An exact correction better in every block, but over fewer validation days than the
    # evidence needs, is not kept: the model stays its anchor.
    assert len(np.unique(dates)) < MIN_SWITCH_DAYS
    choice = shrinkage.choose_shrinkage(model, None, samples)
    assert choice.shrinkage == 0.0 and choice.candidate == 1.0
    assert choice.to_dict()["candidate"] == 1.0 and choice.to_dict()["shrinkage"] == 0.0
    # Over as many days as the evidence needs, it is.
    monkeypatch.setattr(anchor_module, "MIN_SWITCH_DAYS", len(np.unique(dates)))
    choice = shrinkage.choose_shrinkage(model, None, samples)
    assert choice.shrinkage == choice.candidate == 1.0


TINY_ARCHITECTURE = {
    "sequence_features": len(SEQUENCE_FEATURES),
    "static_features": len(STATIC_FEATURES),
    "hidden_size": 8,
    "head_size": 8,
}


def scripted(monkeypatch, values):
    """Make the validation loss of epoch k be ``values[k-1]``; return the weights the model
    had when each was computed."""
    seen = []

    def fake_loss(model, tensors, index, scale):
        seen.append(copy.deepcopy(model.state_dict()))
        return float(values[len(seen) - 1])

    monkeypatch.setattr(gru_training, "_loss", fake_loss)
    return seen


@pytest.mark.parametrize(
    ("values", "patience", "epochs_run", "best_epoch"),
    [
        ([1.0, 0.5, 0.7, 0.8, 0.9, 0.1, 0.1, 0.1], 3, 5, 2),
        ([1.0, 0.5, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1], 3, 5, 2),  # equal is no improvement
        ([1.0, 0.9, 0.95, 0.8, 0.85, 0.86, 0.87, 0.1], 3, 7, 4),  # a new best resets
        ([1.0, 1.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 1, 2, 1),
        ([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3], 2, 8, 8),  # never stops early
    ],
)
def test_early_stopping_keeps_the_best_epochs_weights(
    samples, monkeypatch, values, patience, epochs_run, best_epoch
):
    seen = scripted(monkeypatch, values)
    result = train(samples, epochs=8, patience=patience)
    assert len(result.history) == len(seen) == epochs_run
    assert [h["val_loss"] for h in result.history] == values[:epochs_run]
    assert result.best_epoch == best_epoch
    assert result.best_validation_loss == values[best_epoch - 1]
    assert_same_state(result.model, seen[best_epoch - 1])
    if best_epoch != epochs_run:  # the weights did change after the best epoch
        last = seen[-1]
        assert any(not torch.equal(last[n], seen[best_epoch - 1][n]) for n in last)


def test_early_stop_is_logged(samples, monkeypatch, caplog):
    scripted(monkeypatch, [1.0, 0.5, 0.7, 0.8, 0.9])
    with caplog.at_level(logging.INFO, logger="optvol.core.options.gru.training"):
        train(samples, epochs=5, patience=3)
    assert any(
        "Early stop after epoch 5" in r.getMessage() and "keeping epoch 2" in r.getMessage()
        for r in caplog.records
    )


EPOCH_LINE = re.compile(
    r"Epoch (\d+)/(\d+): train loss ([\d.]+), validation loss ([\d.]+), "
    r"([\d.]+) s, (\d+) samples/s"
)


def test_one_info_line_per_epoch(samples, caplog):
    with caplog.at_level(logging.INFO, logger="optvol.core.options.gru.training"):
        result = train(samples, epochs=3, patience=5)
    lines = [
        r
        for r in caplog.records
        if r.name == "optvol.core.options.gru.training" and r.getMessage().startswith("Epoch ")
    ]
    assert len(lines) == len(result.history) == 3
    for record, h in zip(lines, result.history, strict=True):
        assert record.levelno == logging.INFO
        match = EPOCH_LINE.fullmatch(record.getMessage())
        assert match, record.getMessage()
        epoch, total, train_loss, val_loss, seconds, rate = match.groups()
        assert (int(epoch), int(total)) == (h["epoch"], 3)
        assert float(train_loss) == pytest.approx(h["train_loss"], abs=1e-5)
        assert float(val_loss) == pytest.approx(h["val_loss"], abs=1e-5)
        assert float(seconds) == pytest.approx(h["seconds"], abs=0.05)
        assert int(rate) == pytest.approx(h["samples_per_second"], abs=1)
    # One opening line says what is trained where.
    assert any(r.getMessage().startswith("Training OptionGRU on cpu") for r in caplog.records)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_size": 0}, "hidden_size must be >= 1"),
        ({"num_layers": 0}, "num_layers must be >= 1"),
        ({"head_size": 0}, "head_size must be >= 1"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"patience": 0}, "patience must be >= 1"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"dropout": -0.1}, r"dropout must be in \[0, 1\)"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"learning_rate": -1e-3}, "learning_rate must be > 0"),
        ({"device": "not-a-device"}, "unknown device"),
    ],
)
def test_training_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_training_config_refuses_cuda_without_cuda(device):
    with pytest.raises(ValueError, match="sees no CUDA device"):
        TrainingConfig(device=device)


def test_training_config_defaults_and_auto_device():
    config = TrainingConfig()
    assert config.device == "auto"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert gru_training.resolve_device("auto").type == expected
    assert TrainingConfig(**config.to_dict()) == config


def test_auto_device_is_cuda_whenever_pytorch_sees_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gru_training.resolve_device("auto") == torch.device("cuda")
    assert gru_training.resolve_device("cuda:0") == torch.device("cuda:0")
    assert gru_training.resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gru_training.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="sees no CUDA device"):
        gru_training.resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_on_cuda_keeps_the_model_there_and_saves_it_on_the_cpu(samples):
    from optvol.core.options.gru.artifact import TrainedGRU

    result = train(samples, seed=0, device="auto")
    assert result.device.startswith("cuda")
    assert all(p.device.type == "cuda" for p in result.model.parameters())
    assert result.history[0]["samples_per_second"] > 0
    model = TrainedGRU.from_training(result, samples)
    assert all(t.device.type == "cpu" for t in model.state_dict.values())
    test = samples.indices("test")
    on_gpu = model.predict(samples, test, "cuda")
    # The same weights price alike on either device (other kernels: not bit for bit).
    np.testing.assert_allclose(on_gpu, model.predict(samples, test, "cpu"), rtol=1e-4, atol=1e-4)


def test_the_hedging_term_is_in_units_of_the_anchors_own_hedging_error(samples):
    """At the start the network is its anchor: each term of the loss is about 1."""
    from optvol.core.options.gru.network import OptionGRU, SampleTensors, fit_scalers
    from optvol.core.options.gru.training import LossUnits, anchor_hedge_rms, batch_loss

    scalers = fit_scalers(samples)
    tensors = SampleTensors(samples, scalers, torch.device("cpu"), hedging=True)
    train = samples.indices("train")
    model = OptionGRU(tensors.sequence_features, tensors.static_features, 8, head_size=8,
                      drivers=2, slope_columns=[0, 1], slope_size=4).eval()  # fmt: skip
    hedge = anchor_hedge_rms(tensors, train)
    index, weight = torch.as_tensor(train), torch.ones(len(train))
    with torch.no_grad():
        prices_only = batch_loss(
            model, tensors, index, weight, LossUnits(scalers.price_scale, hedge, 0)
        )
        both = batch_loss(model, tensors, index, weight, LossUnits(scalers.price_scale, hedge, 2.0))
    assert float(prices_only) == pytest.approx(1.0, rel=0.05)
    assert float(both) == pytest.approx(float(prices_only) + 2.0, rel=0.02)
