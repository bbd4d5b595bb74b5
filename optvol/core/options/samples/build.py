"""Leakage-free samples of the option price task (DESIGN §4).

A sample is an option side (expiration, strike, call/put) on a quote date ``t``
whose quote is usable at ``t`` and on the previous date of the data's calendar,
``t-1``. Its target is the mid at ``t``. Its inputs are only what is known
before the market opens at ``t`` plus today's underlying price:

* static features of day ``t``: the contract terms, ``S_t``, the rate and the
  time to expiry, and values computed from them and from data up to ``t-1``
  (the underlying's return into ``t``, its 21-day historical vol, the contract's
  ``t-1`` implied vol, the ``t-1`` smoothed surface, the baseline prices);
* a sequence of the last ``L`` trading days ``t-L .. t-1`` of the contract's own
  history (mid, implied vol, greeks, moneyness, time to expiry), masked on days
  it had no usable quote, and of the underlying's log returns.

No field of the quote at ``t`` (bid, ask, last, IV, greeks, volume, size) enters
any input; ``optvol_tests/core/options/samples/test_build.py`` proves it by changing
them and comparing the inputs.

The history is kept as one dense array of per-contract slots: contract ``c``
owns ``L`` padding slots followed by one slot per calendar day of its life, so
the window of a sample is the ``L`` slots before the sample's own slot and can be
gathered by index at batch time (:func:`window_indices`) instead of
materialising an ``N x L x F`` tensor.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.row_chunks import map_rows
from optvol.core.options.pricing.black_scholes import bs_greeks, bs_price, implied_vol
from optvol.core.options.pricing.iv_surface import evaluate_surface, fit_daily_surfaces

log = logging.getLogger(__name__)

TRADING_DAYS_PER_YEAR = 252
# Implied vols are decimals (0.25 is 25%); 5.0 (500%) is beyond any listed SPY option.
MAX_VENDOR_IV = 5.0
SPLITS = ("train", "validation", "test")
# Per-day history of each contract; the sequence adds the mask and the underlying return.
HISTORY_FEATURES = (
    "mid_over_strike",
    "iv",
    "delta",
    "gamma_x_spot",
    "vega_over_strike",
    "theta_over_strike",
    "log_moneyness",
    "tau",
    "iv_minus_surface",
)
SEQUENCE_FEATURES = (*HISTORY_FEATURES, "quoted", "underlying_return")
STATIC_FEATURES = (
    "log_moneyness",
    "tau",
    "sqrt_tau",
    "is_call",
    "rate",
    "underlying_return",
    "historical_vol",
    "prev_iv",
    "prev_iv_from_mid",
    "surface_iv",
    "surface_iv_change",
    "prev_iv_minus_surface",
    "prev_mid_over_strike",
    "practitioner_bs_over_strike",
    "practitioner_bs_mid_iv_over_strike",
    "adhoc_bs_over_strike",
    "historical_bs_over_strike",
)
# The baselines of DESIGN §4, in the order the reports list them; each is a column of
# OptionSamples.rows holding its price of the sample.
BASELINES = (
    "practitioner_bs",
    "practitioner_bs_mid_iv",
    "adhoc_bs",
    "historical_bs",
    "prev_mid",
)
GRU = "gru"  # the model's name in the evaluation, beside the baselines
# What each baseline prices with, for the evaluation document and the report.
BASELINE_DESCRIPTIONS = {
    "practitioner_bs": "Black-Scholes at S_t with the contract's t-1 vendor IV (solved "
    "from the t-1 mid where the vendor has none)",
    "practitioner_bs_mid_iv": "Black-Scholes at S_t with the t-1 IV solved from the t-1 mid "
    "at the configured rate and dividend yield (the GRU corrects this one)",
    "adhoc_bs": "Ad-hoc Black-Scholes (Dumas, Fleming & Whaley 1998): the t-1 IV surface, "
    "quadratic in moneyness and maturity, at today's moneyness",
    "historical_bs": "Black-Scholes with the underlying's 21-day historical volatility",
    "prev_mid": "Yesterday's mid",
}
# The GRU learns a correction to the implied vol of this baseline (OptionSamples.anchor_iv):
# the strongest baseline, since its implied vol is solved with the same rate and dividend
# yield it reprices with, while a vendor's IV may assume another rate.
ANCHOR = "practitioner_bs_mid_iv"
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


@dataclass(frozen=True)
class SampleConfig:
    """How samples are built and split; stored in the model card.

    ``risk_free_rate`` and ``dividend_yield`` are continuously compounded annual rates
    used by every Black-Scholes computation (baselines, greeks, implied vols). The split
    is by whole sample dates: the first ``train_fraction`` of them train, the next
    ``validation_fraction`` validate, the rest test -- unless ``train_end`` and
    ``validation_end`` (inclusive ISO dates) are given.
    """

    sequence_length: int = 20
    risk_free_rate: float = 0.02
    dividend_yield: float = 0.015
    historical_vol_days: int = 21
    train_fraction: float = 0.70
    validation_fraction: float = 0.15
    train_end: str | None = None
    validation_end: str | None = None

    def __post_init__(self) -> None:
        if self.sequence_length < 1:
            raise ValueError(f"sequence_length must be >= 1, got {self.sequence_length}")
        if self.historical_vol_days < 2:
            raise ValueError(f"historical_vol_days must be >= 2, got {self.historical_vol_days}")
        fractions = (self.train_fraction, self.validation_fraction)
        if min(fractions) <= 0 or sum(fractions) >= 1:
            raise ValueError(
                "train_fraction and validation_fraction must be positive and sum to "
                f"less than 1, got {fractions}"
            )
        if (self.train_end is None) != (self.validation_end is None):
            raise ValueError("give both train_end and validation_end, or neither")
        if self.train_end is not None:
            train_end, validation_end = (
                date.fromisoformat(self.train_end), date.fromisoformat(self.validation_end)
            )  # fmt: skip
            if validation_end <= train_end:
                raise ValueError(
                    f"validation_end {validation_end} must come after train_end {train_end}"
                )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class OptionSamples:
    """The samples of a set of option quotes, with everything a model needs to train.

    Attributes
    ----------
    rows : DataFrame
        One row per sample: ``quote_date, expiration, option_type, strike,
        underlying, dte_days, tau, mid`` (the target, in dollars), ``split``, and one
        column per baseline price (``BASELINES``).
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
    anchor_iv : ndarray (N,), float64
        The implied vol of the ``ANCHOR`` baseline (the contract's IV at ``t-1``, solved
        from its mid); the model predicts a correction to it.
    split_dates : dict
        First and last date of each split.
    fingerprint : str
        sha256 of the inputs and targets, to tie a model to the data it saw.
    spot_of_day : ndarray (n_days,), float64
        The underlying's price of each calendar day (the median of its quotes).
    surface_coef : ndarray (n_days, 6)
        Each day's smoothed implied-vol surface (:func:`fit_daily_surfaces`).
    quotes : ContractQuotes or None
        Every usable quote by contract, kept only when asked for (serving needs it,
        training does not).
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
    anchor_iv: np.ndarray
    split_dates: dict[str, list[str]]
    config: SampleConfig
    fingerprint: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    spot_of_day: np.ndarray | None = None
    surface_coef: np.ndarray | None = None
    quotes: ContractQuotes | None = None

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
            anchor_iv=self.anchor_iv[index],
        )

    def target(self) -> np.ndarray:
        """The normalised target ``mid / strike`` of every sample, so that one network
        serves every strike (Black-Scholes prices are homogeneous of degree one in
        ``(S, K)``)."""
        return (self.rows["mid"].to_numpy() / self.rows["strike"].to_numpy()).astype(np.float32)

    def pricing_inputs(self) -> np.ndarray:
        """Per sample ``(S_t / K, tau, anchor_iv, is_call, r, q)``: what the network's
        Black-Scholes output layer prices with, all known before ``t``'s quote."""
        rows = self.rows
        return pricing_inputs(
            rows["underlying"].to_numpy(), rows["strike"].to_numpy(), rows["tau"].to_numpy(),
            self.anchor_iv, (rows["option_type"] == "C").to_numpy(), self.config,
        )  # fmt: skip


