"""Price option contracts on a chosen day with the trained GRU and every baseline.

A request names a contract (expiration, strike, call/put), the day ``t`` to price it on
and the underlying's price ``S_t`` that day. Everything else comes from before ``t``,
exactly as in training (DESIGN §4): the contract's own quotes of the last ``L`` trading
days, gathered from ``option_quotes`` or supplied by the caller, the ``t-1`` implied-vol
surface and the underlying's returns. ``t`` is a trading day of the data, or a day up to
``MAX_DAYS_AFTER_DATA`` calendar days after its last one (tomorrow's forecast).

The inputs are built by the same functions that build and scale the training samples
(:mod:`optvol.core.options.samples`, :mod:`optvol.core.options.gru.network`), so a
request for a sample of the data gets the evaluation's inputs. They are priced by the
NumPy copy of the trained network (:mod:`optvol.core.options.gru.numpy_forward`): a few
contracts at a time it is three times faster than PyTorch, and its prices are the
evaluation's within float32 rounding.

The module holds one concept, the prediction of a contract: :class:`OptionPredictor`,
the request and answer types, and the inputs it builds for them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from optvol.core.common.errors import RequestError
from optvol.core.options.gru.artifact import TrainedGRU
from optvol.core.options.gru.network import padded_returns, scaled_slots
from optvol.core.options.gru.numpy_forward import numpy_network
from optvol.core.options.limits import MAX_UNDERLYING_MOVE
from optvol.core.options.pricing.black_scholes import DAYS_PER_YEAR
from optvol.core.options.pricing.iv_surface import evaluate_surface
from optvol.core.options.samples import (
    BASELINES,
    HISTORY_FEATURES,
    MAX_VENDOR_IV,
    RECENT_DAYS,
    OptionSamples,
    PreviousQuote,
    baseline_prices,
    build_samples,
    cumulative_squares,
    deviation_vs_recent,
    historical_vol_of_sums,
    history_values,
    implied_vols,
    leverage_iv,
    pricing_inputs,
    static_features,
    surface_inputs,
)

log = logging.getLogger(__name__)

# A day after the data's last may be priced up to this many calendar days later: the next
# trading day, across a long weekend. Further out, the t-1 quote would be stale.
MAX_DAYS_AFTER_DATA = 7
OPTION_TYPES = ("C", "P")


@dataclass(frozen=True)
class HistoryQuote:
    """One day of a contract's history supplied by the caller: its mid, and optionally the
    vendor's implied vol (decimal); the underlying's price is the data's of that day."""

    date: date
    mid: float
    iv: float | None = None


@dataclass(frozen=True)
class ContractRequest:
    """A contract to price on ``as_of`` at the underlying price ``underlying`` (``S_t``);
    ``root`` names its option class where the data hold several with its expiration and
    strike (SPX and SPXW)."""

    expiration: date
    strike: float
    option_type: str
    as_of: date
    underlying: float
    history: tuple[HistoryQuote, ...] | None = None
    root: str | None = None


@dataclass
class ContractPrediction:
    """The GRU's price, every baseline's and the realized mid when the data has it."""

    request: ContractRequest
    gru: float
    baselines: dict[str, float]
    realized_mid: float | None
    previous_date: date
    history_source: str
    quoted_days: int
    inputs: dict[str, float] = field(default_factory=dict)


@dataclass
class _Inputs:
    """Everything one request adds to the batch the GRU prices."""

    window: np.ndarray  # (L, HISTORY_FEATURES) float32, 0 where not quoted
    quoted: np.ndarray  # (L,) bool
    sample_day: int
    previous: PreviousQuote
    static: np.ndarray
    baselines: dict[str, float]
    anchor_iv: float  # the vol of the ANCHOR baseline, which the GRU corrects
    tau: float
    realized: float | None
    source: str


def _day(value: np.datetime64) -> date:
    return pd.Timestamp(value).date()


