"""The option model judged as its users use it: refitted as days arrive, scored on each
day before it is trained on.

Over the sample dates :math:`d_0 < d_1 < \\dots < d_{n-1}`, with ``m = min_train_days``,
``k`` the dates between refits and ``v`` the validation dates of a window
(:class:`~optvol.core.options.samples.SampleConfig`), refit ``j`` (from 0) trains on the
dates before :math:`d_{m + jk - v}`, validates on the ``v`` dates up to
:math:`d_{m + jk - 1}` (early stopping and the share of the correction kept) and is tested
on the ``k`` dates from :math:`d_{m + jk}`.
Every date from :math:`d_m` on is a test date exactly once, and no refit sees a date it is
tested on. Each refit fits the baselines' parameters and the network's scalers on its own
training dates, and its network starts from the previous refit's weights.

Which baseline the network corrects (:mod:`optvol.core.options.gru.anchor`) is decided
from the past alone: at refit ``j``, the candidate with the lowest RMSE over every row
dated up to the end of ``j``'s validation days that a fit before it priced out of sample
(:func:`past_out_of_sample`), ``j``'s own validation days for the first refit. The model
that is saved and served chooses the same way over every date (:func:`anchor_from_past`).

Every model and baseline is scored on the same stitched out-of-sample rows; the
one-split evaluation (``evaluation="split"``) is the special case of one refit.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from optvol.core.common.errors import OptvolInputError
from optvol.core.options.gru.anchor import AnchorChoice, lowest_rmse
from optvol.core.options.gru.artifact import TrainedGRU
from optvol.core.options.gru.config import TrainingConfig
from optvol.core.options.hedging import HedgePairs, hedge_pairs
from optvol.core.options.pricing.black_scholes import bs_price
from optvol.core.options.samples import (
    ANCHOR_CANDIDATES,
    PRACTITIONER,
    SPLITS,
    FittedBaselines,
    OptionSamples,
    SampleConfig,
    anchor_vol,
    dividend_yield_of,
    fit_baselines,
)

log = logging.getLogger(__name__)

__all__ = [
    "Block",
    "WalkForward",
    "anchor_from_past",
    "block_samples",
    "past_out_of_sample",
    "train_option_model",
    "walk_forward",
    "walk_forward_blocks",
]

# The baselines whose parameters each refit fits again, and whose delta is their own.
REFITTED = ("leverage_bs", "hull_white_bs")


@dataclass(frozen=True)
class Block:
    """One refit's dates (first and last of each, inclusive)."""

    number: int
    train: tuple[np.datetime64, np.datetime64]
    validation: tuple[np.datetime64, np.datetime64]
    test: tuple[np.datetime64, np.datetime64]

    def split_dates(self) -> dict[str, list[str]]:
        return {name: [str(first)[:10], str(last)[:10]]
                for name, (first, last) in zip(SPLITS, (self.train, self.validation,
                                                        self.test), strict=True)}  # fmt: skip


def walk_forward_blocks(dates: np.ndarray, config: SampleConfig) -> list[Block]:
    """The refits over the sorted unique sample ``dates`` under ``config`` (see the
    module)."""
    n, first = len(dates), config.min_train_days
    if n <= first:
        raise OptvolInputError(
            f"the samples span {n} quote date(s); a walk-forward evaluation needs more than "
            f"min_train_days={first} (the first training window) to test on any; "
            "lower min_train_days or evaluate with evaluation='split'"
        )
    every = config.refit_every_days_of(n - first)
    blocks = []
    for number, start in enumerate(range(first, n, every)):
        end = min(start + every, n) - 1
        validation = config.validation_days_of(start)
        blocks.append(
            Block(
                number,
                (dates[0], dates[start - validation - 1]),
                (dates[start - validation], dates[start - 1]),
                (dates[start], dates[end]),
            )
        )
    return blocks


def block_samples(samples: OptionSamples, block: Block) -> OptionSamples:
    """The samples split by ``block``'s dates (those after its last test date in no
    split), with the fitted baselines fitted again on its training dates and priced with
    those fits. The samples' arrays are shared, not copied: only the split and the two
    refitted prices are new columns."""
    dates = samples.rows["quote_date"].to_numpy()
    codes = (dates > block.train[1]).astype(np.int8) + (dates > block.validation[1])
    codes[dates > block.test[1]] = -1  # after the block: no split
    rows = samples.rows.copy(deep=False)
    rows["split"] = pd.Categorical.from_codes(codes, SPLITS)
    fitted = _fit_on(samples, np.flatnonzero(codes == 0))
    inside = np.flatnonzero(codes >= 0)
    for name, prices in _refitted_prices(samples, fitted, inside).items():
        column = np.full(len(rows), np.nan)
        column[inside] = prices
        rows[name] = column
    return replace(samples, rows=rows, fitted=fitted, split_dates=block.split_dates())


