"""The GRU option-price network and the tensors it reads its batches from.

:class:`OptionGRU` runs a GRU over the sequence of the last ``L`` trading days and
corrects the implied vol of its anchor baseline by a bounded amount: a level from its last
hidden state and the contract's state, plus slopes of the return into ``t`` (the drivers).
Its output layer prices the option with Black-Scholes at the corrected vol, today's spot
and time to expiry (:func:`bs_price_over_strike`), so the network learns how implied vols
move -- a dimensionless quantity shared by all strikes -- while its loss is on prices.
With the correction at zero it is the anchor's vol on the network's clock
(:mod:`optvol.core.options.gru.clock`) at the network's carry
(:mod:`optvol.core.options.gru.carry`; the anchor baseline itself where the clock is
calendar time and the carry is kept whole), which is where training starts.

:class:`SampleTensors` holds the scaled samples on the training device. A batch
is gathered from them by index (:meth:`SampleTensors.batch`): the window of each
sample is read from the per-contract history with the slot indices of
:func:`optvol.core.options.samples.window_indices`, so memory stays linear in the
number of quotes rather than ``N x L x F``. The samples are scaled in row chunks
straight into the arrays the tensors share, with no full-size float64 copy, and reach
a GPU once, from pinned memory (:func:`to_device`); batches are then gathered there.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from optvol.core.options.gru.scalers import (
    Scalers,
    Standardizer,
    fit_scalers,
    padded_returns,
    scaled_slots,
)
from optvol.core.options.hedging import BUMP as HEDGE_BUMP
from optvol.core.options.samples import OptionSamples

__all__ = [
    "OptionGRU",
    "SampleTensors",
    "Scalers",
    "Standardizer",
    "fit_scalers",
    "padded_returns",
    "scaled_slots",
    "to_device",
]


# A head output of 1.0 moves the implied vol by this much (5 vol points).
IV_CORRECTION_SCALE = 0.05
MIN_VOL = 1e-3
_MIN_TOTAL_VOL = 1e-6


def bs_price_over_strike(
    moneyness: torch.Tensor,
    tau: torch.Tensor,
    sigma: torch.Tensor,
    is_call: torch.Tensor,
    r: torch.Tensor,
    q: torch.Tensor,
) -> torch.Tensor:
    """Black-Scholes-Merton price divided by the strike, differentiable in ``sigma``.

    With :math:`m = S/K` and :math:`s = \\sigma\\sqrt{\\tau}`,

    .. math::

       C/K = m e^{-q\\tau} N(d_1) - e^{-r\\tau} N(d_2), \\qquad
       P/K = e^{-r\\tau} N(-d_2) - m e^{-q\\tau} N(-d_1),

       d_1 = \\frac{\\ln m + (r - q)\\tau + s^2/2}{s}, \\quad d_2 = d_1 - s,

    the formula of :func:`optvol.core.options.pricing.black_scholes.bs_price` (Black and Scholes
    1973; Merton 1973) in torch. ``s`` is floored at 1e-6, so at expiry the price is
    the intrinsic value with finite gradients.
    """
    tau = tau.clamp_min(0.0)
    total = (sigma * torch.sqrt(tau)).clamp_min(_MIN_TOTAL_VOL)
    d1 = (torch.log(moneyness) + (r - q) * tau + 0.5 * total * total) / total
    d2 = d1 - total
    disc_s = moneyness * torch.exp(-q * tau)
    disc_k = torch.exp(-r * tau)
    call = disc_s * torch.special.ndtr(d1) - disc_k * torch.special.ndtr(d2)
    put = disc_k * torch.special.ndtr(-d2) - disc_s * torch.special.ndtr(-d1)
    return torch.where(is_call > 0.5, call, put)


class OptionGRU(nn.Module):
    """GRU over the daily history, a bounded implied-vol correction that is linear in the
    drivers (the return into ``t``) with learned coefficients, and a Black-Scholes output
    layer that prices at the corrected vol.

    The last ``drivers`` columns of the static input are the drivers :math:`D_k`, the
    others the contract's state :math:`z`; with :math:`h` the GRU's last hidden state the
    raw correction is

    .. math::

       u = c_0(h, z) + \\sum_{k=1}^{K} c_k(z_s)\\, D_k ,

    the level :math:`c_0` from the head over the history and the state, the slopes
    :math:`c_k` from a small network of the few state columns ``slope_columns``
    (:math:`z_s`: the contract's place on the smile and in time, its vol, the smile's
    slope). The slopes are smooth functions shared by every day, as Hull and White's
    :math:`a + b\\delta + c\\delta^2` is: how a vol moves with the return is learned
    from all days alike, and the model's delta, the derivative of its price in the
    underlying's, is a property of the contract, not of a day it trained on. Without
    ``slope_columns`` the head gives every coefficient.
    """

    def __init__(
        self,
        sequence_features: int,
        static_features: int,
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.1,
        head_size: int = 64,
        max_correction: float = 0.25,
        shrinkage: float = 1.0,
        drivers: int = 0,
        slope_columns: list[int] | None = None,
        slope_size: int = 16,
    ) -> None:
        super().__init__()
        if max_correction <= 0 or not 0 <= shrinkage <= 1:
            raise ValueError(
                f"max_correction must be > 0 and shrinkage in [0, 1], got {max_correction}, "
                f"{shrinkage}"
            )
        if not 0 <= drivers < static_features:
            raise ValueError(f"drivers must be in [0, {static_features}), got {drivers}")
        state = static_features - drivers
        slope_columns = list(slope_columns or [])
        if any(not 0 <= c < state for c in slope_columns):
            raise ValueError(f"slope_columns must index the {state} state columns")
        self.max_correction = float(max_correction)
        self.shrinkage = float(shrinkage)
        self.drivers = int(drivers)
        self.slope_columns = slope_columns
        self.gru = nn.GRU(
            sequence_features,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        separate = bool(slope_columns) and drivers > 0
        self.head = nn.Sequential(
            nn.Linear(hidden_size + state, head_size),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(head_size, head_size),
            nn.GELU(),
            nn.Linear(head_size, 1 if separate else 1 + drivers),
        )
        self.slope = (
            nn.Sequential(
                nn.Linear(len(slope_columns), slope_size),
                nn.GELU(),
                nn.Linear(slope_size, slope_size),
                nn.GELU(),
                nn.Linear(slope_size, drivers),
            )
            if separate
            else None
        )
        # Start exactly at the anchor baseline: no correction.
        for last in (self.head[-1], *([self.slope[-1]] if self.slope is not None else [])):
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def raw_correction(self, hidden: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        """:math:`u` from the GRU's last hidden state and the static inputs; ``static`` may
        stack ``k`` sets of inputs of the same samples, ``(k, B, S)``, which then share
        one dropout mask (so that their differences are the model's, not the mask's)."""
        split = static.shape[-1] - self.drivers
        state, drivers = static[..., :split], static[..., split:]
        x = torch.cat([hidden.expand(*state.shape[:-1], hidden.shape[-1]), state], dim=-1)
        for layer in self.head:
            if isinstance(layer, nn.Dropout):
                if self.training and layer.p > 0:
                    keep = torch.rand(x.shape[-2:], device=x.device) >= layer.p
                    x = x * keep / (1.0 - layer.p)
            else:
                x = layer(x)
        if self.slope is None:
            return x[..., 0] + (x[..., 1:] * drivers).sum(dim=-1)
        slopes = self.slope(state[..., self.slope_columns])
        return x[..., 0] + (slopes * drivers).sum(dim=-1)

    def hidden_of(self, sequence: torch.Tensor) -> torch.Tensor:
        """The GRU's last hidden state of the last layer, ``(B, hidden_size)``."""
        _, hidden = self.gru(sequence)  # hidden: (num_layers, B, hidden_size)
        return hidden[-1]

    def correction_of(self, hidden: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        """:math:`\\lambda b \\tanh(0.05\\, u / b)`: the raw correction ``u`` in vol
        units, bounded by ``b`` (``max_correction``, what the training data support) and
        shrunk by ``lambda`` (``shrinkage``, chosen on validation blocks); near zero it is
        ``0.05 u``, so the bound changes nothing where the network is modest."""
        out = self.raw_correction(hidden, static)
        bound = self.max_correction
        return self.shrinkage * bound * torch.tanh(IV_CORRECTION_SCALE * out / bound)

    def iv_correction(self, sequence: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        """:meth:`correction_of` the GRU's state over ``sequence``."""
        return self.correction_of(self.hidden_of(sequence), static)

    def price(
        self, hidden: torch.Tensor, static: torch.Tensor, pricing: torch.Tensor
    ) -> torch.Tensor:
        """Price over strike from the GRU's state; ``static`` and ``pricing`` may stack
        ``k`` sets of inputs of the same samples (``(k, B, .)``, one dropout mask)."""
        moneyness, tau, anchor_iv, is_call, r, q = pricing.unbind(-1)
        sigma = (anchor_iv + self.correction_of(hidden, static)).clamp_min(MIN_VOL)
        return bs_price_over_strike(moneyness, tau, sigma, is_call, r, q)

    def forward(
        self, sequence: torch.Tensor, static: torch.Tensor, pricing: torch.Tensor
    ) -> torch.Tensor:
        """Price over strike of each sample; ``pricing`` is ``(S/K, tau, iv, is_call, r, q)``."""
        return self.price(self.hidden_of(sequence), static, pricing)


def to_device(values: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """``values`` as a tensor on ``device``. On the CPU it shares the array's memory; on
    CUDA it is copied from page-locked (pinned) host memory with ``non_blocking``, so
    the copy runs asynchronously (PyTorch keeps the pinned block until it is done)."""
    tensor = torch.as_tensor(values)
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


class SampleTensors:
    """Scaled samples on one device, from which batches are gathered by index. With
    ``hedging``, also each sample's inputs at :math:`S_{t-1}(1 \\pm h)` and its hedge
    targets (:meth:`OptionSamples.hedge_targets`), for the hedging term of the loss."""

    def __init__(
        self, samples: OptionSamples, scalers: Scalers, device: torch.device,
        hedging: bool = False,
    ) -> None:  # fmt: skip
        L = samples.config.sequence_length
        self.length = L
        self.device = device
        self.slots = to_device(scaled_slots(samples.history, samples.quoted, scalers), device)
        self.returns = to_device(padded_returns(samples.underlying_return, scalers, L), device)
        self.static = to_device(scalers.static.transform(samples.static), device)
        self.pricing = to_device(samples.pricing_inputs(), device)
        self.target = to_device(samples.target(), device)
        self.sample_slot = to_device(samples.sample_slot, device)
        self.sample_day = to_device(samples.sample_day, device)
        self.offsets = torch.arange(L, device=device)
        # The inputs at the bumped prices are computed per batch (hedge_batch): an epoch
        # draws a few samples a day, and a full chain's every sample at two more prices
        # would double the tensors' memory.
        self.hedging = (samples, scalers) if hedging else None
        if hedging:
            change, move = samples.hedge_targets()
            self.change, self.move = to_device(change, device), to_device(move, device)

    @property
    def sequence_features(self) -> int:
        return self.slots.shape[1] + 1

    @property
    def static_features(self) -> int:
        return self.static.shape[1]

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Sequence ``(B, L, F)``, static ``(B, S)``, pricing inputs ``(B, 6)`` and target
        (mid over strike, ``(B,)``) of the samples ``index``.

        The window of sample ``i`` is the slots ``sample_slot[i] - L .. sample_slot[i] - 1``
        (the contract's days ``t-L .. t-1``) and the returns of the same days.
        """
        slots = self.sample_slot[index, None] - self.length + self.offsets
        days = self.sample_day[index, None] + self.offsets  # padded: day t-L is index t
        sequence = torch.cat([self.slots[slots], self.returns[days].unsqueeze(-1)], dim=-1)
        return sequence, self.static[index], self.pricing[index], self.target[index]

    def hedge_batch(self, index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Static ``(2, B, S)`` and pricing ``(2, B, 6)`` inputs at :math:`S_{t-1}(1 \\pm
        h)`, the change of the mid over the strike and the underlying's relative move
        ``(B,)`` of the samples ``index`` (built with ``hedging``)."""
        samples, scalers = self.hedging
        rows = index.cpu().numpy()
        spot = samples.context.previous_spot[rows]
        static, pricing = zip(
            *(samples.inputs_at(spot * (1.0 + side * HEDGE_BUMP), rows) for side in (1, -1)),
            strict=True,
        )
        static = np.stack([scalers.static.transform(values) for values in static])
        return (
            to_device(static, self.device),
            to_device(np.stack(pricing), self.device),
            self.change[index],
            self.move[index],
        )
