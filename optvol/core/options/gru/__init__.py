"""The option GRU: the network with its Black-Scholes layer, the training loop, the
saved artifact (state_dict + card), the card's typed definition and a NumPy forward pass
for serving.

The hyperparameters, the card and the scalers import without PyTorch; the names that
need it are imported on first use, so that reading a config or a card (loading the
Dagster definitions, say) does not pay PyTorch's import of about two seconds."""

from importlib import import_module

from optvol.core.options.gru.card import GruCard
from optvol.core.options.gru.config import TrainingConfig, resolve_device
from optvol.core.options.gru.scalers import Scalers, fit_scalers

_ON_FIRST_USE = {
    "TrainedGRU": "artifact",
    "OptionGRU": "network",
    "SampleTensors": "network",
    "numpy_network": "numpy_forward",
    "TrainingResult": "training",
    "train_gru": "training",
}

__all__ = [
    "GruCard",
    "OptionGRU",
    "SampleTensors",
    "Scalers",
    "TrainedGRU",
    "TrainingConfig",
    "TrainingResult",
    "fit_scalers",
    "numpy_network",
    "resolve_device",
    "train_gru",
]


def __getattr__(name: str):
    if name in _ON_FIRST_USE:
        return getattr(import_module(f"{__name__}.{_ON_FIRST_USE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