def _fit_on(samples: OptionSamples, train: np.ndarray) -> FittedBaselines:
    """The fitted baselines' parameters fitted on the samples ``train``."""
    context = samples.context
    return fit_baselines(
        context.previous.take(train), samples.target_iv[train],
        samples.underlying_returns()[train], context.dte_days[train],
        context.call_delta[train], context.vega[train], context.day[train],
    )  # fmt: skip


def _refitted_prices(
    samples: OptionSamples,
    fitted: FittedBaselines,
    index: np.ndarray | None = None,
    spot: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The prices of the refitted baselines with ``fitted`` of the samples ``index`` (all
    by default) at the underlying prices ``spot`` (their own ``S_t`` by default)."""
    context = samples.context if index is None else samples.context.take(index)
    if spot is None:
        spot = samples.rows["underlying"].to_numpy()
        spot = spot if index is None else spot[index]
    returns = np.log(spot / context.previous_spot)
    config = samples.config
    return {
        name: bs_price(
            spot,
            context.strike,
            context.tau,
            config.risk_free_rate,
            dividend_yield_of(context.previous.carry, config),
            anchor_vol(name, context, returns, fitted),
            context.is_call,
        )  # fmt: skip
        for name in REFITTED
    }


def blocks_of(samples: OptionSamples) -> list[Block]:
    """The walk-forward refits of ``samples`` under their config."""
    return walk_forward_blocks(np.unique(samples.rows["quote_date"].to_numpy()), samples.config)


def past_out_of_sample(samples: OptionSamples, blocks: list[Block]) -> dict[str, np.ndarray]:
    """Each anchor candidate's price of every sample that a walk-forward fit priced out of
    sample: the first refit's validation and test days, then each refit's test days (NaN
    elsewhere). Only the baselines are fitted: this costs least-squares fits, no network."""
    rows = samples.rows
    dates = rows["quote_date"].to_numpy()
    prices = {name: np.full(len(rows), np.nan) for name in ANCHOR_CANDIDATES}
    prices[PRACTITIONER][:] = rows[PRACTITIONER].to_numpy()
    for block in blocks:
        first = block.validation[0] if block.number == 0 else block.test[0]
        fitted = _fit_on(samples, np.flatnonzero(dates <= block.train[1]))
        scored = np.flatnonzero((dates >= first) & (dates <= block.test[1]))
        for name, values in _refitted_prices(samples, fitted, scored).items():
            prices[name][scored] = values
    before = dates < (blocks[0].validation[0] if blocks else dates.max())
    prices[PRACTITIONER][before] = np.nan
    return prices


def anchor_up_to(
    samples: OptionSamples, prices: dict[str, np.ndarray], last: np.datetime64
) -> AnchorChoice:
    """The candidate with the lowest RMSE over the out-of-sample ``prices`` dated up to
    ``last``."""
    rows = samples.rows
    dates = rows["quote_date"].to_numpy()
    scored = (dates <= last) & np.isfinite(prices["leverage_bs"])
    return lowest_rmse(
        rows["mid"].to_numpy()[scored], {name: p[scored] for name, p in prices.items()},
        dates[scored], "earlier out-of-sample days",
    )  # fmt: skip


def anchor_from_past(samples: OptionSamples) -> AnchorChoice:
    """The anchor of the model that is saved and served under a walk-forward evaluation:
    chosen on every date the walk-forward prices out of sample (see the module)."""
    prices = past_out_of_sample(samples, blocks_of(samples))
    return anchor_up_to(samples, prices, samples.rows["quote_date"].max())


def train_option_model(samples: OptionSamples, training: TrainingConfig) -> TrainedGRU:
    """The model that is saved and served: trained on ``samples``'s training split, its
    anchor chosen on the walk-forward's out-of-sample past (or, with
    ``evaluation="split"``, on the validation split)."""
    from optvol.core.options.gru.training import train_gru  # PyTorch, when training only

    walk = samples.config.evaluation == "walk_forward"
    anchor = anchor_from_past(samples) if walk else None
    return TrainedGRU.from_training(train_gru(samples, training, anchor=anchor), samples)


@dataclass
class WalkForward:
    """The stitched out-of-sample rows of every refit (terms, mid, every baseline's price,
    ``refit``), the GRU's prices of them, their hedge pairs and a record of each refit."""

    rows: pd.DataFrame
    gru: np.ndarray
    hedge: HedgePairs
    refits: list[dict]
    history: list[dict]  # the last refit's training history, for the loss plot

    def record(self) -> dict:
        """The ``walk_forward`` entry of the evaluation document."""
        dates = self.rows["quote_date"]
        return {
            "test_days": int(dates.nunique()),
            "refits": len(self.refits),
            "first_test_date": str(dates.min())[:10],
            "last_test_date": str(dates.max())[:10],
            "test_rows": int(len(self.rows)),
            "by_refit": self.refits,
        }


