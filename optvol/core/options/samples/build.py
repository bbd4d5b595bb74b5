"""Leakage-free samples of the option price task (docs/architecture.md §4).

A sample is an option side (expiration, strike, call/put) on a quote date ``t``
whose quote is usable at ``t`` and on the previous date of the data's calendar,
``t-1``. Its target is the mid at ``t``. Its inputs are only what is known
before the market opens at ``t`` plus today's underlying price:

* static features of day ``t``: the contract terms, ``S_t`` and the time to
  expiry, and values computed from them and from data up to ``t-1`` (the
  underlying's return into ``t``, its 21-day historical vol, the contract's ``t-1``
  implied vol, the ``t-1`` smoothed surface, the sessions to expiry), all computed
  by :func:`~optvol.core.options.samples.inputs.inputs_at_spot`;
* a sequence of the last ``L`` trading days ``t-L .. t-1`` of the contract's own
  history (mid, implied vol, greeks, moneyness, time to expiry), masked on days
  it had no usable quote, and of the underlying's log returns.

No field of the quote at ``t`` (bid, ask, last, IV, greeks, volume, size, nor the
parity forward derived from the mids) enters any input;
``optvol_tests/core/options/samples/test_leakage.py`` proves it by changing them and
comparing the inputs.

The history is kept as one dense array of per-contract slots: contract ``c``
owns ``L`` padding slots followed by one slot per calendar day of its life, so
the window of a sample is the ``L`` slots before the sample's own slot and can be
gathered by index at batch time (:func:`window_indices`) instead of
materialising an ``N x L x F`` tensor.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.row_chunks import map_rows
from optvol.core.options.ingest.clean import is_am_settled
from optvol.core.options.pricing.iv_surface import evaluate_surface, fit_daily_surfaces
from optvol.core.options.samples.baselines import BASELINES
from optvol.core.options.samples.config import SampleConfig
from optvol.core.options.samples.features import (
    HISTORY_FEATURES,
    RECENT_DAYS,
    PreviousQuote,
    cumulative_squares,
    deviation_vs_recent,
    historical_vol_of_returns,
    history_values,
    implied_vols,
    log_moneyness_at,
    option_classes,
    quote_carry,
    trading_days,
    window_indices,
)
from optvol.core.options.samples.fitted import FittedBaselines, fit_baselines
from optvol.core.options.samples.inputs import (
    MarketDays,
    SampleContext,
    baseline_prices_at,
    inputs_at_spot,
    sample_context,
)
from optvol.core.options.samples.sample_set import ContractQuotes, OptionSamples
from optvol.core.options.samples.split import SPLITS, split_of

log = logging.getLogger(__name__)

_QUOTE_COLUMNS = (
    "quote_date",
    "expiration",
    "option_type",
    "strike",
    "underlying_last",
    "mid",
    "iv",
    "tau",
    "dte_days",
    "usable",
)


def _usable_positions(quotes: pd.DataFrame) -> np.ndarray:
    """Row positions of the usable quotes of ``quotes``."""
    missing = [c for c in _QUOTE_COLUMNS if c not in quotes.columns]
    if missing:
        raise OptvolInputError(f"option_quotes lacks the columns {missing}")
    usable = np.flatnonzero(quotes["usable"].to_numpy(bool))
    if not len(usable):
        raise OptvolInputError("option_quotes has no usable quote: nothing to train on")
    return usable


def _gather(quotes: pd.DataFrame, name: str, rows: np.ndarray, dtype=None) -> np.ndarray:
    """Column ``name`` of ``quotes`` at the row positions ``rows``, as ``dtype``; only
    the gathered rows are converted, never a copy of the whole column."""
    values = quotes[name].to_numpy()[rows]
    return values if dtype is None else values.astype(dtype, copy=False)


def _fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        # The bytes of tobytes(), read in place rather than copied.
        digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return digest.hexdigest()


def build_samples(
    quotes: pd.DataFrame,
    config: SampleConfig | None = None,
    keep_quotes: bool = False,
    fitted: FittedBaselines | None = None,
) -> OptionSamples:
    """Build the samples, features, baselines and split of ``option_quotes``.

    With ``keep_quotes`` the result also holds every usable quote by contract
    (:class:`ContractQuotes`), which predicting a contract on any day needs. The fitted
    baselines (``leverage_bs``, ``hull_white_bs``) are fitted on the training samples
    unless ``fitted`` gives them (a trained model's, say).

    Vectorized throughout: sorting, ``searchsorted``, ``bincount`` and fancy indexing,
    with no Python loop over rows, days or contracts. Only the columns it needs are
    read from ``quotes``, and the row-wise computations (implied vols, history, baselines,
    static features) run over chunks of rows
    (:func:`~optvol.core.common.row_chunks.map_rows`), so a full-size table costs its
    inputs and outputs, not many copies of them. Each stage is a function below, in
    the order it runs.
    """
    config = config or SampleConfig()
    usable = _usable_positions(quotes)
    days, day = _trading_days(quotes, usable, config)
    contracts = _sorted_by_contract(quotes, usable, day, days.spot_of_day, config)
    del usable, day
    slots = _slots(contracts, config.sequence_length)
    own, coef, history = _own_quotes(quotes, contracts, slots, len(days.calendar), config)
    previous, has_prev = _previous_quotes(own, slots)
    market = MarketDays(coef, cumulative_squares(days.returns), days.historical_vol)
    keep, counts = _complete(has_prev, contracts, own, previous, days, market, len(slots.first))
    del has_prev

    dte_days = _gather(quotes, "dte_days", contracts.source[keep], np.int64)
    context = _context(keep, contracts, own, previous, slots, history, days, config)
    del previous
    split, split_dates = split_of(days.calendar[contracts.day[keep]], config)
    target_iv = own.iv_from_mid[keep]
    spot = contracts.spot[keep]
    if fitted is None:
        fitted = _fit_on_training(context, target_iv, spot, split, dte_days)
    static, baselines = _priced(spot, context, market, fitted, config)
    rows = _sample_rows(keep, contracts, days.calendar, own, baselines, dte_days, split, context)
    _log_splits(split, split_dates)
    return OptionSamples(
        rows=rows,
        static=static,
        history=history,
        quoted=slots.quoted,
        slot_day=slots.slot_day,
        sample_slot=slots.slot[keep].astype(np.int64),
        sample_day=contracts.day[keep].astype(np.int64),
        underlying_return=np.nan_to_num(days.returns).astype(np.float32),
        calendar=days.calendar,
        target_iv=target_iv,
        split_dates=split_dates,
        config=config,
        context=context,
        market=market,
        fitted=fitted,
        fingerprint=_fingerprint(
            rows["quote_date"].to_numpy("datetime64[ns]"),
            rows["expiration"].to_numpy("datetime64[ns]"),
            contracts.is_call[keep],
            contracts.roots[contracts.root[keep]].astype("U"),
            rows["strike"].to_numpy(),
            rows["mid"].to_numpy(),
            static,
            history,
            np.asarray(sorted(config.to_dict().items()), dtype=str),
        ),
        counts=counts,
        spot_of_day=days.spot_of_day,
        quotes=_contract_quotes(contracts, slots, own) if keep_quotes else None,
        expiry_carry=_expiry_carry(contracts),
    )


@dataclass
class _TradingDays:
    """The data's trading days and per day the underlying: one price (the median of the
    day's quotes), its log return into the day and its historical vol."""

    calendar: np.ndarray
    spot_of_day: np.ndarray
    returns: np.ndarray
    historical_vol: np.ndarray


def _trading_days(
    quotes: pd.DataFrame, usable: np.ndarray, config: SampleConfig
) -> tuple[_TradingDays, np.ndarray]:
    """Stage 1: the calendar and the underlying, and the day of each usable quote (at the
    row positions ``usable``)."""
    calendar, day, spot_of_day = trading_days(
        _gather(quotes, "quote_date", usable, "datetime64[ns]"),
        _gather(quotes, "underlying_last", usable, float),
    )
    returns = np.concatenate([[np.nan], np.diff(np.log(spot_of_day))])
    historical_vol = historical_vol_of_returns(returns, config.historical_vol_days)
    return _TradingDays(calendar, spot_of_day, returns, historical_vol), day


@dataclass
class _Contracts:
    """The usable quotes sorted by contract, then day: ``source`` is each one's row in the
    quotes, ``new_contract`` marks a contract's first quote, ``spot`` is its day's, ``root``
    the code of its option class in ``roots`` ("" where the data name none)."""

    source: np.ndarray
    day: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    expiry: np.ndarray
    new_contract: np.ndarray
    spot: np.ndarray
    root: np.ndarray
    roots: np.ndarray
    carry: np.ndarray
    from_parity: np.ndarray


def _sorted_by_contract(
    quotes: pd.DataFrame, usable: np.ndarray, day: np.ndarray, spot_of_day: np.ndarray,
    config: SampleConfig,
) -> _Contracts:  # fmt: skip
    """Stage 2: the usable quotes (rows ``usable``, on the days ``day``) in contract order,
    with the carry each is priced at (:func:`quote_carry`); a contract is its expiration,
    option class, call/put and strike."""
    strike = _gather(quotes, "strike", usable, float)
    is_call = _gather(quotes, "option_type", usable).astype(str) == "C"
    expiry = _gather(quotes, "expiration", usable, "datetime64[ns]").view(np.int64)
    root, roots = option_classes(quotes, usable)
    order = np.lexsort((day, strike, is_call, root, expiry))
    day, strike, is_call, expiry, root = (
        day[order], strike[order], is_call[order], expiry[order], root[order]
    )  # fmt: skip
    new_contract = np.ones(len(order), dtype=bool)
    new_contract[1:] = (
        (expiry[1:] != expiry[:-1]) | (root[1:] != root[:-1]) | (is_call[1:] != is_call[:-1])
        | (strike[1:] != strike[:-1])
    )  # fmt: skip
    source, spot = usable[order], spot_of_day[day]
    carry, from_parity = quote_carry(quotes, source, spot, config)
    return _Contracts(
        source, day, strike, is_call, expiry, new_contract, spot, root, roots, carry, from_parity
    )


@dataclass
class _Slots:
    """The history slots: each contract owns ``L`` padding slots, then one per calendar
    day from its first quote to its last. ``slot`` is each sorted quote's slot,
    ``quoted`` whether a slot holds a usable quote, ``slot_day`` its day (-1: padding)."""

    first: np.ndarray
    slot: np.ndarray
    n_slots: int
    quoted: np.ndarray
    slot_day: np.ndarray


def _slots(contracts: _Contracts, length: int) -> _Slots:
    """Stage 3: lay out the slots of every contract."""
    day, new_contract = contracts.day, contracts.new_contract
    first = day[new_contract]
    last = np.append(day[np.flatnonzero(new_contract)[1:] - 1], day[-1])
    span = last - first + 1 + length
    offset = np.concatenate([[0], np.cumsum(span)[:-1]])
    contract = np.cumsum(new_contract) - 1
    slot = offset[contract] + length + day - first[contract]
    del contract
    n_slots = int(span.sum())
    quoted = np.zeros(n_slots, dtype=bool)
    quoted[slot] = True
    slot_contract = np.repeat(np.arange(len(first)), span)
    within = np.arange(n_slots) - offset[slot_contract] - length
    slot_day = np.where(within >= 0, first[slot_contract] + within, -1).astype(np.int32)
    return _Slots(first, slot, n_slots, quoted, slot_day)


def _own_quotes(
    quotes: pd.DataFrame,
    contracts: _Contracts,
    slots: _Slots,
    n_days: int,
    config: SampleConfig,
) -> tuple[PreviousQuote, np.ndarray, np.ndarray]:
    """Stage 4: each quote's own values (mid, implied vols, its distance to the day's
    smoothed surface, moneyness, tau), the surface of each day and the history array.

    A contract's IV minus the day's surface separates the persistent shape of the smile
    from a one-day shock to the contract's or its expiry's vols.
    """
    source, day, spot = contracts.source, contracts.day, contracts.spot
    strike, is_call = contracts.strike, contracts.is_call
    mid = _gather(quotes, "mid", source, float)
    tau = _gather(quotes, "tau", source, float)
    carry = contracts.carry
    log_moneyness = np.log(spot / strike) + carry * tau
    iv_from_mid, iv = implied_vols(
        mid, spot, strike, tau, _gather(quotes, "iv", source, float), is_call, carry, config
    )
    coef = fit_daily_surfaces(day, -log_moneyness, tau, iv, is_call, n_days)
    history = np.zeros((slots.n_slots, len(HISTORY_FEATURES)), dtype=np.float32)

    def fill_history(rows: slice) -> dict[str, np.ndarray]:
        """Write the history of the quotes ``rows`` into their slots."""
        iv_minus_surface = iv[rows] - evaluate_surface(
            coef[day[rows]], -log_moneyness[rows], tau[rows]
        )
        values = history_values(
            mid[rows], spot[rows], strike[rows], tau[rows], iv[rows], is_call[rows],
            iv_minus_surface, carry[rows], config,
        )  # fmt: skip
        history[slots.slot[rows]] = np.nan_to_num(values)  # a missing IV is 0 with its greeks
        return {"iv_minus_surface": iv_minus_surface}

    iv_minus_surface = map_rows(len(source), fill_history)["iv_minus_surface"]
    own = PreviousQuote(mid, iv, iv_from_mid, iv_minus_surface, log_moneyness, tau, carry)
    return own, coef, history


def _previous_day(values: np.ndarray, slots: _Slots) -> np.ndarray:
    """Each sorted quote's contract's ``values`` on the previous calendar day, NaN where
    it had no usable quote."""
    by_slot = np.full(slots.n_slots, np.nan)
    by_slot[slots.slot] = values
    return by_slot[slots.slot - 1]


def _previous_quotes(own: PreviousQuote, slots: _Slots) -> tuple[PreviousQuote, np.ndarray]:
    """Stage 5: each quote's contract on the previous calendar day (NaN where it had no
    usable quote), and whether it had one: a sample needs the slot before its own."""
    previous = PreviousQuote(
        **{name: _previous_day(values, slots) for name, values in own.__dict__.items()}
    )
    return previous, slots.quoted[slots.slot - 1]


def _complete(
    has_prev: np.ndarray,
    contracts: _Contracts,
    own: PreviousQuote,
    previous: PreviousQuote,
    days: _TradingDays,
    market: MarketDays,
    n_contracts: int,
) -> tuple[np.ndarray, dict[str, int]]:
    """Stage 6: the sorted quotes that make a sample (a quote at ``t-1`` and every input a
    baseline prices with: the ``t-1`` vols, the ``t-1`` surface at today's point and the
    return into ``t``) and the counts of the rest, logged with why rows with a previous
    quote lack a baseline. Raises OptvolInputError when there is no sample."""
    candidates = np.flatnonzero(has_prev)

    def surface_at_t(rows: slice) -> dict[str, np.ndarray]:
        at = candidates[rows]
        before, day = previous.take(at), contracts.day[at]
        moneyness = log_moneyness_at(contracts.spot[at], contracts.strike[at], own.tau[at], before)
        coef = market.surface_coef[np.maximum(day - 1, 0)]
        return {"iv": evaluate_surface(coef, -moneyness, own.tau[at])}

    surface = np.full(len(has_prev), np.nan)
    surface[candidates] = map_rows(len(candidates), surface_at_t)["iv"]
    lacking = {
        "t-1 implied vol": ~np.isfinite(previous.iv + previous.iv_from_mid),
        "t-1 surface (too few out-of-the-money quotes that day)": ~np.isfinite(surface),
        "return of the underlying into the day": ~np.isfinite(days.historical_vol[contracts.day]),
    }
    complete = has_prev & ~np.any(list(lacking.values()), axis=0)
    counts = {
        "usable_quotes": int(len(contracts.day)),
        "contracts": int(n_contracts),
        "days": int(len(days.calendar)),
        "with_previous_quote": int(has_prev.sum()),
        "without_baseline": int((has_prev & ~complete).sum()),
        "samples": int(complete.sum()),
    }
    reasons = ", ".join(f"{int((has_prev & m).sum())} lack a {k}" for k, m in lacking.items())
    log.info(
        "Samples: %d of %d usable quotes have a quote on the previous day; %d of those "
        "lack a baseline input (%s) and are left out; %d samples over %d contracts and "
        "%d days",
        counts["with_previous_quote"],
        counts["usable_quotes"],
        counts["without_baseline"],
        reasons,
        counts["samples"],
        counts["contracts"],
        counts["days"],
    )
    if not complete.any():
        raise OptvolInputError(
            f"no sample: of {counts['usable_quotes']} usable quotes, "
            f"{counts['with_previous_quote']} have a usable quote of the same contract on "
            f"the previous trading day, and of those {reasons}; every baseline must price "
            "a sample, so the data are too sparse or too short to train on"
        )
    return np.flatnonzero(complete), counts


def _context(
    keep: np.ndarray,
    contracts: _Contracts,
    own: PreviousQuote,
    previous: PreviousQuote,
    slots: _Slots,
    history: np.ndarray,
    days: _TradingDays,
    config: SampleConfig,
) -> SampleContext:
    """Stage 7: what each sample's inputs at ``t`` are computed from besides ``S_t``
    (:class:`SampleContext`)."""
    day = contracts.day[keep].astype(np.int64)
    calendar = days.calendar.astype("datetime64[D]")
    expiry = contracts.expiry[keep].astype("datetime64[ns]").astype("datetime64[D]")
    # The t-1 quote's expiry had no parity forward: priced at the configured carry.
    forward_fallback = _previous_day(contracts.from_parity, slots)[keep] != 1.0
    context = sample_context(
        previous.take(keep), days.spot_of_day[day - 1], contracts.strike[keep],
        contracts.is_call[keep], (calendar[day], calendar[day - 1], expiry), own.tau[keep],
        day, _recent_deviation(history, slots.quoted, slots.slot[keep]), forward_fallback,
        is_am_settled(contracts.roots[contracts.root[keep]]), config,
    )  # fmt: skip
    return context


def _fit_on_training(
    context: SampleContext,
    target_iv: np.ndarray,
    spot: np.ndarray,
    split: pd.Categorical,
    dte_days: np.ndarray,
) -> FittedBaselines:
    """Stage 8: the fitted baselines' parameters, fitted on the training samples only."""
    train = np.flatnonzero(split.codes == 0)
    returns = np.log(spot[train] / context.previous_spot[train])
    fitted = fit_baselines(
        context.previous.take(train), target_iv[train], returns, dte_days[train],
        context.call_delta[train], context.vega[train], context.day[train],
    )  # fmt: skip
    hull_white = fitted.hull_white
    log.info(
        "Fitted on %d training samples: leverage slopes of the vol change on the return, "
        "common %.3f, by bucket %s; Hull-White a %.3f, b %.3f, c %.3f (%d pairs)",
        len(train),
        fitted.leverage.pooled,
        np.array2string(fitted.leverage.by_bucket, precision=2),
        hull_white.a,
        hull_white.b,
        hull_white.c,
        hull_white.pairs,
    )
    return fitted


def _priced(
    spot: np.ndarray,
    context: SampleContext,
    market: MarketDays,
    fitted: FittedBaselines,
    config: SampleConfig,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Stage 9, in row chunks: the static inputs and every baseline's price of the samples
    at their own ``S_t`` (:func:`~optvol.core.options.samples.inputs.inputs_at_spot`)."""

    def price(rows: slice) -> dict[str, np.ndarray]:
        part = context.take(rows)
        inputs = inputs_at_spot(spot[rows], part, market, fitted, config)
        return {"static": inputs.static,
                **baseline_prices_at(spot[rows], part, inputs.vols, config)}  # fmt: skip

    priced = map_rows(len(spot), price)
    return priced.pop("static"), priced


def _sample_rows(
    keep: np.ndarray,
    contracts: _Contracts,
    calendar: np.ndarray,
    own: PreviousQuote,
    baselines: dict[str, np.ndarray],
    dte_days: np.ndarray,
    split: pd.Categorical,
    context: SampleContext,
) -> pd.DataFrame:
    """Stage 10: one row per sample (terms, the carry it is priced at, target, every
    baseline's price, split)."""
    day = contracts.day[keep]
    return pd.DataFrame(
        {
            "quote_date": calendar[day],
            "expiration": contracts.expiry[keep].view("datetime64[ns]"),
            "option_type": pd.Categorical.from_codes(
                np.where(contracts.is_call[keep], 0, 1).astype(np.int8), ["C", "P"]
            ),
            "strike": contracts.strike[keep],
            "root": pd.Categorical.from_codes(contracts.root[keep], contracts.roots),
            "underlying": contracts.spot[keep],
            "dte_days": dte_days,
            "tau": own.tau[keep],
            "carry": context.previous.carry,
            "forward_fallback": context.forward_fallback,
            "mid": own.mid[keep],
            **{name: baselines.pop(name) for name in BASELINES},
            "split": split,
        },
        copy=False,  # fresh arrays: pandas need not copy them into one block
    )


def _log_splits(split: pd.Categorical, split_dates: dict[str, list[str]]) -> None:
    split_counts = np.bincount(split.codes, minlength=len(SPLITS))
    for name, count in zip(SPLITS, split_counts, strict=True):
        if name in split_dates:
            log.info("Split %s: %d samples, %s to %s", name, count, *split_dates[name])


def _recent_deviation(history: np.ndarray, quoted: np.ndarray, sample_slot: np.ndarray):
    """:func:`deviation_vs_recent` of each sample's last ``RECENT_DAYS + 1`` history slots,
    in row chunks (the slots before a contract's first quote are padding, never quoted)."""

    def recent_of(rows: slice) -> dict[str, np.ndarray]:
        slots = window_indices(sample_slot[rows], RECENT_DAYS + 1)
        return {"recent": deviation_vs_recent(history[slots], quoted[slots])}

    return map_rows(len(sample_slot), recent_of)["recent"]


def _expiry_carry(contracts: _Contracts) -> pd.Series:
    """The parity carry of each (day, expiry, option class) that has one."""
    parity = contracts.from_parity
    frame = pd.DataFrame(
        {
            "day": contracts.day[parity],
            "expiry": contracts.expiry[parity],
            "root": contracts.roots[contracts.root[parity]].astype(str),
            "carry": contracts.carry[parity],
        }
    )
    return frame.groupby(["day", "expiry", "root"])["carry"].first()


def _contract_quotes(contracts: _Contracts, slots: _Slots, own: PreviousQuote) -> ContractQuotes:
    """Every usable quote by contract (:class:`ContractQuotes`), for serving."""
    starts = np.flatnonzero(contracts.new_contract)
    frame = pd.DataFrame(
        {
            "expiration": contracts.expiry[starts].astype("datetime64[ns]"),
            "root": contracts.roots[contracts.root[starts]],
            "is_call": contracts.is_call[starts],
            "strike": contracts.strike[starts],
            "first_day": slots.first,
            "first_quote": starts,
            "quotes": np.diff(np.append(starts, len(contracts.day))),
        }
    )
    return ContractQuotes(frame, contracts.day, slots.slot, own, contracts.from_parity)
