"""The option GRU: the network with its Black-Scholes layer, the training loop, the
saved artifact (state_dict + card), the card's typed definition and a NumPy forward pass
for serving."""

from optvol.core.options.gru.artifact import TrainedGRU
from optvol.core.options.gru.card import GruCard
from optvol.core.options.gru.network import OptionGRU, SampleTensors, Scalers, fit_scalers
from optvol.core.options.gru.numpy_forward import numpy_network
from optvol.core.options.gru.training import (
    TrainingConfig,
    TrainingResult,
    resolve_device,
    train_gru,
)

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
