"""The saved option GRU: ``<stem>.pt`` (a ``state_dict``) and ``<stem>.json`` (its card).

The weights file holds tensors only, so it loads with ``torch.load(weights_only=True)``
and cannot run code. The card holds everything else needed to use and trust the
model: architecture, hyperparameters, feature lists, scalers, split dates, the
fingerprint of the data it was trained on, its training history and metrics, and
the size and sha256 of the weights file (checked on load). Both files are written
atomically.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from optvol.core.atomic import atomic_open
from optvol.core.errors import OptvolInputError
from optvol.core.gru import SampleTensors, Scalers
from optvol.core.gru_training import TrainingResult, build_model, predict_over_strike
from optvol.core.option_samples import (
    ANCHOR,
    SEQUENCE_FEATURES,
    STATIC_FEATURES,
    OptionSamples,
    SampleConfig,
)

CARD_FORMAT = 1


@dataclass
class TrainedGRU:
    """Weights and card of a trained option GRU."""

    state_dict: dict[str, torch.Tensor]
    card: dict

    @classmethod
    def from_training(cls, result: TrainingResult, samples: OptionSamples) -> TrainedGRU:
        state = {name: tensor.detach().cpu() for name, tensor in result.model.state_dict().items()}
        card = {
            "format": CARD_FORMAT,
            "model": "OptionGRU",
            "architecture": result.architecture,
            "training": result.config.to_dict(),
            "samples": samples.config.to_dict(),
            "features": {"sequence": list(SEQUENCE_FEATURES), "static": list(STATIC_FEATURES)},
            "target": "mid / strike; the network corrects the implied vol of "
            f"{ANCHOR!r} and prices with Black-Scholes",
            "scalers": result.scalers.to_dict(),
            "split_dates": samples.split_dates,
            "sample_counts": {
                **samples.counts,
                **{
                    f"{name}_samples": int(len(samples.indices(name)))
                    for name in ("train", "validation", "test")
                },
            },  # fmt: skip
            "data_fingerprint": samples.fingerprint,
            "history": result.history,
            "metrics": {
                "best_epoch": result.best_epoch,
                "epochs_run": len(result.history),
                "best_validation_loss": result.best_validation_loss,
                "training_seconds": result.seconds,
            },
            "device": result.device,
            "versions": {"torch": torch.__version__, "python": platform.python_version()},
        }
        return cls(state, card)

    def scalers(self) -> Scalers:
        return Scalers.from_dict(self.card["scalers"])

    def sample_config(self) -> SampleConfig:
        return SampleConfig(**self.card["samples"])

    def model(self, device: str | torch.device = "cpu") -> torch.nn.Module:
        model = build_model(self.card["architecture"])
        model.load_state_dict(self.state_dict)
        return model.to(device).eval()

    def predict(self, samples: OptionSamples, index: np.ndarray) -> np.ndarray:
        """Predicted prices in dollars of the samples ``index`` (on CPU)."""
        if samples.fingerprint != self.card["data_fingerprint"]:
            raise OptvolInputError(
                "the option data differ from the data this model was trained on "
                f"(fingerprint {samples.fingerprint[:12]} vs "
                f"{self.card['data_fingerprint'][:12]}): re-train gru_model"
            )
        tensors = SampleTensors(samples, self.scalers(), torch.device("cpu"))
        over_strike = predict_over_strike(self.model(), tensors, index)
        return over_strike * samples.rows["strike"].to_numpy()[index]

    def save(self, stem: str | Path) -> tuple[Path, Path]:
        """Write ``<stem>.pt`` and ``<stem>.json``; return their paths.

        Both files are written to temporary files first and renamed into place only once
        both are complete, the card first: a failed save leaves the previous pair as it
        was, and a crash between the two renames leaves a card whose sha256 refuses the
        old weights rather than a silently mismatched pair.
        """
        stem = Path(stem)
        weights_path, card_path = stem.with_suffix(".pt"), stem.with_suffix(".json")
        buffer = io.BytesIO()
        torch.save(self.state_dict, buffer)
        weights = buffer.getvalue()
        file = {
            "path": weights_path.name,
            "bytes": len(weights),
            "sha256": hashlib.sha256(weights).hexdigest(),
        }
        card = json.dumps({**self.card, "file": file}, indent=2, sort_keys=True, allow_nan=False)
        with atomic_open(weights_path) as weights_file, atomic_open(card_path) as card_file:
            weights_file.write(weights)
            card_file.write(card.encode())
        self.card["file"] = file
        return weights_path, card_path

    @classmethod
    def load(cls, stem: str | Path) -> TrainedGRU:
        """Read a saved model, checking the weights against the card's sha256."""
        stem = Path(stem)
        weights_path, card_path = stem.with_suffix(".pt"), stem.with_suffix(".json")
        for path in (weights_path, card_path):
            if not path.exists():
                raise OptvolInputError(f"{path} does not exist: train the model first")
        try:
            card = json.loads(card_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise OptvolInputError(f"{card_path} is not a valid model card: {error}") from None
        if card.get("format") != CARD_FORMAT or "file" not in card:
            raise OptvolInputError(
                f"{card_path} is a model card of format {card.get('format')!r}; "
                f"this optvol reads format {CARD_FORMAT}"
            )
        weights = weights_path.read_bytes()
        if hashlib.sha256(weights).hexdigest() != card["file"]["sha256"]:
            raise OptvolInputError(
                f"{weights_path} does not match the sha256 recorded in {card_path}: "
                "the file is corrupt or from another training; re-train the model"
            )
        state = torch.load(io.BytesIO(weights), weights_only=True, map_location="cpu")
        return cls(state, card)
