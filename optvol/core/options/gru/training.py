"""Train the option GRU: one loop a reader can follow from top to bottom.

First the anchor, whose vol the network corrects (:mod:`.anchor`: given by the
walk-forward's past, or chosen on the validation split), and the share of the ``t-1``
carry it prices with (:mod:`.carry`). Then mean squared error of the price
over strike, in units of the training targets' distance from the anchor's price (so the
anchor itself scores about 1), with every training day weighing the same and at most
``samples_per_day`` of a day's samples drawn each epoch (the effective sample is the
number of days); AdamW, gradient clipping, early stopping on the validation loss with the
best weights kept; then the share of the network's correction to keep, chosen on blocks
of validation dates (:mod:`.shrinkage`). Seeded: the same seed, data and device give the
same weights (on CPU, bit for bit). A walk-forward refit starts from the previous fit's
weights (``initial_state``).

``device="auto"`` trains on CUDA when PyTorch sees a GPU: the scaled samples are copied
there once (:class:`~optvol.core.options.gru.network.SampleTensors`) and every batch is
gathered on the GPU. Each epoch's history entry records its wall time and the training
samples per second.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from optvol.core.options.gru.anchor import AnchorChoice, choose_anchor, with_anchor
from optvol.core.options.gru.carry import CarryChoice, fit_carry_shrinkage
from optvol.core.options.gru.clock import ClockChoice, fit_business_time
from optvol.core.options.gru.config import TrainingConfig, resolve_device
from optvol.core.options.gru.network import (
    HEDGE_BUMP,
    OptionGRU,
    SampleTensors,
    Scalers,
    bs_price_over_strike,
    fit_scalers,
    to_device,
)
from optvol.core.options.gru.shrinkage import ShrinkageChoice, choose_shrinkage
from optvol.core.options.samples import (
    DRIVER_FEATURES,
    SLOPE_FEATURES,
    STATE_FEATURES,
    OptionSamples,
)

log = logging.getLogger(__name__)

EVAL_BATCH_SIZE = 8192
# The network's vol correction is bounded by this quantile of the training samples' gaps
# between the target's vol and the anchor's, kept within CORRECTION_RANGE.
CORRECTION_QUANTILE = 0.99
CORRECTION_RANGE = (0.01, 1.0)


@dataclass
class TrainingResult:
    """A trained network with what it needs to predict and what its training did."""

    model: OptionGRU
    scalers: Scalers
    config: TrainingConfig
    device: str
    architecture: dict
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_validation_loss: float = float("nan")
    seconds: float = 0.0
    shrinkage: ShrinkageChoice | None = None
    anchor: AnchorChoice | None = None
    carry: CarryChoice | None = None
    clock: ClockChoice | None = None

    @property
    def samples_per_second(self) -> float:
        """Training samples per second over every epoch's training pass:
        :math:`\\sum_e n_e / \\sum_e s_e`, ``n_e = train_samples``, ``s_e = train_seconds``."""
        seconds = sum(epoch["train_seconds"] for epoch in self.history)
        samples = sum(epoch["train_samples"] for epoch in self.history)
        return samples / seconds if seconds else 0.0


def build_model(architecture: dict) -> OptionGRU:
    return OptionGRU(**architecture)


def correction_bound(samples: OptionSamples) -> float:
    """The largest vol correction the training data support: the ``CORRECTION_QUANTILE``
    of :math:`|\\sigma_t - \\sigma_{anchor}|` over the training samples (the vol solved
    from the target mid less the anchor's), within ``CORRECTION_RANGE``."""
    train = samples.indices("train")
    gap = np.abs(samples.target_iv[train] - samples.anchor_iv[train])
    gap = gap[np.isfinite(gap)]
    bound = float(np.quantile(gap, CORRECTION_QUANTILE)) if len(gap) else CORRECTION_RANGE[0]
    return float(np.clip(bound, *CORRECTION_RANGE))


def architecture_of(tensors: SampleTensors, config: TrainingConfig, bound: float) -> dict:
    return {
        "sequence_features": tensors.sequence_features,
        "static_features": tensors.static_features,
        "hidden_size": config.hidden_size,
        "num_layers": config.num_layers,
        "dropout": config.dropout,
        "head_size": config.head_size,
        "max_correction": bound,
        "shrinkage": 1.0,
        "drivers": len(DRIVER_FEATURES),
        "slope_columns": [STATE_FEATURES.index(name) for name in SLOPE_FEATURES],
        "slope_size": config.slope_size,
    }


@torch.no_grad()
def predict_over_strike(model: nn.Module, tensors: SampleTensors, index: np.ndarray) -> np.ndarray:
    """The model's price over strike of the samples ``index``, in eval mode, in batches
    on the tensors' device; returned to the host once, as float64."""
    model.eval()
    index = to_device(np.asarray(index, dtype=np.int64), tensors.device)
    out = [
        model(*tensors.batch(index[start : start + EVAL_BATCH_SIZE])[:3])
        for start in range(0, len(index), EVAL_BATCH_SIZE)
    ]
    return torch.cat(out).double().cpu().numpy() if out else np.zeros(0)


def _loss(model: nn.Module, tensors: SampleTensors, index: np.ndarray, scale: float) -> float:
    target = tensors.target[to_device(index, tensors.device)].double().cpu().numpy()
    return float(np.mean(((predict_over_strike(model, tensors, index) - target) / scale) ** 2))


def new_optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.AdamW:
    """AdamW over ``model``'s parameters; on CUDA its fused kernel (one launch per step
    for every parameter instead of several per parameter: the same update)."""
    on_cuda = next(model.parameters()).device.type == "cuda"
    return torch.optim.AdamW(
        model.parameters(),
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        fused=True if on_cuda else None,
    )


@dataclass(frozen=True)
class LossUnits:
    """The units of the two terms of the loss: the RMS of the training targets' distance
    from the anchor's price (``price``) and of the anchor's own one-day hedging error
    (``hedge``), both over the strike, so that the anchor scores about 1 on each; and the
    weight of the hedging term."""

    price: float
    hedge: float
    hedge_weight: float


def batch_loss(
    model: OptionGRU,
    tensors: SampleTensors,
    index: torch.Tensor,
    weight: torch.Tensor,
    units: LossUnits,
) -> torch.Tensor:
    """The weighted loss of the samples ``index``: the mean squared error of the price
    over strike and, with a hedging weight, that of the one-day hedging error with the
    model's own delta at ``t-1`` (:mod:`optvol.core.options.hedging`), each in its unit.

    The hedging error of a sample is :math:`\\Delta V/K - \\delta\\,\\Delta S/K` with
    :math:`\\delta = K (f_+ - f_-)/(2 h S_{t-1})`, :math:`f_\\pm` the model's price over
    strike at :math:`S_{t-1}(1 \\pm h)`: the same network, state and dropout mask."""
    sequence, static, pricing, target = tensors.batch(index)
    hidden = model.hidden_of(sequence)
    if not units.hedge_weight:
        error = (model.price(hidden, static, pricing) - target) / units.price
        return torch.mean(weight * error * error)
    bumped_static, bumped_pricing, change, move = tensors.hedge_batch(index)
    prices = model.price(
        hidden, torch.cat([static[None], bumped_static]), torch.cat([pricing[None], bumped_pricing])
    )
    error = (prices[0] - target) / units.price
    hedge = (change - (prices[1] - prices[2]) / (2.0 * HEDGE_BUMP) * move) / units.hedge
    return torch.mean(weight * (error * error + units.hedge_weight * hedge * hedge))


def train_step(
    model: OptionGRU,
    optimizer: torch.optim.Optimizer,
    tensors: SampleTensors,
    index: torch.Tensor,
    weight: torch.Tensor,
    units: LossUnits,
    max_grad_norm: float,
) -> torch.Tensor:
    """One optimisation step on the samples ``index`` with their loss weights ``weight``;
    returns the batch's weighted summed loss as a float64 tensor on the device, so that a
    pass reads its losses back once, not once a step (each read waits for the device)."""
    loss = batch_loss(model, tensors, index, weight, units)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    # foreach: the norms of every gradient in a few kernels (the default on CUDA already;
    # said, so that it stays so).
    on_cuda = weight.device.type == "cuda"
    nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm, foreach=True if on_cuda else None)
    optimizer.step()
    return loss.detach().double() * len(index)


