"""The GRU's input standardizers and loss scale, fitted on the training split only, and
the scaled per-day inputs built with them. NumPy only: a saved model's card is read, and
its inputs prepared for serving, without PyTorch."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from optvol.core.common.numeric import nan_to_num
from optvol.core.common.row_chunks import row_chunks
from optvol.core.options.samples import DRIVER_FEATURES, STATIC_FEATURES, OptionSamples

__all__ = ["Scalers", "Standardizer", "fit_scalers", "padded_returns", "scaled_slots"]


@dataclass
class Standardizer:
    """``(x - mean) / std`` per column; a constant column gets ``std = 1``."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Standardizer:
        values = np.asarray(values, dtype=np.float64)
        values = values.reshape(len(values), -1)
        with warnings.catch_warnings():  # an all-NaN column gets mean 0 and std 1 below
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(values, axis=0)
            std = np.nanstd(values, axis=0)
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        return cls(nan_to_num(mean), std)

    def transform(self, values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``(values - mean) / std`` in float64, NaN as 0, stored as float32; computed
        in row chunks, so the float64 temporaries are one chunk's. Written into ``out``
        (float32, the shape of ``values``) when given, else into a new array."""
        values = np.asarray(values)
        width = int(np.prod(values.shape[1:]))
        if out is None:
            out = np.empty(values.shape, np.float32)
        elif out.shape != values.shape or out.dtype != np.float32:
            raise ValueError(
                f"out must be float32 of shape {values.shape}, got {out.dtype} {out.shape}"
            )
        flat, flat_out = values.reshape(len(values), width), out.reshape(len(out), width)
        for rows in row_chunks(len(flat)):
            flat_out[rows] = nan_to_num((flat[rows].astype(np.float64) - self.mean) / self.std)
        return out

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, values: dict[str, list[float]]) -> Standardizer:
        return cls(np.asarray(values["mean"], float), np.asarray(values["std"], float))


@dataclass
class Scalers:
    """The input standardizers of a model and the scale of its loss, all fitted on the
    training split only."""

    static: Standardizer
    history: Standardizer
    underlying_return: Standardizer
    # RMS of the training targets' distance from the baseline price: the loss unit.
    price_scale: float

    _STANDARDIZERS = ("static", "history", "underlying_return")

    def to_dict(self) -> dict:
        return {
            **{name: getattr(self, name).to_dict() for name in self._STANDARDIZERS},
            "price_scale": self.price_scale,
        }

    @classmethod
    def from_dict(cls, values: dict) -> Scalers:
        standardizers = {name: Standardizer.from_dict(values[name]) for name in cls._STANDARDIZERS}
        return cls(**standardizers, price_scale=float(values["price_scale"]))


def fit_scalers(samples: OptionSamples) -> Scalers:
    """Fit every scaler on training data: training samples, and history and returns of
    days up to the last training date (no validation or test day leaks into them)."""
    train = samples.indices("train")
    last_train_day = int(samples.sample_day[train].max())
    history_rows = samples.quoted & (samples.slot_day <= last_train_day)
    anchor_price = samples.rows[samples.anchor].to_numpy() / samples.rows["strike"].to_numpy()
    distance = samples.target()[train] - anchor_price[train]
    static = Standardizer.fit(samples.static[train])
    # The drivers multiply the head's coefficients as they are: 0 stays 0 (no move).
    drivers = slice(len(STATIC_FEATURES) - len(DRIVER_FEATURES), None)
    static.mean[drivers], static.std[drivers] = 0.0, 1.0
    return Scalers(
        static=static,
        history=Standardizer.fit(samples.history[history_rows]),
        underlying_return=Standardizer.fit(samples.underlying_return[1 : last_train_day + 1]),
        price_scale=float(np.sqrt(np.mean(distance**2))) or 1.0,
    )


def scaled_slots(history: np.ndarray, quoted: np.ndarray, scalers: Scalers) -> np.ndarray:
    """Each history slot's scaled values (0 where the contract was not quoted) and, as a
    last column, whether it was quoted: the per-day part of the GRU's sequence input."""
    width = history.shape[1]
    slots = np.empty((len(history), width + 1), np.float32)
    scalers.history.transform(history, out=slots[:, :width])
    slots[~quoted, :width] = 0.0
    slots[:, width] = quoted
    return slots


def padded_returns(underlying_return: np.ndarray, scalers: Scalers, length: int) -> np.ndarray:
    """The underlying's scaled daily returns after ``length`` zeros: the return of day
    ``d`` is at ``d + length``, so day ``t-L`` of a sample near the start reads padding."""
    returns = np.zeros(length + len(underlying_return), np.float32)
    scalers.underlying_return.transform(underlying_return, out=returns[length:])
    return returns
