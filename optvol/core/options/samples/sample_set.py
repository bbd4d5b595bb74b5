"""What :func:`~optvol.core.options.samples.build.build_samples` returns: the samples
of a set of option quotes (:class:`OptionSamples`) and, for serving, every usable quote by
contract (:class:`ContractQuotes`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from optvol.core.common.row_chunks import map_rows
from optvol.core.options.samples.baselines import ANCHOR
from optvol.core.options.samples.config import SampleConfig
from optvol.core.options.samples.features import (
    PreviousQuote,
    business_time_vol,
    pricing_inputs,
)
from optvol.core.options.samples.fitted import FittedBaselines
from optvol.core.options.samples.inputs import (
    MarketDays,
    SampleContext,
    anchor_vol,
    inputs_at_spot,
)


@dataclass
class OptionSamples:
    """The samples of a set of option quotes, with everything a model needs to train.

    Attributes
    ----------
    rows : DataFrame
        One row per sample: ``quote_date, expiration, option_type, strike,
        underlying, dte_days, tau``, ``carry`` (the ``t-1`` carry it is priced at),
        ``forward_fallback`` (True where the ``t-1`` expiry had no parity forward and
        ``carry`` is the configured ``r - q``), ``mid`` (the target, in dollars),
        ``split``, and one column per baseline price (``BASELINES``).
    static : ndarray (N, len(STATIC_FEATURES)), float32
        Static inputs, unscaled.
    history : ndarray (n_slots, len(HISTORY_FEATURES)), float32
        Per-contract daily history, unscaled; 0 on slots without a quote.
    quoted : ndarray (n_slots,), bool
        Whether a slot holds a usable quote.
    slot_day : ndarray (n_slots,), int32
        Calendar day index of each slot (-1 for padding).
    sample_slot : ndarray (N,), int64
        The slot of each sample's own day ``t``; its window is the ``L`` slots before.
    sample_day : ndarray (N,), int64
        Calendar day index of ``t``.
    underlying_return : ndarray (n_days,), float32
        Log return of the underlying into each calendar day (0 on the first).
    calendar : ndarray (n_days,), datetime64[ns]
        The data's trading days.
    target_iv : ndarray (N,), float64
        The implied vol solved from the target mid at ``t`` (NaN where none solves): what
        the fitted baselines are fitted on and what bounds the model's correction, read on
        training samples only.
    split_dates : dict
        First and last date of each split.
    fingerprint : str
        sha256 of the inputs and targets, to tie a model to the data it saw.
    context : SampleContext
        What each sample's inputs at ``t`` are computed from besides ``S_t``
        (:func:`~optvol.core.options.samples.inputs.inputs_at_spot`).
    market : MarketDays
        Each calendar day's smoothed surface and the running sums of squared returns.
    fitted : FittedBaselines
        The parameters of ``leverage_bs`` and ``hull_white_bs``, fitted on the training
        samples.
    anchor : str
        The baseline whose vol the network corrects (one of ``ANCHOR_CANDIDATES``):
        :attr:`anchor_iv`.
    carry_shrinkage : float
        How much of the ``t-1`` carry's distance from the configured one the network
        prices ``t`` with (:func:`~optvol.core.options.samples.features.shrunk_carry`).
    business_time : float
        The share of the business-time vol change the network's anchor takes
        (:func:`~optvol.core.options.samples.features.business_time_vol`).
    spot_of_day : ndarray (n_days,), float64
        The underlying's price of each calendar day (the median of its quotes).
    quotes : ContractQuotes or None
        Every usable quote by contract, kept only when asked for (serving needs it,
        training does not).
    expiry_carry : Series or None
        The parity carry of each expiry on each day it has one, indexed by ``(day,
        expiry, root)`` (expiry as int64 nanoseconds): what a caller's own history of a
        contract is priced at (:meth:`carry_on`).
    """

    rows: pd.DataFrame
    static: np.ndarray
    history: np.ndarray
    quoted: np.ndarray
    slot_day: np.ndarray
    sample_slot: np.ndarray
    sample_day: np.ndarray
    underlying_return: np.ndarray
    calendar: np.ndarray
    target_iv: np.ndarray
    split_dates: dict[str, list[str]]
    config: SampleConfig
    context: SampleContext
    market: MarketDays
    fitted: FittedBaselines
    anchor: str = ANCHOR
    carry_shrinkage: float = 1.0
    business_time: float = 0.0
    fingerprint: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    spot_of_day: np.ndarray | None = None
    quotes: ContractQuotes | None = None
    expiry_carry: pd.Series | None = None

    @property
    def split(self) -> np.ndarray:
        return self.rows["split"].to_numpy()

    def indices(self, split: str) -> np.ndarray:
        """Sample indices of one split (``"train"``, ``"validation"``, ``"test"``)."""
        return np.flatnonzero((self.rows["split"] == split).to_numpy())

    def select(self, index: np.ndarray) -> OptionSamples:
        """The samples ``index`` alone, over the same history, calendar and fingerprint:
        what predicting some samples needs, without per-sample arrays of all of them."""
        return replace(
            self,
            rows=self.rows.iloc[index].reset_index(drop=True),
            static=self.static[index],
            sample_slot=self.sample_slot[index],
            sample_day=self.sample_day[index],
            target_iv=self.target_iv[index],
            context=self.context.take(index),
        )

    def underlying_returns(self) -> np.ndarray:
        """The log return :math:`\\ln(S_t/S_{t-1})` into each sample's day."""
        return np.log(self.rows["underlying"].to_numpy() / self.context.previous_spot)

    @property
    def anchor_iv(self) -> np.ndarray:
        """The implied vol of each sample's :attr:`anchor` baseline moved by the
        :attr:`business_time` share of its business-time change: the vol the network
        corrects (float64)."""
        return business_time_vol(
            self.anchor_vol(self.anchor), self.context.time_change, self.business_time
        )

    def anchor_vol(self, name: str) -> np.ndarray:
        """The vol at which the baseline ``name`` (one of ``ANCHOR_CANDIDATES``) prices
        each sample."""
        return anchor_vol(name, self.context, self.underlying_returns(), self.fitted)

    def classes_of(self, expiration: np.datetime64) -> list[str]:
        """The option classes the data quote the expiry ``expiration`` in (with a parity
        forward on some day)."""
        table = self.expiry_carry
        if table is None or not len(table):
            return []
        expiry = np.datetime64(expiration, "ns").astype(np.int64)
        mine = table.index.get_level_values("expiry") == expiry
        return sorted(set(table.index.get_level_values("root")[mine]))

    def carry_on(self, days: np.ndarray, expiration: np.datetime64, root: str) -> np.ndarray:
        """The carry of the expiry ``expiration`` of option class ``root`` on the calendar
        days ``days``: its parity forward's where the data have one that day, else the
        configured ``r - q``."""
        fallback = self.config.risk_free_rate - self.config.dividend_yield
        table = self.expiry_carry
        if table is None or not len(table):
            return np.full(len(days), fallback)
        expiry = np.datetime64(expiration, "ns").astype(np.int64)
        mine = table.index.get_level_values("expiry") == expiry
        mine &= table.index.get_level_values("root") == root
        by_day = table[mine].groupby(level="day").first()
        return by_day.reindex(np.asarray(days)).fillna(fallback).to_numpy(float)

    def target(self) -> np.ndarray:
        """The normalised target ``mid / strike`` of every sample, so that one network
        serves every strike (Black-Scholes prices are homogeneous of degree one in
        ``(S, K)``)."""
        return (self.rows["mid"].to_numpy() / self.rows["strike"].to_numpy()).astype(np.float32)

    def inputs_at(
        self, spot: np.ndarray, index: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The static inputs (unscaled, float32) and the pricing inputs of every sample
        (or of the samples ``index``) priced at the underlying prices ``spot`` instead of
        its own ``S_t`` (:func:`~optvol.core.options.samples.inputs.inputs_at_spot`), in
        row chunks."""
        context = self.context if index is None else self.context.take(index)

        def at(rows: slice) -> dict[str, np.ndarray]:
            part = context.take(rows)
            inputs = inputs_at_spot(spot[rows], part, self.market, self.fitted, self.config)
            pricing = pricing_inputs(
                spot[rows], part.strike, part.tau,
                business_time_vol(inputs.vols[self.anchor], part.time_change, self.business_time),
                part.is_call, part.previous.carry, self.config, self.carry_shrinkage,
            )  # fmt: skip
            return {"static": inputs.static, "pricing": pricing}

        out = map_rows(len(spot), at)
        return out["static"], out["pricing"]

    def hedge_targets(self) -> tuple[np.ndarray, np.ndarray]:
        """Per sample, the change of its mid from ``t-1`` over the strike and the
        underlying's relative move :math:`\\Delta S/S_{t-1}` (float32): what its one-day
        hedge with the model's own delta at ``t-1`` leaves (:mod:`optvol.core.options.
        hedging`)."""
        rows, context = self.rows, self.context
        change = (rows["mid"].to_numpy() - context.previous.mid) / rows["strike"].to_numpy()
        move = rows["underlying"].to_numpy() / context.previous_spot - 1.0
        return change.astype(np.float32), move.astype(np.float32)

    def pricing_inputs(self) -> np.ndarray:
        """Per sample ``(S_t / K, tau, anchor_iv, is_call, r, q)``: what the network's
        Black-Scholes output layer prices with, all known before ``t``'s quote."""
        rows = self.rows
        return pricing_inputs(
            rows["underlying"].to_numpy(), rows["strike"].to_numpy(), rows["tau"].to_numpy(),
            self.anchor_iv, (rows["option_type"] == "C").to_numpy(), rows["carry"].to_numpy(),
            self.config, self.carry_shrinkage,
        )  # fmt: skip


@dataclass
class ContractQuotes:
    """Every usable quote, sorted by contract and day, with the values computed from it.

    ``contracts`` holds one row per contract (``expiration`` as datetime64[ns],
    ``is_call``, ``strike``, ``first_day``, ``first_quote``, ``quotes``): its first
    calendar day, the position of its first quote in the arrays below and how many it
    has. Each array has one entry per quote.
    """

    contracts: pd.DataFrame
    day: np.ndarray
    slot: np.ndarray
    previous: PreviousQuote  # the quote's own values, in the shape of a t-1 quote
    from_parity: np.ndarray  # whether its carry is its expiry's parity forward's