def pricing_inputs(
    underlying: np.ndarray,
    strike: np.ndarray,
    tau: np.ndarray,
    anchor_iv: np.ndarray,
    is_call: np.ndarray,
    config: SampleConfig,
) -> np.ndarray:
    """``(S_t / K, tau, anchor_iv, is_call, r, q)`` of each sample, float32 ``(N, 6)``."""
    columns = (
        underlying / strike, tau, anchor_iv, is_call, config.risk_free_rate,
        config.dividend_yield,
    )  # fmt: skip
    pricing = np.empty((len(underlying), len(columns)), np.float32)
    for i, column in enumerate(columns):  # column by column: no float64 (N, 6) copy
        pricing[:, i] = column
    return pricing


@dataclass
class PreviousQuote:
    """What a contract's quote at ``t-1`` gives the prediction of day ``t`` (float64)."""

    mid: np.ndarray
    iv: np.ndarray
    iv_from_mid: np.ndarray
    iv_minus_surface: np.ndarray
    log_moneyness: np.ndarray
    tau: np.ndarray

    def take(self, index: np.ndarray | slice) -> PreviousQuote:
        """The quotes ``index`` of each field."""
        return PreviousQuote(**{name: values[index] for name, values in self.__dict__.items()})


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


def implied_vols(
    mid: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    tau: np.ndarray,
    vendor_iv: np.ndarray,
    is_call: np.ndarray,
    config: SampleConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """``(iv_from_mid, iv)`` of each quote: the implied vol solved from the mid at the
    configured rate and dividend yield, and the vendor's IV where it has a usable one,
    else the solved one. Solved in row chunks, so the solver's temporaries stay small."""
    r, q = config.risk_free_rate, config.dividend_yield

    def solve(rows: slice) -> dict[str, np.ndarray]:
        return {
            "iv": implied_vol(mid[rows], spot[rows], strike[rows], tau[rows], r, q, is_call[rows])
        }

    iv_from_mid = map_rows(len(mid), solve)["iv"]
    # A vendor IV above MAX_VENDOR_IV is not a decimal vol (a file quoting IV in percent,
    # or a solver failure); the one solved from the mid replaces it.
    has_vendor_iv = np.isfinite(vendor_iv) & (vendor_iv > 0) & (vendor_iv <= MAX_VENDOR_IV)
    return iv_from_mid, np.where(has_vendor_iv, vendor_iv, iv_from_mid)


def history_values(
    mid: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    tau: np.ndarray,
    iv: np.ndarray,
    is_call: np.ndarray,
    iv_minus_surface: np.ndarray,
    config: SampleConfig,
) -> np.ndarray:
    """One row of ``HISTORY_FEATURES`` per quote (float64, NaN where the IV is missing)."""
    # Greeks are recomputed from the IV: vendors differ in greek units and leave them
    # empty where IV is empty, while these are consistent for every contract.
    greeks = bs_greeks(
        spot, strike, tau, config.risk_free_rate, config.dividend_yield, np.nan_to_num(iv),
        is_call,
    )  # fmt: skip
    return np.stack(
        [
            mid / strike,
            iv,
            greeks.delta,
            greeks.gamma * spot,
            greeks.vega / strike,
            greeks.theta / strike,
            np.log(spot / strike),
            tau,
            iv_minus_surface,
        ],
        axis=1,
    )


def baseline_prices(
    spot: np.ndarray,
    strike: np.ndarray,
    tau: np.ndarray,
    is_call: np.ndarray,
    previous: PreviousQuote,
    surface_iv: np.ndarray,
    historical_vol: np.ndarray,
    config: SampleConfig,
) -> dict[str, np.ndarray]:
    """The price of every baseline (``BASELINES``) at ``S_t`` and today's ``tau``."""
    r, q = config.risk_free_rate, config.dividend_yield
    return {
        "practitioner_bs": bs_price(spot, strike, tau, r, q, previous.iv, is_call),
        "practitioner_bs_mid_iv": bs_price(spot, strike, tau, r, q, previous.iv_from_mid, is_call),
        "adhoc_bs": bs_price(spot, strike, tau, r, q, surface_iv, is_call),
        "historical_bs": bs_price(spot, strike, tau, r, q, historical_vol, is_call),
        "prev_mid": previous.mid,
    }


def surface_inputs(
    previous_coef: np.ndarray, log_moneyness: np.ndarray, tau: np.ndarray, previous: PreviousQuote
) -> tuple[np.ndarray, np.ndarray]:
    """``(surface_iv, surface_iv_change)``: the ``t-1`` surface at today's moneyness and
    expiry, and how much it moves the contract's vol from where it was at ``t-1``
    (sticky moneyness rather than sticky strike)."""
    surface_iv = evaluate_surface(previous_coef, -log_moneyness, tau)
    change = surface_iv - evaluate_surface(previous_coef, -previous.log_moneyness, previous.tau)
    return surface_iv, change


def static_features(
    log_moneyness: np.ndarray,
    tau: np.ndarray,
    is_call: np.ndarray,
    strike: np.ndarray,
    underlying_return: np.ndarray,
    historical_vol: np.ndarray,
    previous: PreviousQuote,
    surface: tuple[np.ndarray, np.ndarray],
    baselines: dict[str, np.ndarray],
    config: SampleConfig,
) -> np.ndarray:
    """One row of ``STATIC_FEATURES`` per sample (float32)."""
    surface_iv, surface_iv_change = surface
    return np.stack(
        [
            log_moneyness,
            tau,
            np.sqrt(np.maximum(tau, 0.0)),
            is_call.astype(float),
            np.full(len(tau), config.risk_free_rate),
            np.nan_to_num(underlying_return),
            historical_vol,
            previous.iv,
            np.nan_to_num(previous.iv_from_mid),
            surface_iv,
            surface_iv_change,
            np.nan_to_num(previous.iv_minus_surface),
            previous.mid / strike,
            baselines["practitioner_bs"] / strike,
            baselines["practitioner_bs_mid_iv"] / strike,
            baselines["adhoc_bs"] / strike,
            baselines["historical_bs"] / strike,
        ],
        axis=1,
    ).astype(np.float32)


def window_indices(sample_slot: np.ndarray, length: int) -> np.ndarray:
    """History slots of the days ``t-L .. t-1`` of each sample, shape ``(N, L)``."""
    return sample_slot[:, None] - length + np.arange(length)[None, :]


def window_days(sample_day: np.ndarray, length: int) -> np.ndarray:
    """Calendar day indices ``t-L .. t-1`` of each sample; negative before the calendar."""
    return sample_day[:, None] - length + np.arange(length)[None, :]


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


def historical_vol_of_returns(returns: np.ndarray, days: int) -> np.ndarray:
    """:math:`\\sqrt{252/n \\sum_{i=0}^{n-1} r_{t-i}^2}` over the last ``n`` returns
    up to and including ``t`` (NaN until ``n`` returns exist)."""
    return historical_vol_of_sums(cumulative_squares(returns), days)


def cumulative_squares(returns: np.ndarray) -> np.ndarray:
    """``0`` then the running sum of the squared returns (a missing return counts 0): the
    sums :func:`historical_vol_of_sums` reads, extendable by a day without re-summing."""
    return np.concatenate([[0.0], np.cumsum(np.nan_to_num(returns) ** 2)])


def historical_vol_of_sums(squared: np.ndarray, days: int) -> np.ndarray:
    """:func:`historical_vol_of_returns` from the returns' :func:`cumulative_squares`."""
    out = np.full(len(squared) - 1, np.nan)
    # returns[0] is undefined (no previous day), so day t has t returns behind it.
    t = np.arange(days, len(out))
    out[t] = np.sqrt(TRADING_DAYS_PER_YEAR / days * (squared[t + 1] - squared[t + 1 - days]))
    return out


def _split_of(
    sample_dates: np.ndarray, config: SampleConfig
) -> tuple[pd.Categorical, dict[str, list[str]]]:
    """The split of each sample (a categorical of ``SPLITS``, one byte a sample) and the
    first and last date of each split."""
    unique = np.unique(sample_dates)
    if config.train_end is not None:
        train_end = np.datetime64(config.train_end, "ns")
        validation_end = np.datetime64(config.validation_end, "ns")
    else:
        if len(unique) < 3:
            raise OptvolInputError(
                f"the samples span {len(unique)} quote date(s); a chronological "
                "train/validation/test split needs at least 3"
            )
        n_train = max(1, int(round(config.train_fraction * len(unique))))
        n_validation = max(1, int(round(config.validation_fraction * len(unique))))
        n_train = min(n_train, len(unique) - 2)
        n_validation = min(n_validation, len(unique) - n_train - 1)
        train_end = unique[n_train - 1]
        validation_end = unique[n_train + n_validation - 1]

    def code(dates: np.ndarray) -> np.ndarray:
        """0 (train) up to train_end, 1 (validation) up to validation_end, else 2 (test)."""
        return (dates > train_end).astype(np.int8) + (dates > validation_end)

    unique_code = code(unique)
    split_dates = {}
    for i, name in enumerate(SPLITS):
        dates = unique[unique_code == i]
        if not len(dates):
            raise OptvolInputError(
                f"the {name} split has no sample (train_end={str(train_end)[:10]}, "
                f"validation_end={str(validation_end)[:10]}, samples from "
                f"{str(unique[0])[:10]} to {str(unique[-1])[:10]})"
            )
        split_dates[name] = [str(dates[0])[:10], str(dates[-1])[:10]]
    return pd.Categorical.from_codes(code(sample_dates), SPLITS), split_dates


def _fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        # The bytes of tobytes(), read in place rather than copied.
        digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return digest.hexdigest()


def build_samples(
    quotes: pd.DataFrame, config: SampleConfig | None = None, keep_quotes: bool = False
) -> OptionSamples:
    """Build the samples, features, baselines and split of ``option_quotes``.

    With ``keep_quotes`` the result also holds every usable quote by contract
    (:class:`ContractQuotes`), which predicting a contract on any day needs.

    Vectorized throughout: sorting, ``searchsorted``, ``bincount`` and fancy indexing,
    with no Python loop over rows, days or contracts. Only the columns it needs are
    read from ``quotes``, and the row-wise computations (implied vols, history, baselines,
    static features) run over chunks of rows (:func:`~optvol.core.common.row_chunks.map_rows`),
    so a full-size table costs its inputs and outputs, not many copies of them.
    """
    config = config or SampleConfig()
    L = config.sequence_length
    usable = _usable_positions(quotes)

    # Calendar and underlying: one price per day (the median of the day's quotes).
    calendar, day = np.unique(
        _gather(quotes, "quote_date", usable, "datetime64[ns]"), return_inverse=True
    )
    day = day.astype(np.int64)
    spot_of_day = (
        pd.Series(_gather(quotes, "underlying_last", usable, float)).groupby(day).median()
    ).to_numpy()
    log_spot = np.log(spot_of_day)
    returns = np.concatenate([[np.nan], np.diff(log_spot)])
    historical_vol = historical_vol_of_returns(returns, config.historical_vol_days)

    # Contracts, sorted by contract then day; `source` is each sorted quote's row.
    strike = _gather(quotes, "strike", usable, float)
    is_call = _gather(quotes, "option_type", usable).astype(str) == "C"
    expiry = _gather(quotes, "expiration", usable, "datetime64[ns]").view(np.int64)
    order = np.lexsort((day, strike, is_call, expiry))
    source = usable[order]
    day, strike, is_call, expiry = day[order], strike[order], is_call[order], expiry[order]
    del usable, order
    new_contract = np.ones(len(source), dtype=bool)
    new_contract[1:] = (
        (expiry[1:] != expiry[:-1]) | (is_call[1:] != is_call[:-1]) | (strike[1:] != strike[:-1])
    )
    contract = np.cumsum(new_contract) - 1
    spot = spot_of_day[day]
    mid = _gather(quotes, "mid", source, float)
    tau = _gather(quotes, "tau", source, float)
    vendor_iv = _gather(quotes, "iv", source, float)

    # Slots: L padding slots, then one per calendar day from the contract's first quote
    # to its last.
    first = day[new_contract]
    last = np.append(day[np.flatnonzero(new_contract)[1:] - 1], day[-1])
    span = last - first + 1 + L
    offset = np.concatenate([[0], np.cumsum(span)[:-1]])
    slot = offset[contract] + L + day - first[contract]
    n_slots = int(span.sum())
    del contract

    log_moneyness = np.log(spot / strike)
    iv_from_mid, iv = implied_vols(mid, spot, strike, tau, vendor_iv, is_call, config)
    del vendor_iv
    # Each day's smoothed surface; a contract's IV minus it separates the persistent
    # shape of the smile from a one-day shock to the contract's or its expiry's vols.
    coef = fit_daily_surfaces(day, -log_moneyness, tau, iv, is_call, len(calendar))
    history = np.zeros((n_slots, len(HISTORY_FEATURES)), dtype=np.float32)

    def fill_history(rows: slice) -> dict[str, np.ndarray]:
        """Write the history of the quotes ``rows`` into their slots."""
        iv_minus_surface = iv[rows] - evaluate_surface(
            coef[day[rows]], -log_moneyness[rows], tau[rows]
        )
        values = history_values(
            mid[rows], spot[rows], strike[rows], tau[rows], iv[rows], is_call[rows],
            iv_minus_surface, config,
        )  # fmt: skip
        history[slot[rows]] = np.nan_to_num(values)  # a missing IV is 0 with its greeks
        return {"iv_minus_surface": iv_minus_surface}

    iv_minus_surface = map_rows(len(source), fill_history)["iv_minus_surface"]
    quoted = np.zeros(n_slots, dtype=bool)
    quoted[slot] = True
    slot_contract = np.repeat(np.arange(len(first)), span)
    within = np.arange(n_slots) - offset[slot_contract] - L
    slot_day = np.where(within >= 0, first[slot_contract] + within, -1).astype(np.int32)
    del slot_contract, within

    def previous_day(values: np.ndarray) -> np.ndarray:
        """``values`` of each quote's contract on the previous calendar day (NaN if none)."""
        by_slot = np.full(n_slots, np.nan)
        by_slot[slot] = values
        return by_slot[slot - 1]

    own = PreviousQuote(mid, iv, iv_from_mid, iv_minus_surface, log_moneyness, tau)
    # A sample needs a usable quote at t-1: the slot before its own.
    has_prev = quoted[slot - 1]
    previous = PreviousQuote(
        **{name: previous_day(values) for name, values in own.__dict__.items()}
    )

    market = _Market(day, spot, strike, is_call, returns, historical_vol, coef)
    priced = _priced(market, own, previous, config)
    surface = (priced.pop("surface_iv"), priced.pop("surface_iv_change"))
    baselines = {name: priced.pop(name) for name in BASELINES}
    complete = has_prev & np.all([np.isfinite(v) for v in baselines.values()], axis=0)
    # Why rows with a previous quote lack a baseline, by the input each baseline needs.
    lacking = {
        "t-1 implied vol": ~np.isfinite(baselines["practitioner_bs"] + previous.iv_from_mid),
        "t-1 surface (too few out-of-the-money quotes that day)": ~np.isfinite(surface[0]),
        f"{config.historical_vol_days}-day return history": ~np.isfinite(historical_vol[day]),
    }
    counts = {
        "usable_quotes": int(len(source)),
        "contracts": int(len(first)),
        "days": int(len(calendar)),
        "with_previous_quote": int(has_prev.sum()),
        "without_baseline": int((has_prev & ~complete).sum()),
        "samples": int(complete.sum()),
    }
    reasons = ", ".join(f"{int((has_prev & m).sum())} lack a {k}" for k, m in lacking.items())
    del lacking
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

    keep = np.flatnonzero(complete)
    static = _static_of(keep, market, own, previous, surface, baselines, config)
    anchor_iv = previous.iv_from_mid[keep]
    del previous, surface

    split, split_dates = _split_of(calendar[day[keep]], config)
    rows = pd.DataFrame(
        {
            "quote_date": calendar[day[keep]],
            "expiration": expiry[keep].view("datetime64[ns]"),
            "option_type": pd.Categorical.from_codes(
                np.where(is_call[keep], 0, 1).astype(np.int8), ["C", "P"]
            ),
            "strike": strike[keep],
            "underlying": spot[keep],
            "dte_days": _gather(quotes, "dte_days", source[keep], np.int64),
            "tau": tau[keep],
            "mid": mid[keep],
            **{name: baselines.pop(name)[keep] for name in BASELINES},
            "split": split,
        },
        copy=False,  # fresh arrays: pandas need not copy them into one block
    )
    split_counts = np.bincount(split.codes, minlength=len(SPLITS))
    for name, count in zip(SPLITS, split_counts, strict=True):
        log.info("Split %s: %d samples, %s to %s", name, count, *split_dates[name])

    sample_slot = slot[keep].astype(np.int64)
    sample_day = day[keep].astype(np.int64)
    underlying_return = np.nan_to_num(returns).astype(np.float32)
    fingerprint = _fingerprint(
        rows["quote_date"].to_numpy("datetime64[ns]"),
        rows["expiration"].to_numpy("datetime64[ns]"),
        is_call[keep],
        rows["strike"].to_numpy(),
        rows["mid"].to_numpy(),
        static,
        history,
        np.asarray(sorted(config.to_dict().items()), dtype=str),
    )
    return OptionSamples(
        rows=rows,
        static=static,
        history=history,
        quoted=quoted,
        slot_day=slot_day,
        sample_slot=sample_slot,
        sample_day=sample_day,
        underlying_return=underlying_return,
        calendar=calendar,
        anchor_iv=anchor_iv,
        split_dates=split_dates,
        config=config,
        fingerprint=fingerprint,
        counts=counts,
        spot_of_day=spot_of_day,
        surface_coef=coef,
        quotes=(
            _contract_quotes(expiry, is_call, strike, new_contract, first, day, slot, own)
            if keep_quotes
            else None
        ),
    )


@dataclass
class _Market:
    """What the samples' features read besides a contract's own quotes: per sorted quote
    its ``day``, ``spot``, ``strike`` and ``is_call``; per calendar day the underlying's
    ``returns``, ``historical_vol`` and the surface ``coef``."""

    day: np.ndarray
    spot: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    returns: np.ndarray
    historical_vol: np.ndarray
    coef: np.ndarray


def _priced(
    market: _Market, own: PreviousQuote, previous: PreviousQuote, config: SampleConfig
) -> dict[str, np.ndarray]:
    """Per quote, in row chunks: the ``t-1`` surface at today's point and its change
    (``surface_iv``, ``surface_iv_change``) and every baseline's price."""
    no_surface = np.full((1, market.coef.shape[1]), np.nan)
    previous_coef = np.concatenate([no_surface, market.coef])  # row d: the coef of day d - 1

    def price(rows: slice) -> dict[str, np.ndarray]:
        day, before = market.day[rows], previous.take(rows)
        surface_iv, surface_iv_change = surface_inputs(
            previous_coef[day], own.log_moneyness[rows], own.tau[rows], before
        )
        baselines = baseline_prices(
            market.spot[rows], market.strike[rows], own.tau[rows], market.is_call[rows],
            before, surface_iv, market.historical_vol[day], config,
        )  # fmt: skip
        return {"surface_iv": surface_iv, "surface_iv_change": surface_iv_change, **baselines}

    return map_rows(len(market.day), price)


def _static_of(
    keep: np.ndarray,
    market: _Market,
    own: PreviousQuote,
    previous: PreviousQuote,
    surface: tuple[np.ndarray, np.ndarray],
    baselines: dict[str, np.ndarray],
    config: SampleConfig,
) -> np.ndarray:
    """The static features of the quotes ``keep`` (:func:`static_features`), in chunks."""

    def static_of(rows: slice) -> dict[str, np.ndarray]:
        kept = keep[rows]
        day = market.day[kept]
        return {
            "static": static_features(
                own.log_moneyness[kept],
                own.tau[kept],
                market.is_call[kept],
                market.strike[kept],
                market.returns[day],
                market.historical_vol[day],
                previous.take(kept),
                (surface[0][kept], surface[1][kept]),
                {name: values[kept] for name, values in baselines.items()},
                config,
            )
        }

    return map_rows(len(keep), static_of)["static"]


def _contract_quotes(
    expiry: np.ndarray,
    is_call: np.ndarray,
    strike: np.ndarray,
    new_contract: np.ndarray,
    first_day: np.ndarray,
    day: np.ndarray,
    slot: np.ndarray,
    own: PreviousQuote,
) -> ContractQuotes:
    starts = np.flatnonzero(new_contract)
    contracts = pd.DataFrame(
        {
            "expiration": expiry[starts].astype("datetime64[ns]"),
            "is_call": is_call[starts],
            "strike": strike[starts],
            "first_day": first_day,
            "first_quote": starts,
            "quotes": np.diff(np.append(starts, len(day))),
        }
    )
    return ContractQuotes(contracts, day, slot, own)