# The unit of the hedging term is measured on at most this many training samples.
HEDGE_UNIT_SAMPLES = 100_000


@torch.no_grad()
def anchor_hedge_rms(tensors: SampleTensors, index: np.ndarray) -> float:
    """The RMS over the samples ``index`` (a seeded draw of :data:`HEDGE_UNIT_SAMPLES` of
    them where there are more) of the one-day hedging error over strike of the anchor's
    own delta: the unit of the hedging term."""
    if len(index) > HEDGE_UNIT_SAMPLES:
        index = np.sort(np.random.default_rng(0).choice(index, HEDGE_UNIT_SAMPLES, False))
    static, pricing, change, move = tensors.hedge_batch(to_device(index, tensors.device))
    up, down = (bs_price_over_strike(*pricing[side].double().unbind(-1)) for side in (0, 1))
    error = change.double() - (up - down) / (2.0 * HEDGE_BUMP) * move.double()
    return float(torch.sqrt(torch.mean(error * error))) or 1.0


def epoch_draw(
    train_day: np.ndarray, config: TrainingConfig, generator: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The positions (into the training samples) of one epoch, shuffled, and their loss
    weights (mean 1): at most ``samples_per_day`` drawn afresh from each day, and with
    ``equal_day_weights`` each day's drawn samples weighing ``1 / count`` of its day."""
    order = generator.permutation(len(train_day))
    if config.samples_per_day:
        # The first samples_per_day of each day in the shuffled order: a uniform draw.
        by_day = np.argsort(train_day[order], kind="stable")
        day_sorted = train_day[order][by_day]
        starts = np.searchsorted(day_sorted, day_sorted, "left")
        rank = np.empty(len(order), np.int64)
        rank[by_day] = np.arange(len(order)) - starts
        order = order[rank < config.samples_per_day]
    if not config.equal_day_weights:
        return order, np.ones(len(order), np.float32)
    days, inverse, counts = np.unique(train_day[order], return_inverse=True, return_counts=True)
    weight = (len(order) / len(days)) / counts[inverse]
    return order, weight.astype(np.float32)


def _train_pass(
    model: OptionGRU,
    optimizer: torch.optim.Optimizer,
    tensors: SampleTensors,
    order: torch.Tensor,
    weight: torch.Tensor,
    units: LossUnits,
    config: TrainingConfig,
) -> tuple[float, int]:
    """One pass over the training samples in ``order``, a batch at a time: the summed
    loss and the number of samples."""
    model.train()
    total = torch.zeros((), dtype=torch.float64, device=tensors.device)
    seen = 0
    for start in range(0, len(order), config.batch_size):
        index = order[start : start + config.batch_size]
        part = weight[start : start + config.batch_size]
        total += train_step(model, optimizer, tensors, index, part, units, config.max_grad_norm)
        seen += len(index)
    return total.item(), seen  # the pass's one wait for the device


def train_gru(
    samples: OptionSamples,
    config: TrainingConfig | None = None,
    initial_state: dict[str, torch.Tensor] | None = None,
    anchor: AnchorChoice | None = None,
) -> TrainingResult:
    """Train :class:`OptionGRU` on the training split, stop early on the validation split.

    The network corrects the vol of ``anchor``, by default the candidate with the lowest
    validation RMSE (:func:`choose_anchor`); ``initial_state`` (a previous fit's weights,
    as a walk-forward refit warm-starts from the fit before it) starts the network instead
    of the zero correction.
    """
    config = config or TrainingConfig()
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)

    anchor = anchor or choose_anchor(samples)
    samples, carry = fit_carry_shrinkage(with_anchor(samples, anchor.anchor))
    samples, clock = fit_business_time(samples)
    scalers = fit_scalers(samples)
    tensors = SampleTensors(samples, scalers, device, hedging=config.hedge_weight > 0)
    train, validation = samples.indices("train"), samples.indices("validation")
    units = LossUnits(
        scalers.price_scale,
        anchor_hedge_rms(tensors, train) if config.hedge_weight else 1.0,
        config.hedge_weight,
    )
    architecture = architecture_of(tensors, config, correction_bound(samples))
    model = build_model(architecture)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    model = model.to(device)
    optimizer = new_optimizer(model, config)
    draws = np.random.default_rng(config.seed)
    train_day = samples.sample_day[train]
    log.info(
        "Training OptionGRU on %s: %d training samples on %d days and %d validation "
        "samples, %d parameters, correcting %s (RMSE by candidate on %d %s: %s), keeping "
        "%.2f of the carry's distance from the configured one and %.2f of the business-time "
        "vol change, %s%s",
        device,
        len(train),
        len(np.unique(train_day)),
        len(validation),
        sum(p.numel() for p in model.parameters()),
        anchor.anchor,
        anchor.days,
        anchor.on,
        {name: round(v, 4) for name, v in anchor.rmse.items()},
        carry.shrinkage,
        clock.share,
        config,
        ", warm-started" if initial_state is not None else "",
    )

    result = TrainingResult(
        model,
        scalers,
        config,
        str(device),
        architecture,
        anchor=anchor,
        carry=carry,
        clock=clock,
    )
    scale = scalers.price_scale
    best_state, stale, started = None, 0, time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        drawn, weight = epoch_draw(train_day, config, draws)
        order = to_device(train[drawn], device)
        total, seen = _train_pass(
            model, optimizer, tensors, order, to_device(weight, device), units, config
        )
        # _train_pass read its summed loss back: the device has finished the pass.
        train_seconds = time.perf_counter() - epoch_start
        train_loss = total / seen
        validation_loss = _loss(model, tensors, validation, scale)
        seconds = time.perf_counter() - epoch_start
        result.history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": validation_loss,
                "seconds": seconds,  # the whole epoch: training pass and validation loss
                "train_seconds": train_seconds,
                "train_samples": seen,
                "samples_per_second": seen / train_seconds,  # of the training pass
            }
        )
        log.info(
            "Epoch %d/%d: train loss %.5f, validation loss %.5f, %.1f s, %.0f samples/s",
            epoch,
            config.epochs,
            train_loss,
            validation_loss,
            seconds,
            seen / train_seconds,
        )
        if not np.isfinite(train_loss):
            raise FloatingPointError(f"training diverged at epoch {epoch}: loss {train_loss}")
        if validation_loss < result.best_validation_loss or best_state is None:
            result.best_epoch, result.best_validation_loss = epoch, validation_loss
            best_state, stale = copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if stale >= config.patience:
                log.info(
                    "Early stop after epoch %d: validation loss has not improved for %d "
                    "epochs; keeping epoch %d (%.5f)",
                    epoch,
                    stale,
                    result.best_epoch,
                    result.best_validation_loss,
                )
                break

    model.load_state_dict(best_state)
    choice = choose_shrinkage(model, tensors, samples)
    model.shrinkage = architecture["shrinkage"] = choice.shrinkage
    result.shrinkage = choice
    log.info(
        "Keeping %.2f of the network's vol correction (bounded at %.3f); the blocks' "
        "choice, the lowest validation loss among the shares no worse than %s in any of "
        "%d date blocks, was %.2f, kept only if significantly better over the validation "
        "days; loss relative to it by share: %s",
        choice.shrinkage,
        architecture["max_correction"],
        anchor.anchor,
        len(choice.blocks),
        choice.candidate,
        {share: [round(v, 3) for v in losses] for share, losses in choice.relative_loss.items()},
    )
    model.eval()
    result.seconds = time.perf_counter() - started
    return result
