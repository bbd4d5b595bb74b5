"""The trained :class:`~optvol.core.options.gru.network.OptionGRU`'s forward pass in NumPy,
for serving.

Serving prices one contract, or a few, per request. At that batch size PyTorch spends
its time dispatching operators, not computing: a GRU step costs about 20 µs on this
project's 2-core machine, the whole forward 0.6-0.9 ms. The same arithmetic in NumPy
float32 costs a third of that, so the API prices from this copy of the network.
Training and evaluation keep PyTorch; :func:`numpy_network` is built from the trained
module's own weights and refuses a layer it does not know, and a test holds its
prices to PyTorch's within float32 rounding (they differ by about 1e-7, relatively).

The equations are PyTorch's (``torch.nn.GRU``, after Cho et al. 2014):

.. math::

   r_t = \\sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}), \\quad
   z_t = \\sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}),

   n_t = \\tanh(W_{in} x_t + b_{in} + r_t \\odot (W_{hn} h_{t-1} + b_{hn})), \\quad
   h_t = (1 - z_t) \\odot n_t + z_t \\odot h_{t-1},

with ``h_0 = 0`` and, in a stack, layer ``l``'s ``h_t`` as layer ``l+1``'s ``x_t``
(dropout between layers is off in eval mode). The head is the module's own sequence
of linear maps and exact GELUs, ``x Phi(x)`` (Hendrycks and Gimpel 2016), whose outputs
are the coefficients of the drivers, and the correction is bounded and shrunk as
:meth:`OptionGRU.iv_correction` says; the
output layer is Black-Scholes over the strike as in
:func:`optvol.core.options.gru.network.bs_price_over_strike`, priced by
:func:`optvol.core.options.pricing.black_scholes.bs_price` with a strike of 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, ndtr
from torch import nn

from optvol.core.options.gru.network import IV_CORRECTION_SCALE, MIN_VOL, OptionGRU
from optvol.core.options.pricing.black_scholes import bs_price

_F32 = np.float32


@dataclass(frozen=True)
class _GRULayer:
    w_ih: np.ndarray  # (3H, inputs): rows r, z, n
    w_hh: np.ndarray  # (3H, H)
    b_ih: np.ndarray
    b_hh: np.ndarray

    def run(self, x: np.ndarray) -> np.ndarray:
        """Hidden states of every step, ``(N, L, H)``, of the inputs ``x`` ``(N, L, F)``."""
        H = self.w_hh.shape[1]
        # The input projections of every step at once; only h_{t-1} is sequential.
        projected = x @ self.w_ih.T + self.b_ih
        h = np.zeros((len(x), H), _F32)
        out = np.empty((len(x), x.shape[1], H), _F32)
        for t in range(x.shape[1]):
            gates_h = h @ self.w_hh.T + self.b_hh
            reset_update = expit(projected[:, t, : 2 * H] + gates_h[:, : 2 * H])
            new = np.tanh(projected[:, t, 2 * H :] + reset_update[:, :H] * gates_h[:, 2 * H :])
            update = reset_update[:, H:]
            h = (1 - update) * new + update * h
            out[:, t] = h
        return out


def _gelu(x: np.ndarray) -> np.ndarray:
    return x * ndtr(x)


def _run(layers, x: np.ndarray) -> np.ndarray:
    for kind, weight, bias in layers:
        x = x @ weight.T + bias if kind == "linear" else _gelu(x)
    return x


def _copied(sequential: nn.Sequential) -> tuple:
    """The layers of ``sequential`` as NumPy float32 (dropout, the identity in eval mode,
    left out); a layer this module cannot run is an error."""
    layers = []
    for layer in sequential:
        if isinstance(layer, nn.Linear):
            bias = None if layer.bias is None else layer.bias.detach().cpu().numpy().astype(_F32)
            weight = layer.weight.detach().cpu().numpy().astype(_F32)
            layers.append(("linear", weight, np.zeros(len(weight), _F32) if bias is None else bias))
        elif isinstance(layer, nn.GELU) and layer.approximate == "none":
            layers.append(("gelu", None, None))
        elif not isinstance(layer, nn.Dropout):  # dropout is the identity in eval mode
            raise ValueError(f"the NumPy forward cannot run a {layer!r} layer")
    return tuple(layers)


@dataclass(frozen=True)
class NumpyOptionGRU:
    """An :class:`OptionGRU` in eval mode, as NumPy float32 arrays."""

    layers: tuple[_GRULayer, ...]
    head: tuple[tuple[str, np.ndarray | None, np.ndarray | None], ...]
    max_correction: float
    shrinkage: float
    drivers: int
    slope: tuple[tuple[str, np.ndarray | None, np.ndarray | None], ...] | None
    slope_columns: tuple[int, ...]

    def final_hidden(self, sequence: np.ndarray) -> np.ndarray:
        """The last layer's hidden state after the last step, ``(N, H)``: all the network
        reads of the sequence, so it can be computed once per sequence and kept."""
        x = sequence
        for layer in self.layers:
            x = layer.run(x)
        return x[:, -1]

    def correction_of(self, hidden: np.ndarray, static: np.ndarray) -> np.ndarray:
        """The bounded, shrunk vol correction from :meth:`final_hidden` and the static
        inputs."""
        split = static.shape[1] - self.drivers
        state, drivers = static[:, :split], static[:, split:]
        out = _run(self.head, np.concatenate([hidden, state], axis=1))
        if self.slope is None:
            raw = out[:, 0] + (out[:, 1:] * drivers).sum(axis=1)
        else:
            slopes = _run(self.slope, state[:, list(self.slope_columns)])
            raw = out[:, 0] + (slopes * drivers).sum(axis=1)
        bound = _F32(self.max_correction)
        scaled = np.tanh(_F32(IV_CORRECTION_SCALE) * raw / bound)
        return _F32(self.shrinkage) * bound * scaled

    def iv_correction(self, sequence: np.ndarray, static: np.ndarray) -> np.ndarray:
        return self.correction_of(self.final_hidden(sequence), static)

    def price_from(self, hidden: np.ndarray, static: np.ndarray, pricing: np.ndarray) -> np.ndarray:
        """:meth:`__call__` from the sequence's :meth:`final_hidden`."""
        moneyness, tau, anchor_iv, is_call, r, q = pricing.T
        sigma = np.maximum(anchor_iv + self.correction_of(hidden, static), _F32(MIN_VOL))
        # Black-Scholes with a strike of 1 is the price over the strike. The network clamps
        # sigma*sqrt(tau) at 1e-6 where bs_price takes the limit: the same price there.
        return bs_price(moneyness, 1.0, tau, r, q, sigma, is_call > 0.5).astype(_F32)

    def __call__(self, sequence: np.ndarray, static: np.ndarray, pricing: np.ndarray) -> np.ndarray:
        """Price over strike of each sample, float32 ``(N,)``; the inputs as
        :meth:`OptionGRU.forward` takes them (float32), ``pricing`` being
        ``(S/K, tau, iv, is_call, r, q)``."""
        return self.price_from(self.final_hidden(sequence), static, pricing)


def numpy_network(model: OptionGRU) -> NumpyOptionGRU:
    """The NumPy copy of ``model``'s weights; a layer this module cannot run is an error,
    never a silently different network."""
    gru = model.gru
    if gru.bidirectional or not gru.batch_first or not gru.bias or gru.proj_size:
        raise ValueError("only a unidirectional, batch-first GRU with biases can be copied")
    weights = {name: p.detach().cpu().numpy().astype(_F32) for name, p in gru.named_parameters()}
    layers = tuple(
        _GRULayer(
            *(weights[f"{kind}_l{k}"] for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        )  # fmt: skip
        for k in range(gru.num_layers)
    )
    slope = None if model.slope is None else _copied(model.slope)
    return NumpyOptionGRU(
        layers, _copied(model.head), model.max_correction, model.shrinkage, model.drivers,
        slope, tuple(model.slope_columns),
    )  # fmt: skip
