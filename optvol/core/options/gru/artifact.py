"""The saved option GRU: ``<stem>.pt`` (a ``state_dict``) and ``<stem>.json`` (its card).

The weights file holds tensors only, so it loads with ``torch.load(weights_only=True)``
and cannot run code. The card holds everything else needed to use and trust the
model: architecture, hyperparameters, feature lists, scalers, split dates, the
fingerprint of the data it was trained on, its training history and metrics, and
the size and sha256 of the weights file (checked on load). Both files are written
atomically.
"""

from __future__ import annotations

import io
import platform
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from optvol.core.common.errors import OptvolInputError, excerpt
from optvol.core.common.model_files import read_model_files, save_model
from optvol.core.options.gru.anchor import with_anchor
from optvol.core.options.gru.card import GruCard
from optvol.core.options.gru.config import TrainingConfig
from optvol.core.options.gru.scalers import Scalers
from optvol.core.options.samples import (
    SEQUENCE_FEATURES,
    STATIC_FEATURES,
    FittedBaselines,
    OptionSamples,
    SampleConfig,
)
from optvol.core.options.samples.features import HISTORY_FEATURES

if TYPE_CHECKING:
    import torch

    from optvol.core.options.gru.training import TrainingResult

# PyTorch is imported by the methods that use it: what only reads the card (a report, the
# Dagster definitions naming this type) needs no PyTorch.

WEIGHTS_SUFFIX = ".pt"


@dataclass
class TrainedGRU:
    """Weights and card of a trained option GRU."""

    state_dict: dict[str, torch.Tensor]
    card: GruCard
    _models: dict[str, torch.nn.Module] = field(default_factory=dict, init=False, repr=False)
    _scalers: Scalers | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_training(cls, result: TrainingResult, samples: OptionSamples) -> TrainedGRU:
        import torch

        state = {name: tensor.detach().cpu() for name, tensor in result.model.state_dict().items()}
        fields = {
            "model": "OptionGRU",
            "architecture": result.architecture,
            "training": result.config.to_dict(),
            "samples": samples.config.to_dict(),
            "features": {"sequence": list(SEQUENCE_FEATURES), "static": list(STATIC_FEATURES)},
            "target": "mid / strike; the network corrects the implied vol of the anchor "
            "baseline by a bounded, validated share and prices with Black-Scholes",
            "anchor": result.anchor.to_dict(),
            "carry": result.carry.to_dict(),
            "clock": result.clock.to_dict(),
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
                "samples_per_second": result.samples_per_second,
                "correction_bound": result.architecture["max_correction"],
                "shrinkage": result.shrinkage.to_dict() if result.shrinkage else None,
            },
            "fitted_baselines": samples.fitted.to_dict(),
            "device": result.device,
            "versions": {"torch": torch.__version__, "python": platform.python_version()},
        }
        return cls(state, GruCard.build(fields))

    def scalers(self) -> Scalers:
        if self._scalers is None:
            self._scalers = Scalers.from_dict(self.card.scalers.model_dump())
        return self._scalers

    def sample_config(self) -> SampleConfig:
        return self.card.samples

    def training_config(self) -> TrainingConfig:
        return self.card.training

    @property
    def anchor(self) -> str:
        """The baseline whose vol the network corrects."""
        return self.card.anchor.anchor

    @property
    def carry_shrinkage(self) -> float:
        """The share of the ``t-1`` carry's distance from the configured one it prices
        with (:mod:`optvol.core.options.gru.carry`)."""
        return float(self.card.carry.shrinkage)

    @property
    def business_time(self) -> float:
        """The share of the business-time vol change its anchor takes
        (:mod:`optvol.core.options.gru.clock`; 0, calendar time, for a card without it)."""
        return float(self.card.clock.share) if self.card.clock is not None else 0.0

    def fitted_baselines(self) -> FittedBaselines:
        """The fitted baselines' parameters of the training data."""
        return FittedBaselines.from_dict(self.card.fitted_baselines)

    def model(self, device: str | torch.device = "cpu") -> torch.nn.Module:
        from optvol.core.options.gru.training import build_model

        model = build_model(self.card.architecture.model_dump())
        model.load_state_dict(self.state_dict)
        return model.to(device).eval()

    def check_samples(self, samples: OptionSamples) -> None:
        """Refuse samples built from other data than the model was trained on."""
        if samples.fingerprint != self.card.data_fingerprint:
            raise OptvolInputError(
                "the option data differ from the data this model was trained on "
                f"(fingerprint {samples.fingerprint[:12]} vs "
                f"{self.card.data_fingerprint[:12]}): re-train gru_model"
            )

    def predict(
        self,
        samples: OptionSamples,
        index: np.ndarray,
        device: str | torch.device = "cpu",
        spot: np.ndarray | None = None,
    ) -> np.ndarray:
        """Predicted prices in dollars of the samples ``index``, computed on ``device``
        (tensors of those samples only, beside the shared history). With ``spot`` (one per
        sample) the samples are priced at that underlying price instead of their own
        ``S_t``: every input that depends on it is computed again
        (:func:`~optvol.core.options.samples.inputs.inputs_at_spot`), so the model's delta
        is a difference of two calls."""
        import torch

        from optvol.core.options.gru.network import SampleTensors, to_device
        from optvol.core.options.gru.training import predict_over_strike

        self.check_samples(samples)
        device = torch.device(device)
        if str(device) not in self._models:  # built once per device, reused by later calls
            self._models[str(device)] = self.model(device)
        selected = replace(
            with_anchor(samples.select(index), self.anchor),
            carry_shrinkage=self.carry_shrinkage,
            business_time=self.business_time,
        )
        tensors = SampleTensors(selected, self.scalers(), device)
        if spot is not None:
            static, pricing = selected.inputs_at(spot)
            tensors.static = to_device(self.scalers().static.transform(static), device)
            tensors.pricing = to_device(pricing, device)
        over_strike = predict_over_strike(
            self._models[str(device)], tensors, np.arange(len(selected.rows))
        )
        return over_strike * selected.rows["strike"].to_numpy()

    def save(self, stem: str | Path) -> tuple[Path, Path]:
        """Write ``<stem>.pt`` and ``<stem>.json`` atomically (see
        :func:`~optvol.core.common.model_files.write_model_files`); return their paths."""
        import torch

        return save_model(
            stem, WEIGHTS_SUFFIX, lambda buffer: torch.save(self.state_dict, buffer), self.card
        )

    @classmethod
    def load(cls, stem: str | Path) -> TrainedGRU:
        """Read a saved model, checking the weights against the card's sha256."""
        import torch

        weights, card = read_model_files(stem, WEIGHTS_SUFFIX, GruCard)
        check_card(card, Path(stem).with_suffix(".json"))
        try:
            state = torch.load(io.BytesIO(weights), weights_only=True, map_location="cpu")
        except Exception as error:  # noqa: BLE001 - any unpickling failure: not our weights
            raise OptvolInputError(
                f"{Path(stem).with_suffix(WEIGHTS_SUFFIX)} is not a state_dict of optvol's "
                f"GRU ({type(error).__name__}): re-train gru_model"
            ) from None
        trained = cls(state, card)
        try:
            trained.model()
        except (RuntimeError, KeyError, TypeError, ValueError) as error:
            raise OptvolInputError(
                f"{Path(stem).with_suffix(WEIGHTS_SUFFIX)} does not fit the architecture of "
                f"its card ({excerpt(str(error), 200)}): re-train gru_model"
            ) from None
        return trained