class OptionPredictor:
    """Prices contracts with a trained GRU over the option quotes it was trained on.

    Built once (it builds every sample, as training did, and checks the model's data
    fingerprint), then answers any number of :meth:`predict` calls; safe to share
    between threads, as it only reads its arrays.
    """

    def __init__(self, model: TrainedGRU, quotes: pd.DataFrame) -> None:
        self.model = model
        self.samples: OptionSamples = build_samples(quotes, model.sample_config(), True)
        model.check_samples(self.samples)
        self.config = self.samples.config
        self.calendar = self.samples.calendar
        returns = np.concatenate([[np.nan], np.diff(np.log(self.samples.spot_of_day))])
        self._squared_returns = cumulative_squares(returns)
        self._network = numpy_network(model.model("cpu"))
        self._scalers = model.scalers()
        self._padded_returns = padded_returns(
            self.samples.underlying_return, self._scalers, self.config.sequence_length
        )
        contracts = self.samples.quotes.contracts
        # (expiration, is_call, strike) -> {root: row of the contract}
        self._contract_rows: dict[tuple[int, bool, float], dict[str, int]] = {}
        for i, (e, c, k, root) in enumerate(
            zip(
                contracts["expiration"].to_numpy().astype(np.int64),
                contracts["is_call"],
                contracts["strike"],
                contracts["root"],
                strict=True,
            )
        ):
            self._contract_rows.setdefault((int(e), bool(c), float(k)), {})[str(root)] = i

    @property
    def first_date(self) -> date:
        return _day(self.calendar[0])

    @property
    def last_date(self) -> date:
        return _day(self.calendar[-1])

    def spot_on(self, day: date) -> float | None:
        """The underlying's price on a trading day of the data (None on other days)."""
        position = self._position(day)
        return None if position is None else float(self.samples.spot_of_day[position])

    def contracts_quoted_on(self, day: date) -> pd.DataFrame:
        """The contracts with a usable quote on ``day``: ``expiration, root, option_type,
        strike, mid``, sorted."""
        position = self._position(day)
        quotes = self.samples.quotes
        if position is None:
            return pd.DataFrame(columns=["expiration", "root", "option_type", "strike", "mid"])
        at = np.flatnonzero(quotes.day == position)
        contract = np.searchsorted(quotes.contracts["first_quote"].to_numpy(), at, "right") - 1
        rows = quotes.contracts.iloc[contract]
        return pd.DataFrame(
            {
                "expiration": rows["expiration"].to_numpy(),
                "root": rows["root"].to_numpy(),
                "option_type": np.where(rows["is_call"].to_numpy(), "C", "P"),
                "strike": rows["strike"].to_numpy(),
                "mid": quotes.previous.mid[at],
            }
        ).sort_values(["expiration", "root", "option_type", "strike"], ignore_index=True)

    def previous_trading_day(self, day: date) -> date:
        """The trading day before ``day``, a trading day of the data after its first (or
        a day just after the data): the ``t-1`` a prediction for ``day`` starts from."""
        return _day(self.calendar[self._sample_day(day, "day") - 1])

    def trading_days_with_successor(self) -> list[date]:
        """The days a contract can be priced on from the data's own quotes: every trading
        day after the first."""
        return [_day(d) for d in self.calendar[1:]]

    def predict(self, requests: Sequence[ContractRequest]) -> list[ContractPrediction]:
        """Price every request; raise :class:`RequestError` naming the first bad one."""
        inputs = [self._inputs(request, f"contracts[{i}]") for i, request in enumerate(requests)]
        return self._price(requests, inputs)

    def _price(
        self, requests: Sequence[ContractRequest], inputs: list[_Inputs]
    ) -> list[ContractPrediction]:
        if not requests:
            return []
        strike = np.array([float(r.strike) for r in requests])
        over_strike = self._network(*self._network_inputs(requests, inputs, strike))
        prices = over_strike.astype(np.float64) * strike
        out = []
        for request, built, price in zip(requests, inputs, prices, strict=True):
            out.append(
                ContractPrediction(
                    request=request,
                    gru=float(price),
                    baselines=built.baselines,
                    realized_mid=built.realized,
                    previous_date=_day(self.calendar[built.sample_day - 1]),
                    history_source=built.source,
                    quoted_days=int(built.quoted.sum()),
                    inputs={
                        "tau": built.tau,
                        "previous_mid": float(built.previous.mid[0]),
                        "previous_iv": float(built.previous.iv_from_mid[0]),
                        "leverage_iv": built.anchor_iv,
                    },
                )
            )
        return out

    def contract_history(
        self, expiration: date, strike: float, option_type: str, root: str | None = None
    ) -> pd.DataFrame:
        """Every day of the data on which the contract can be priced from its own quotes,
        with the realized mid (NaN on a day it had no usable quote), the GRU's price and
        every baseline's, at that day's underlying price."""
        row = self._contract(expiration, strike, option_type == "C", "contract", root)
        root = str(self.samples.quotes.contracts.at[row, "root"])
        _, days = self._quote_positions(row)
        # Priceable days: the trading day after each quote, up to the expiration.
        candidates = np.unique(days + 1)
        expiry = np.datetime64(expiration, "ns")
        candidates = candidates[candidates < len(self.calendar)]
        candidates = candidates[self.calendar[candidates] <= expiry]
        requests = [
            ContractRequest(
                expiration,
                strike,
                option_type,
                _day(self.calendar[d]),
                float(self.samples.spot_of_day[d]),
                root=root,
            )  # fmt: skip
            for d in candidates
        ]
        priceable, inputs = [], []
        for request in requests:
            try:  # a day without a t-1 quote, surface or return history is left out
                inputs.append(self._inputs(request, "contract"))
            except RequestError:
                continue
            priceable.append(request)
        priced = self._price(priceable, inputs)
        return pd.DataFrame(
            {
                "date": pd.to_datetime([p.request.as_of for p in priced]),
                "realized": [np.nan if p.realized_mid is None else p.realized_mid for p in priced],
                "gru": [p.gru for p in priced],
                **{name: [p.baselines[name] for p in priced] for name in BASELINES},
            }
        )

    # -- building one request's inputs -------------------------------------------------

    def _position(self, day: date) -> int | None:
        stamp = np.datetime64(day, "ns")
        position = int(np.searchsorted(self.calendar, stamp))
        if position < len(self.calendar) and self.calendar[position] == stamp:
            return position
        return None

    def _sample_day(self, as_of: date, where: str) -> int:
        """The calendar index of ``t``: its own, or one past the last day for a day just
        after the data."""
        position = self._position(as_of)
        if position is not None:
            if position == 0:
                raise RequestError(
                    f"as_of {as_of} is the data's first trading day: there is no t-1 to "
                    f"price it from (data from {self.first_date} to {self.last_date})",
                    f"{where}.as_of",
                )
            return position
        last = self.last_date
        if last < as_of <= date.fromordinal(last.toordinal() + MAX_DAYS_AFTER_DATA):
            return len(self.calendar)
        if self.first_date < as_of < last:
            raise RequestError(f"as_of {as_of} is not a trading day of the data", f"{where}.as_of")
        raise RequestError(
            f"as_of {as_of} is outside the data: option quotes run from {self.first_date} to "
            f"{last}, and a day at most {MAX_DAYS_AFTER_DATA} days after the last can be "
            "priced",
            f"{where}.as_of",
        )

    def _row(
        self, expiration: date, strike: float, is_call: bool, root: str | None = None,
        where: str = "contract",
    ) -> int | None:  # fmt: skip
        """The contract's row of ``samples.quotes.contracts``; None if it has no quote.
        Raises RequestError when ``root`` is needed to choose among option classes."""
        key = (int(np.datetime64(expiration, "ns").astype(np.int64)), is_call, float(strike))
        by_root = self._contract_rows.get(key, {})
        if root is not None:
            return by_root.get(root)
        if len(by_root) > 1:
            raise RequestError(
                f"the data hold this contract in several option classes {sorted(by_root)}: "
                "give its root",
                f"{where}.root",
            )
        return next(iter(by_root.values()), None)

    def _contract(
        self, expiration: date, strike: float, is_call: bool, where: str, root: str | None = None
    ) -> int:
        row = self._row(expiration, strike, is_call, root, where)
        if row is None:
            kind = "call" if is_call else "put"
            raise RequestError(
                f"the option data hold no usable quote of the {kind} expiring {expiration} "
                f"with strike {strike:g}; supply its history",
                where,
            )
        return row

    def _inputs(self, request: ContractRequest, where: str) -> _Inputs:
        if request.option_type not in OPTION_TYPES:
            raise RequestError(
                f"option_type must be one of {OPTION_TYPES}, got {request.option_type!r}",
                f"{where}.option_type",
            )
        sample_day = self._sample_day(request.as_of, where)
        if request.expiration < request.as_of:
            raise RequestError(
                f"the contract expired on {request.expiration}, before as_of {request.as_of}",
                f"{where}.expiration",
            )
        is_call = request.option_type == "C"
        days_to_expiry = (request.expiration - request.as_of).days
        # float32 as in option_quotes, so that a day of the data gets its training tau.
        tau = float(np.float32(days_to_expiry / DAYS_PER_YEAR))
        if request.history is None:
            window, quoted, previous = self._gathered(request, is_call, sample_day, where)
            source = "data"
        else:
            window, quoted, previous = self._supplied(request, is_call, sample_day, where)
            source = "supplied"
        realized = self._realized(request, is_call, sample_day)
        last = slice(-RECENT_DAYS - 1, None)
        recent = deviation_vs_recent(window[None, last], quoted[None, last])
        static, baselines, anchor_iv = self._static(
            request, is_call, tau, sample_day, previous, recent, where
        )
        return _Inputs(window, quoted, sample_day, previous, static, baselines, anchor_iv, tau,
                       realized, source)  # fmt: skip

    def _quote_positions(self, row: int) -> tuple[int, np.ndarray]:
        """Position of the contract's first quote, and the calendar day of each quote."""
        quotes = self.samples.quotes
        first = int(quotes.contracts.at[row, "first_quote"])
        return first, quotes.day[first : first + int(quotes.contracts.at[row, "quotes"])]

    def _quote_on(self, row: int, day: int) -> int | None:
        """Position of the contract's quote on calendar day ``day``; None if it has none."""
        first, days = self._quote_positions(row)
        at = np.flatnonzero(days == day)
        return first + int(at[0]) if len(at) else None

    def _realized(self, request: ContractRequest, is_call: bool, sample_day: int) -> float | None:
        try:
            row = self._row(request.expiration, request.strike, is_call, request.root)
        except RequestError:  # a supplied history needs no class; its realized mid does
            return None
        position = None if row is None else self._quote_on(row, sample_day)
        return None if position is None else float(self.samples.quotes.previous.mid[position])

    def _gathered(self, request: ContractRequest, is_call: bool, sample_day: int, where: str):
        L = self.config.sequence_length
        row = self._contract(request.expiration, request.strike, is_call, where, request.root)
        position = self._quote_on(row, sample_day - 1)
        if position is None:
            previous_day = _day(self.calendar[sample_day - 1])
            raise RequestError(
                f"the contract has no usable quote on {previous_day}, the trading day "
                "before as_of: its price at t-1 is what every model starts from; supply "
                "its history",
                f"{where}.as_of",
            )
        quotes, samples = self.samples.quotes, self.samples
        slots = int(quotes.slot[position]) - L + 1 + np.arange(L)
        previous = PreviousQuote(
            **{name: values[[position]] for name, values in quotes.previous.__dict__.items()}
        )
        return samples.history[slots], samples.quoted[slots], previous

    def _supplied(self, request: ContractRequest, is_call: bool, sample_day: int, where: str):
        L = self.config.sequence_length
        history = sorted(request.history, key=lambda quote: quote.date)
        if not history:
            raise RequestError("history is empty: give at least the t-1 quote", f"{where}.history")
        positions = []
        for i, quote in enumerate(history):
            position = self._position(quote.date)
            if position is None or position >= sample_day:
                raise RequestError(
                    f"history date {quote.date} is not a trading day of the data before "
                    f"as_of {request.as_of}",
                    f"{where}.history[{i}].date",
                )
            if quote.date > request.expiration:
                raise RequestError(
                    f"history date {quote.date} is after the expiration", f"{where}.history"
                )
            if quote.iv is not None and not 0 < quote.iv <= MAX_VENDOR_IV:
                raise RequestError(
                    f"history iv {quote.iv} is not a decimal implied vol in (0, {MAX_VENDOR_IV:g}]",
                    f"{where}.history[{i}].iv",
                )
            positions.append(position)
        positions = np.asarray(positions)
        if len(np.unique(positions)) != len(positions):
            raise RequestError("history has two quotes on one date", f"{where}.history")
        if positions[-1] != sample_day - 1:
            raise RequestError(
                f"history must include the trading day before as_of "
                f"({_day(self.calendar[sample_day - 1])}); its last date is {history[-1].date}",
                f"{where}.history",
            )
        keep = positions > sample_day - 1 - L
        positions = positions[keep]
        quotes = [q for q, k in zip(history, keep, strict=True) if k]
        n = len(quotes)
        spot = self.samples.spot_of_day[positions]
        strike = np.full(n, float(request.strike))
        calls = np.full(n, is_call)
        mid = np.array([q.mid for q in quotes], dtype=float)
        vendor_iv = np.array([np.nan if q.iv is None else q.iv for q in quotes], dtype=float)
        expiry = np.datetime64(request.expiration, "D")
        tau = (
            (
                (expiry - self.calendar[positions].astype("datetime64[D]")).astype(np.float64)
                / DAYS_PER_YEAR
            )
            .astype(np.float32)
            .astype(np.float64)
        )
        iv_from_mid, iv = implied_vols(mid, spot, strike, tau, vendor_iv, calls, self.config)
        log_moneyness = np.log(spot / strike)
        surface = evaluate_surface(self.samples.surface_coef[positions], -log_moneyness, tau)
        iv_minus_surface = iv - surface
        values = history_values(mid, spot, strike, tau, iv, calls, iv_minus_surface, self.config)
        window = np.zeros((L, len(HISTORY_FEATURES)), dtype=np.float32)
        quoted = np.zeros(L, dtype=bool)
        offsets = positions - (sample_day - L)
        window[offsets] = np.nan_to_num(values)
        quoted[offsets] = True
        last = [-1]
        previous = PreviousQuote(
            mid[last], iv[last], iv_from_mid[last], iv_minus_surface[last],
            log_moneyness[last], tau[last],
        )  # fmt: skip
        if not np.isfinite(previous.iv_from_mid[0]):
            raise RequestError(
                f"the t-1 mid {mid[-1]:g} has no Black-Scholes implied vol at the "
                f"underlying's {spot[-1]:g} (below intrinsic value or above the bound)",
                f"{where}.history",
            )
        return window, quoted, previous

    def _static(self, request, is_call, tau, sample_day, previous, recent, where):
        if not np.isfinite(request.underlying) or request.underlying <= 0:
            raise RequestError("underlying must be a positive number", f"{where}.underlying")
        if not np.isfinite(request.strike) or request.strike <= 0:
            raise RequestError("strike must be a positive number", f"{where}.strike")
        spot = np.array([float(request.underlying)])
        strike = np.array([float(request.strike)])
        calls = np.array([is_call])
        taus = np.array([tau])
        previous_spot = self.samples.spot_of_day[sample_day - 1]
        return_into_t = np.log(spot / previous_spot)
        if abs(return_into_t[0]) > np.log(MAX_UNDERLYING_MOVE):
            raise RequestError(
                f"underlying {request.underlying:g} is {spot[0] / previous_spot:.3g} times the "
                f"underlying on {_day(self.calendar[sample_day - 1])} ({previous_spot:g}): no "
                f"price moves more than {MAX_UNDERLYING_MOVE:g}-fold in a day; check the price",
                f"{where}.underlying",
            )
        # The returns' running sums up to t-1, extended by the return into t.
        squared = np.append(
            self._squared_returns[: sample_day + 1],
            self._squared_returns[sample_day] + np.nan_to_num(return_into_t) ** 2,
        )
        hv = historical_vol_of_sums(squared, self.config.historical_vol_days)[-1:]
        log_moneyness = np.log(spot / strike)
        surface = surface_inputs(
            self.samples.surface_coef[[sample_day - 1]], log_moneyness, taus, previous
        )
        days_to_expiry = np.array([(request.expiration - request.as_of).days])
        moved_iv = leverage_iv(previous, return_into_t, days_to_expiry, self.samples.leverage_betas)
        baselines = baseline_prices(spot, strike, taus, calls, previous, surface[0], hv,
                                    self.config, moved_iv)  # fmt: skip
        lacking = {
            "the contract's t-1 implied vol": previous.iv_from_mid,
            "the t-1 implied-vol surface (too few out-of-the-money quotes that day)":
                surface[0],
            "underlying return into as_of": hv,
        }  # fmt: skip
        for what, values in lacking.items():
            if not np.isfinite(values).all():
                raise RequestError(f"cannot price on {request.as_of}: no {what}", where)
        static = static_features(
            log_moneyness, taus, calls, strike, return_into_t, hv, previous, surface,
            baselines, moved_iv, np.array([sample_day]), recent, self.config,
        )  # fmt: skip
        if not np.isfinite(static).all():
            raise RequestError(f"cannot price on {request.as_of}: an input is not finite", where)
        prices = {name: float(baselines[name][0]) for name in BASELINES}
        return static, prices, float(moved_iv[0])

    def _network_inputs(
        self, requests: Sequence[ContractRequest], inputs: list[_Inputs], strike: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sequence ``(n, L, F)``, static ``(n, S)`` and pricing ``(n, 6)`` inputs of the
        requests, scaled as :class:`~optvol.core.options.gru.network.SampleTensors` scales the
        samples."""
        L = self.config.sequence_length
        n = len(inputs)
        windows = np.stack([built.window for built in inputs]).reshape(n * L, -1)
        quoted = np.stack([built.quoted for built in inputs]).reshape(-1)
        slots = scaled_slots(windows, quoted, self._scalers).reshape(n, L, -1)
        # Padded returns: the window t-L .. t-1 of day t starts at index t.
        days = np.array([built.sample_day for built in inputs])[:, None] + np.arange(L)
        sequence = np.concatenate([slots, self._padded_returns[days][..., None]], axis=-1)
        static = self._scalers.static.transform(np.concatenate([b.static for b in inputs]))
        pricing = pricing_inputs(
            np.array([float(r.underlying) for r in requests]),
            strike,
            np.array([built.tau for built in inputs]),
            np.array([built.anchor_iv for built in inputs]),
            np.array([r.option_type == "C" for r in requests]),
            self.config,
        )
        return sequence, static, pricing
