"""Price option contracts on a chosen day with the trained GRU and every baseline.

A request names a contract (expiration, strike, call/put), the day ``t`` to price it on
and the underlying's price ``S_t`` that day. Everything else comes from before ``t``,
exactly as in training (docs/architecture.md §4): the contract's own quotes of the last
``L`` trading days, gathered from ``option_quotes`` or supplied by the caller, the ``t-1``
implied-vol surface and the underlying's returns. ``t`` is a trading day of the data, or a day up to
``MAX_DAYS_AFTER_DATA`` calendar days after its last one (tomorrow's forecast).

The inputs are built by the same functions that build and scale the training samples
(:mod:`optvol.core.options.samples`, :mod:`optvol.core.options.gru.network`), so a
request for a sample of the data gets the evaluation's inputs, and priced by the NumPy
copy of the trained network (:mod:`optvol.core.options.gru.numpy_forward`), whose prices
are the evaluation's within float32 rounding. What the network reads of a contract's
history does not depend on ``S_t`` and is computed once per day
(:mod:`optvol.core.options.prediction._states`); what does (the return into ``t``, the
moneyness, the baselines, the static inputs and the network's head) is computed for all
the contracts of a call at once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from optvol.core.common.errors import RequestError
from optvol.core.options.gru.artifact import TrainedGRU
from optvol.core.options.gru.numpy_forward import numpy_network
from optvol.core.options.hedging import BUMP
from optvol.core.options.ingest.clean import is_am_settled, time_to_expiry
from optvol.core.options.limits import MAX_UNDERLYING_MOVE
from optvol.core.options.prediction._problems import Problems
from optvol.core.options.prediction._states import HistoryStates, WindowStates
from optvol.core.options.prediction._supplied import supplied_window
from optvol.core.options.prediction.requests import ContractPrediction, ContractRequest
from optvol.core.options.samples import (
    BASELINES,
    OptionSamples,
    PreviousQuote,
    SampleContext,
    anchor_vol,
    baseline_prices_at,
    build_samples,
    business_time_vol,
    inputs_at_spot,
    pricing_inputs,
    sample_context,
)

log = logging.getLogger(__name__)

# A day after the data's last may be priced up to this many calendar days later: the next
# trading day, across a long weekend. Further out, the t-1 quote would be stale.
MAX_DAYS_AFTER_DATA = 7
OPTION_TYPES = ("C", "P")
# The data's last trading days whose history states are computed when the predictor is
# built, with the day after the data: the days most requests ask for.
DAYS_AHEAD = 5


def _day(value: np.datetime64) -> date:
    return pd.Timestamp(value).date()


@dataclass
class _Priced:
    """The prices and inputs of a call's requests, one entry each (NaN where a problem
    stopped it)."""

    problems: Problems
    sample_day: np.ndarray
    gru: np.ndarray
    baselines: dict[str, np.ndarray]
    realized: np.ndarray
    supplied: np.ndarray
    quoted_days: np.ndarray
    tau: np.ndarray
    previous: PreviousQuote
    anchor_iv: np.ndarray
    delta: np.ndarray


class OptionPredictor:
    """Prices contracts with a trained GRU over the option quotes it was trained on.

    Built once (it builds every sample, as training did, checks the model's data
    fingerprint and computes the history states of the data's last days), then answers
    any number of :meth:`predict` calls; safe to share between threads.
    """

    def __init__(self, model: TrainedGRU, quotes: pd.DataFrame) -> None:
        self.model = model
        self.samples: OptionSamples = build_samples(
            quotes, model.sample_config(), True, model.fitted_baselines()
        )
        model.check_samples(self.samples)
        self.config = self.samples.config
        self.calendar = self.samples.calendar
        self._network = numpy_network(model.model("cpu"))
        self._scalers = model.scalers()
        ahead = range(max(1, len(self.calendar) - DAYS_AHEAD), len(self.calendar) + 1)
        self._states = HistoryStates(self.samples, self._network, self._scalers, ahead)
        self._dates = [_day(d) for d in self.calendar]
        self._positions = {d: i for i, d in enumerate(self._dates)}
        contracts = self.samples.quotes.contracts
        # (expiration, is_call, strike) -> {root: row of the contract}
        self._contract_rows: dict[tuple[date, bool, float], dict[str, int]] = {}
        for i, (e, c, k, root) in enumerate(
            zip(
                pd.DatetimeIndex(contracts["expiration"]).date,
                contracts["is_call"],
                contracts["strike"],
                contracts["root"],
                strict=True,
            )
        ):
            self._contract_rows.setdefault((e, bool(c), float(k)), {})[str(root)] = i
        # Each quote's (contract, day) as one integer: increasing, as the quotes are sorted
        # by contract and day, so a contract's quote of a day is found by bisection.
        day = self.samples.quotes.day
        self._quote_key = self._contract_of(np.arange(len(day))) * (len(self.calendar) + 1) + day

    @property
    def first_date(self) -> date:
        return self._dates[0]

    @property
    def last_date(self) -> date:
        return self._dates[-1]

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
        rows = quotes.contracts.iloc[self._contract_of(at)]
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
        return self._dates[self._sample_day(day, "day") - 1]

    def trading_days_with_successor(self) -> list[date]:
        """The days a contract can be priced on from the data's own quotes: every trading
        day after the first."""
        return self._dates[1:]

    def predict(self, requests: Sequence[ContractRequest]) -> list[ContractPrediction]:
        """Price every request; raise :class:`RequestError` naming the first bad one."""
        if not requests:
            return []
        priced = self._priced(requests, lambda i: f"contracts[{i}]")
        if priced.problems.first is not None:
            raise priced.problems.first[1]
        lists = {
            name: getattr(priced, name).tolist()
            for name in ("sample_day", "gru", "realized", "supplied", "quoted_days", "tau",
                         "anchor_iv", "delta")
        }  # fmt: skip
        baselines = {name: values.tolist() for name, values in priced.baselines.items()}
        previous_mid = priced.previous.mid.tolist()
        previous_iv = priced.previous.iv_from_mid.tolist()
        previous_carry = priced.previous.carry.tolist()
        out = []
        for i, request in enumerate(requests):
            realized = lists["realized"][i]
            out.append(
                ContractPrediction(
                    request=request,
                    gru=lists["gru"][i],
                    baselines={name: values[i] for name, values in baselines.items()},
                    realized_mid=None if math.isnan(realized) else realized,
                    previous_date=self._dates[lists["sample_day"][i] - 1],
                    history_source="supplied" if lists["supplied"][i] else "data",
                    quoted_days=lists["quoted_days"][i],
                    delta=lists["delta"][i],
                    inputs={
                        "tau": lists["tau"][i],
                        "previous_mid": previous_mid[i],
                        "previous_iv": previous_iv[i],
                        "previous_carry": previous_carry[i],
                        "anchor_iv": lists["anchor_iv"][i],
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
                self._dates[d],
                float(self.samples.spot_of_day[d]),
                root=root,
            )  # fmt: skip
            for d in candidates
        ]
        columns = ["date", "realized", "gru", *BASELINES]
        if not requests:
            return pd.DataFrame({name: pd.Series(dtype=float) for name in columns}).astype(
                {"date": "datetime64[ns]"}
            )
        # A day without a t-1 quote, surface or return history is left out.
        priced = self._priced(requests, lambda i: "contract")
        keep = ~priced.problems.bad
        return pd.DataFrame(
            {
                "date": pd.to_datetime(
                    [r.as_of for r, k in zip(requests, keep, strict=True) if k]
                ),  # fmt: skip
                "realized": priced.realized[keep],
                "gru": priced.gru[keep],
                **{name: priced.baselines[name][keep] for name in BASELINES},
            }
        )

    # -- pricing a call's requests -------------------------------------------------------

    def _priced(self, requests: Sequence[ContractRequest], where: Callable[[int], str]) -> _Priced:
        """Price the requests, all at once."""
        n = len(requests)
        problems = Problems(n)
        sample_day = np.ones(n, dtype=np.int64)  # day 1: a harmless value where unresolved
        row = np.full(n, -1, dtype=np.int64)
        days_to_expiry = np.zeros(n, dtype=np.int64)
        supplied = {}
        for i, request in enumerate(requests):
            try:
                sample_day[i], row[i], window = self._resolve(request, where(i))
            except RequestError as error:
                problems.add(i, error)
                continue
            days_to_expiry[i] = (request.expiration - request.as_of).days
            if window is not None:
                supplied[i] = window
        is_supplied = np.zeros(n, dtype=bool)
        is_supplied[list(supplied)] = True
        # The contract's quote of t-1 (what it is priced from) and of t (realized), if any.
        realized_day = np.where(sample_day < len(self.calendar), sample_day, -1)
        previous_position, realized_position = self._quote_of(
            np.concatenate([row, row]), np.concatenate([sample_day - 1, realized_day])
        ).reshape(2, n)
        gathered = ~problems.bad & ~is_supplied
        problems.add_where(
            gathered & (previous_position < 0),
            lambda i: RequestError(
                f"the contract has no usable quote on {self._dates[sample_day[i] - 1]}, "
                "the trading day before as_of: its price at t-1 is what every model starts "
                "from; supply its history",
                f"{where(i)}.as_of",
            ),
        )  # fmt: skip
        realized = np.where(
            realized_position >= 0,
            self.samples.quotes.previous.mid[np.maximum(realized_position, 0)],
            np.nan,
        )
        previous = self.samples.quotes.previous.take(np.maximum(previous_position, 0))
        states = self._history_states(gathered & ~problems.bad, previous_position, sample_day,
                                      supplied, previous)  # fmt: skip
        roots = self._roots(requests, row)
        tau = time_to_expiry(days_to_expiry, is_am_settled(roots))
        spot = np.array([r.underlying for r in requests], dtype=np.float64)
        strike = np.array([r.strike for r in requests], dtype=np.float64)
        is_call = np.array([r.option_type == "C" for r in requests])
        as_of = np.array([r.as_of for r in requests], dtype="datetime64[D]")
        expiry = np.array([r.expiration for r in requests], dtype="datetime64[D]")
        with np.errstate(all="ignore"):  # the requests already found bad compute NaN
            # Priced at the configured carry: the t-1 expiry had no parity forward.
            fallback = np.where(
                is_supplied,
                previous.carry == self.config.risk_free_rate - self.config.dividend_yield,
                ~self.samples.quotes.from_parity[np.maximum(previous_position, 0)],
            )
            context = self._context(
                previous, sample_day, strike, is_call, tau, as_of, expiry, states.recent,
                fallback, is_am_settled(roots),
            )  # fmt: skip
            inputs, baselines = self._inputs(requests, where, problems, spot, context)
        gru = np.full(n, np.nan)
        delta = np.full(n, np.nan)
        ok = np.flatnonzero(~problems.bad)
        if len(ok):
            gru[ok], delta[ok] = self._gru_and_delta(
                context.take(ok), spot[ok], inputs.static[ok], states.hidden[ok]
            )
        anchor_iv = business_time_vol(
            inputs.vols[self.model.anchor], context.time_change, self.model.business_time
        )
        return _Priced(problems, sample_day, gru, baselines, realized, is_supplied,
                       states.quoted_days, tau, previous, anchor_iv, delta)  # fmt: skip

    def _context(self, previous, sample_day, strike, is_call, tau, as_of, expiry, recent,
                 forward_fallback, am_settled) -> SampleContext:  # fmt: skip
        """The requests' :class:`SampleContext`: what their inputs at ``S_t`` come from."""
        yesterday = self.calendar[sample_day - 1].astype("datetime64[D]")
        return sample_context(
            previous, self.samples.spot_of_day[sample_day - 1], strike, is_call,
            (as_of, yesterday, expiry), tau, sample_day, recent, forward_fallback, am_settled,
            self.config,
        )  # fmt: skip

    def _roots(self, requests: Sequence[ContractRequest], row: np.ndarray) -> np.ndarray:
        """Each request's option class: its contract's in the data, else the one it names
        ("" where none)."""
        known = self.samples.quotes.contracts["root"].to_numpy().astype(str)
        return np.array(
            [known[r] if r >= 0 else (request.root or "")
             for request, r in zip(requests, row, strict=True)]
        )  # fmt: skip

    def _gru_and_delta(
        self, context: SampleContext, spot: np.ndarray, static: np.ndarray, hidden: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The GRU's price of each request at ``spot`` and its delta there, the central
        difference of its prices at ``spot (1 +- BUMP)`` (every input that depends on the
        price computed again; the history's hidden state does not)."""
        n = len(spot)
        spots = np.concatenate([spot, spot * (1.0 + BUMP), spot * (1.0 - BUMP)])
        bumped = context.take(np.tile(np.arange(n), 2))
        inputs = inputs_at_spot(
            spots[n:], bumped, self.samples.market, self.samples.fitted, self.config
        )
        stacked = np.concatenate([static, inputs.static])
        triple = context.take(np.tile(np.arange(n), 3))
        anchor = business_time_vol(
            np.concatenate([self._anchor_vol(context, spot), inputs.vols[self.model.anchor]]),
            triple.time_change, self.model.business_time,
        )  # fmt: skip
        pricing = pricing_inputs(spots, triple.strike, triple.tau, anchor, triple.is_call,
                                 triple.previous.carry, self.config,
                                 self.model.carry_shrinkage)  # fmt: skip
        over_strike = self._network.price_from(
            np.concatenate([hidden] * 3), self._scalers.static.transform(stacked), pricing
        ).astype(np.float64)
        prices = over_strike * triple.strike
        delta = (prices[n : 2 * n] - prices[2 * n :]) / (2.0 * BUMP * spot)
        return prices[:n], delta

    def _anchor_vol(self, context: SampleContext, spot: np.ndarray) -> np.ndarray:
        return anchor_vol(
            self.model.anchor, context, np.log(spot / context.previous_spot), self.samples.fitted
        )

    def _resolve(
        self, request: ContractRequest, where: str
    ) -> tuple[int, int, tuple[np.ndarray, np.ndarray, PreviousQuote] | None]:
        """The request's checks that need no arithmetic: its ``t`` (calendar index), the
        contract's row (-1 where a supplied history's contract is not in the data) and the
        supplied history's window (None to gather it from the data)."""
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
        if request.history is None:
            row = self._contract(request.expiration, request.strike, is_call, where,
                                 request.root)  # fmt: skip
            return sample_day, row, None
        window = supplied_window(request, sample_day, where, self.samples, self._position)
        try:  # a supplied history needs no option class; its realized mid does
            row = self._row(request.expiration, request.strike, is_call, request.root)
        except RequestError:
            row = None
        return sample_day, -1 if row is None else row, window

    def _quote_of(self, row: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Position of contract ``row``'s quote on calendar day ``day``; -1 where it has
        none (or ``row`` or ``day`` is -1)."""
        key = row * (len(self.calendar) + 1) + day
        at = np.minimum(np.searchsorted(self._quote_key, key), len(self._quote_key) - 1)
        found = (row >= 0) & (day >= 0) & (self._quote_key[at] == key)
        return np.where(found, at, -1)

    def _history_states(self, gathered, previous_position, sample_day, supplied, previous):
        """The :class:`WindowStates` of every request, zero where it has none; the t-1
        quotes of supplied histories are written into ``previous``."""
        states = WindowStates.zeros(len(sample_day), self._states.hidden_size)
        if supplied:
            index = np.fromiter(supplied, dtype=np.int64, count=len(supplied))
            windows, quoted, quotes = zip(*supplied.values(), strict=True)
            states.put(index, self._states.of_windows(np.stack(windows), np.stack(quoted),
                                                      sample_day[index]))  # fmt: skip
            for name, values in previous.__dict__.items():
                values[index] = [getattr(quote, name)[0] for quote in quotes]
        index = np.flatnonzero(gathered)
        if len(index):
            states.put(index, self._states.of_quotes(previous_position[index], sample_day[index]))
        return states

    def _inputs(self, requests, where, problems, spot, context):
        """The inputs at each request's ``S_t`` and every baseline's price, with the
        checks on them."""
        strike = context.strike
        problems.add_where(
            ~(np.isfinite(spot) & (spot > 0)),
            lambda i: RequestError(
                "underlying must be a positive number", f"{where(i)}.underlying"
            ),  # fmt: skip
        )
        problems.add_where(
            ~(np.isfinite(strike) & (strike > 0)),
            lambda i: RequestError("strike must be a positive number", f"{where(i)}.strike"),
        )
        previous_spot = context.previous_spot
        problems.add_where(
            np.abs(np.log(spot / previous_spot)) > np.log(MAX_UNDERLYING_MOVE),
            lambda i: RequestError(
                f"underlying {requests[i].underlying:g} is {spot[i] / previous_spot[i]:.3g} "
                f"times the underlying on {self._dates[context.day[i] - 1]} "
                f"({previous_spot[i]:g}): no price moves more than "
                f"{MAX_UNDERLYING_MOVE:g}-fold in a day; check the price",
                f"{where(i)}.underlying",
            ),
        )
        inputs = inputs_at_spot(spot, context, self.samples.market, self.samples.fitted,
                                self.config)  # fmt: skip
        baselines = baseline_prices_at(spot, context, inputs.vols, self.config)
        lacking = {
            "implied vol of the contract on the day before": context.previous.iv_from_mid,
            "t-1 implied-vol surface (too few out-of-the-money quotes that day)":
                inputs.vols["adhoc_bs"],
            "underlying return into as_of": inputs.historical_vol,
        }  # fmt: skip
        for what, values in lacking.items():
            problems.add_where(
                ~np.isfinite(values),
                lambda i, what=what: RequestError(
                    f"cannot price on {requests[i].as_of}: no {what}", where(i)
                ),
            )
        problems.add_where(
            ~np.isfinite(inputs.static).all(axis=1),
            lambda i: RequestError(
                f"cannot price on {requests[i].as_of}: an input is not finite", where(i)
            ),
        )
        return inputs, baselines

    # -- looking up days and contracts -------------------------------------------------

    def _position(self, day: date) -> int | None:
        return self._positions.get(day)

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
        by_root = self._contract_rows.get((expiration, is_call, float(strike)), {})
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

    def _contract_of(self, position: np.ndarray) -> np.ndarray:
        """The contract (row of ``samples.quotes.contracts``) of each quote ``position``."""
        first = self.samples.quotes.contracts["first_quote"].to_numpy()
        return np.searchsorted(first, position, "right") - 1

    def _quote_positions(self, row: int) -> tuple[int, np.ndarray]:
        """Position of the contract's first quote, and the calendar day of each quote."""
        quotes = self.samples.quotes
        first = int(quotes.contracts.at[row, "first_quote"])
        return first, quotes.day[first : first + int(quotes.contracts.at[row, "quotes"])]