def _choices(model: TrainedGRU) -> dict:
    """What a fit chose, as a refit's record holds it (a walk-forward refit's and the one
    split's alike)."""
    shrinkage = model.card.metrics.shrinkage
    return {
        "anchor": model.card.anchor.model_dump(),
        "carry_shrinkage": model.carry_shrinkage,
        "business_time": model.business_time,
        "shrinkage": shrinkage["shrinkage"] if shrinkage else None,
        "shrinkage_candidate": shrinkage.get("candidate") if shrinkage else None,
        "fitted_baselines": model.card.fitted_baselines,
    }


def _refit_record(block: Block, part: OptionSamples, model: TrainedGRU, seconds: float) -> dict:
    metrics = model.card.metrics
    return {
        "refit": block.number,
        "split_dates": block.split_dates(),
        "train_samples": int(len(part.indices("train"))),
        "test_samples": int(len(part.indices("test"))),
        **_choices(model),
        "correction_bound": metrics.correction_bound,
        "best_epoch": metrics.best_epoch,
        "epochs_run": metrics.epochs_run,
        "seconds": round(seconds, 2),
    }


def score_block(
    part: OptionSamples, model: TrainedGRU, device: str
) -> tuple[pd.DataFrame, np.ndarray, HedgePairs]:
    """The test rows of ``part``, the model's prices of them and their hedge pairs."""
    test = part.indices("test")
    rows = part.rows.iloc[test].reset_index(drop=True)
    gru = model.predict(part, test, device)

    def price_at(spot: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "gru": model.predict(part, test, device, spot),
            **_refitted_prices(part, part.fitted, test, spot),
        }

    return rows, gru, hedge_pairs(part, test, price_at)


def walk_forward(
    samples: OptionSamples, training: TrainingConfig, device: str = "cpu"
) -> WalkForward:
    """Refit and test over every block (see the module)."""
    from optvol.core.options.gru.training import train_gru  # PyTorch, when training only

    config = samples.config
    blocks = blocks_of(samples)
    dates = np.unique(samples.rows["quote_date"].to_numpy())
    log.info(
        "Walk-forward: %d refits every %d sample dates from %s, testing %d dates to %s",
        len(blocks), config.refit_every_days_of(int((dates >= blocks[0].test[0]).sum())),
        str(blocks[0].test[0])[:10], int((dates >= blocks[0].test[0]).sum()),
        str(blocks[-1].test[1])[:10],
    )  # fmt: skip
    past = past_out_of_sample(samples, blocks)
    parts, refits, state, history = [], [], None, []
    for block in blocks:
        started = time.perf_counter()
        part = block_samples(samples, block)
        anchor = anchor_up_to(samples, past, block.validation[1])
        result = train_gru(part, training, initial_state=state, anchor=anchor)
        model = TrainedGRU.from_training(result, part)
        parts.append(score_block(part, model, device))
        state = copy.deepcopy(model.state_dict)
        history = result.history
        refits.append(_refit_record(block, part, model, time.perf_counter() - started))
        log.info(
            "Refit %d/%d: trained to %s, tested %s..%s on %d rows in %.1f s",
            block.number + 1, len(blocks), str(block.validation[1])[:10],
            str(block.test[0])[:10], str(block.test[1])[:10], len(parts[-1][0]),
            refits[-1]["seconds"],
        )  # fmt: skip
    rows = pd.concat([p[0].assign(refit=i) for i, p in enumerate(parts)], ignore_index=True)
    return WalkForward(
        rows=rows[[c for c in rows.columns if c != "split"]],
        gru=np.concatenate([p[1] for p in parts]),
        hedge=HedgePairs.concat([p[2] for p in parts]),
        refits=refits,
        history=history,
    )


def single_split(samples: OptionSamples, model: TrainedGRU, device: str = "cpu") -> WalkForward:
    """The one-split evaluation as one refit: ``model`` (trained on ``samples``'s training
    split) scored on their test split."""
    rows, gru, hedge = score_block(samples, model, device)
    record = {"refit": 0, "split_dates": samples.split_dates, **_choices(model)}
    return WalkForward(rows.drop(columns="split").assign(refit=0), gru, hedge, [record],
                       model.card.history)  # fmt: skip