def check_card(card: GruCard, path: Path) -> None:
    """Refuse a GRU model card whose values a prediction reads are out of range (their
    types are the card's own): a finite positive correction bound, shrinkage and the
    clock's share in [0, 1],
    standardizers of the model's input widths with finite means and positive finite
    deviations, and training dates. A wrong width would broadcast into a wrong price, a
    NaN bound into a null one."""
    problems = []
    bound = card.architecture.max_correction
    if not np.isfinite(bound) or bound <= 0:
        problems.append(f"architecture.max_correction is {bound!r}, not a positive number")
    shrinkage = card.architecture.shrinkage
    if not 0.0 <= shrinkage <= 1.0:
        problems.append(f"architecture.shrinkage is {shrinkage!r}, not in [0, 1]")
    if card.clock is not None and not 0.0 <= card.clock.share <= 1.0:
        problems.append(f"clock.share is {card.clock.share!r}, not in [0, 1]")
    widths = {"static": len(STATIC_FEATURES), "history": len(HISTORY_FEATURES),
              "underlying_return": 1}  # fmt: skip
    for name, width in widths.items():
        entry = getattr(card.scalers, name)
        mean, std = np.asarray(entry.mean, dtype=float), np.asarray(entry.std, dtype=float)
        if mean.shape != (width,) or std.shape != (width,):
            problems.append(
                f"scalers.{name} has {mean.size} means and {std.size} deviations for {width} inputs"
            )
        elif not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            problems.append(f"scalers.{name} holds a non-finite mean or a non-positive deviation")
    if not card.split_dates.get("train"):
        problems.append("split_dates names no training dates")
    if problems:
        raise OptvolInputError(
            f"{path} is not a valid model card: {'; '.join(problems)}; {GruCard.remedy()}"
        )
