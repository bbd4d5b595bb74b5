"""The option GRU's hyperparameters and the device it trains on: what a run's config and
a model's card hold. Importing this module does not import PyTorch."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["TrainingConfig", "resolve_device"]


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters of the network and its training (the sequence length ``L`` is
    part of :class:`optvol.core.options.samples.SampleConfig`).

    Every contract of a day shares the day's move, so the sample that matters is the
    number of days: each epoch draws at most ``samples_per_day`` training samples of each
    day (0: all of them), and with ``equal_day_weights`` every day weighs the same in the
    loss, however many contracts it quoted. ``hedge_weight`` weighs the one-day hedging
    error with the model's own delta beside the price error (:func:`batch_loss`): a
    model's price and its derivative in the underlying's are both what it is used for.
    """

    hidden_size: int = 32
    num_layers: int = 1
    head_size: int = 64
    slope_size: int = 16
    dropout: float = 0.1
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 1024
    epochs: int = 20
    patience: int = 3
    max_grad_norm: float = 1.0
    samples_per_day: int = 128
    equal_day_weights: bool = True
    hedge_weight: float = 1.0
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.samples_per_day < 0:
            raise ValueError(f"samples_per_day must be >= 0, got {self.samples_per_day}")
        if not self.hedge_weight >= 0:
            raise ValueError(f"hedge_weight must be >= 0, got {self.hedge_weight}")
        positive = ("hidden_size", "num_layers", "head_size", "slope_size", "batch_size",
                    "epochs", "patience")  # fmt: skip
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        resolve_device(self.device)  # refuses an unknown or unavailable device now

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(name: str) -> torch.device:
    """``"auto"`` is CUDA when present, else CPU; anything else must be available."""
    import torch  # here, not above: reading a config or a card needs no PyTorch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"unknown device {name!r}: {error}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but PyTorch sees no CUDA device")
    return device
