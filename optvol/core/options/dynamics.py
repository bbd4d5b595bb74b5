"""How the implied vols of a chain move: what a model of tomorrow's prices can learn.

Over a clean ``option_quotes`` table, for every contract with a usable quote on two
consecutive trading days of the data, the change of its implied vol solved from the mid
is regressed on the underlying's log return into the second day,

.. math::

   \\sigma_t - \\sigma_{t-1} = a + \\beta \\, r_t + \\varepsilon_t ,
   \\qquad r_t = \\ln(S_t / S_{t-1}),

over all pairs more than 7 days from expiry, near the money (:math:`|\\ln(K/F_{t-1})| \\le
0.05`, 8 to 60 days: :data:`NEAR_MONEY`) and per moneyness x days-to-expiry bucket
(:mod:`optvol.core.options.samples.leverage`). A negative slope with a large :math:`R^2` is
the leverage effect a model can use, since :math:`S_t` is one of its inputs; the S&P 500's
same-day return explains about half of the daily changes of the VIX.

Beside it: the same regression at fixed log-moneyness on the daily smoothed surfaces
(:func:`~optvol.core.options.pricing.iv_surface.fit_daily_surfaces`), the change of the
surface's skew on the return (negative: the skew steepens when spot falls), the lag-1
autocorrelation of the daily changes of the at-the-money vol (negative: part of a day's
move is noise that reverts) and the median relative spread ``(ask - bid) / mid``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optvol.core.common.errors import OptvolInputError
from optvol.core.options.pricing.black_scholes import implied_vol
from optvol.core.options.pricing.iv_surface import evaluate_surface, fit_daily_surfaces
from optvol.core.options.samples.config import SampleConfig
from optvol.core.options.samples.features import (
    dividend_yield_of,
    option_classes,
    quote_carry,
    trading_days,
)
from optvol.core.options.samples.leverage import (
    LEVERAGE_DTE_BUCKETS,
    LEVERAGE_MONEYNESS_BUCKETS,
    VALID_IV,
    Regression,
    dte_bucket_index,
    moneyness_bucket_index,
    regress,
)

__all__ = [
    "IvDynamics",
    "NEAR_MONEY",
    "contract_pairs",
    "format_dynamics",
    "iv_dynamics",
    "near_money",
]

# The near-the-money band: |ln(K/F)| and days to expiry.
NEAR_MONEY = {"max_abs_log_moneyness": 0.05, "min_dte": 8, "max_dte": 60}
# Pairs this close to expiry are left out of every regression but the buckets' first.
MIN_DTE = 8
# The surface points of the fixed-moneyness regressions: ln(K/F) at 30 days.
FIXED_LOG_MONEYNESS = (-0.10, -0.05, 0.0, 0.05)
FIXED_DAYS = 30
_SKEW_WIDTH = 0.05  # the skew is (sigma(-w) - sigma(+w)) / 2w


@dataclass
class IvDynamics:
    """The statistics of :func:`iv_dynamics`; ``to_dict`` is what reports and the UI show."""

    days: int
    pairs: int
    near_money: Regression
    all_pairs: Regression
    buckets: pd.DataFrame  # moneyness, dte, slope, intercept, r2, residual_sd, n
    fixed_moneyness: dict[str, Regression]
    skew: Regression
    atm_change_autocorrelation: float
    median_relative_spread: float
    near_money_relative_spread: float
    return_sd: float
    near_money_pairs: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def to_dict(self) -> dict:
        return {
            "days": self.days,
            "pairs": self.pairs,
            "near_money_band": dict(NEAR_MONEY),
            "near_money": self.near_money.to_dict(),
            "all_pairs_over_7_days": self.all_pairs.to_dict(),
            "buckets": [
                {"moneyness": b["moneyness"], "dte": b["dte"], **regress_record(b)}  # fmt: skip
                for b in self.buckets.to_dict("records")
            ],
            "fixed_moneyness_30d": {k: v.to_dict() for k, v in self.fixed_moneyness.items()},
            "skew_change_on_return": self.skew.to_dict(),
            **{
                name: value if np.isfinite(value) else None
                for name, value in (
                    ("atm_change_autocorrelation", self.atm_change_autocorrelation),
                    ("median_relative_spread", self.median_relative_spread),
                    ("near_money_relative_spread", self.near_money_relative_spread),
                    ("daily_return_sd", self.return_sd),
                )
            },
        }


def regress_record(row: dict) -> dict:
    """A bucket row's regression fields as :meth:`Regression.to_dict` gives them."""
    fields = ("slope", "intercept", "r2", "residual_sd")
    return Regression(*(float(row[k]) for k in fields), int(row["n"])).to_dict()


@dataclass
class _Usable:
    """The usable quotes: each one's day index, contract terms, prices and the implied vol
    solved from its mid (NaN outside ``VALID_IV``), and the underlying of each day."""

    day: np.ndarray
    spot_of_day: np.ndarray
    expiry: np.ndarray
    root: np.ndarray
    is_call: np.ndarray
    strike: np.ndarray
    tau: np.ndarray
    dte_days: np.ndarray
    relative_spread: np.ndarray
    iv: np.ndarray
    carry: np.ndarray

    @property
    def spot(self) -> np.ndarray:
        return self.spot_of_day[self.day]


_REQUIRED = ("quote_date", "expiration", "option_type", "strike", "underlying_last", "bid",
             "ask", "mid", "tau", "dte_days", "usable")  # fmt: skip


def _usable_quotes(quotes: pd.DataFrame, config: SampleConfig) -> _Usable:
    """The usable quotes of ``quotes``, their vols solved once at ``config``'s rate and
    each expiry's carry (:func:`quote_carry`); the underlying of a day is the median of
    its quotes', as in the samples."""
    missing = [c for c in _REQUIRED if c not in quotes]
    if missing:
        raise OptvolInputError(f"option_quotes lacks the columns {missing}")
    rows = np.flatnonzero(quotes["usable"].to_numpy(bool))
    if not len(rows):
        raise OptvolInputError("option_quotes has no usable quote")
    take = {name: quotes[name].to_numpy()[rows] for name in _REQUIRED[1:-1]}
    dates = quotes["quote_date"].to_numpy("datetime64[ns]")[rows]
    _, day, spot_of_day = trading_days(dates, take["underlying_last"])
    usable = _Usable(
        day=day,
        spot_of_day=spot_of_day,
        expiry=take["expiration"].astype("datetime64[ns]").view(np.int64),
        root=option_classes(quotes, rows)[0],
        is_call=take["option_type"].astype(str) == "C",
        strike=take["strike"].astype(float),
        tau=take["tau"].astype(float),
        dte_days=take["dte_days"].astype(np.int64),
        relative_spread=(take["ask"] - take["bid"]).astype(float) / take["mid"].astype(float),
        iv=np.empty(0),
        carry=np.empty(0),
    )
    usable.carry = quote_carry(quotes, rows, usable.spot, config)[0]
    iv = implied_vol(
        take["mid"].astype(float), usable.spot, usable.strike, usable.tau,
        config.risk_free_rate, dividend_yield_of(usable.carry, config), usable.is_call,
    )  # fmt: skip
    usable.iv = np.where((iv >= VALID_IV[0]) & (iv <= VALID_IV[1]), iv, np.nan)
    return usable


def _pairs(usable: _Usable) -> pd.DataFrame:
    """The pairs of :func:`contract_pairs` from the usable quotes."""
    q = usable
    order = np.lexsort((q.day, q.strike, q.is_call, q.root, q.expiry))
    same = q.day[order][1:] == q.day[order][:-1] + 1
    for key in (q.expiry, q.root, q.is_call, q.strike):
        same &= key[order][1:] == key[order][:-1]
    before, after = order[:-1][same], order[1:][same]
    log_spot = np.log(q.spot_of_day)
    return pd.DataFrame(
        {
            "day": q.day[after],
            "log_moneyness": np.log(q.strike[before] / q.spot[before])
            - q.carry[before] * q.tau[before],
            "dte_days": q.dte_days[after],
            "tau": q.tau[after],
            "is_call": q.is_call[after],
            "iv_previous": q.iv[before],
            "iv": q.iv[after],
            "iv_change": q.iv[after] - q.iv[before],
            "underlying_return": log_spot[q.day[after]] - log_spot[q.day[before]],
            "relative_spread": q.relative_spread[before],
        }
    )


def contract_pairs(quotes: pd.DataFrame, config: SampleConfig | None = None) -> pd.DataFrame:
    """Every contract quoted (usable) on two consecutive trading days of the data; a
    contract is its expiration, option class (``root``, where the table has one),
    call/put and strike.

    Returns one row per pair: ``day`` (the index of ``t`` in the data's trading days),
    ``log_moneyness`` (:math:`\\ln(K/F_{t-1})`, at the ``t-1`` forward), ``dte_days`` (at
    ``t``), ``iv_previous`` and ``iv`` (solved from the mids at the configured rate and
    each expiry's carry, NaN outside :data:`VALID_IV`), ``iv_change``,
    ``underlying_return`` and ``relative_spread`` (of the quote at ``t-1``).
    """
    return _pairs(_usable_quotes(quotes, config or SampleConfig()))


def near_money(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairs of :func:`contract_pairs` in the :data:`NEAR_MONEY` band."""
    band = NEAR_MONEY
    return pairs[
        (pairs["log_moneyness"].abs() <= band["max_abs_log_moneyness"])
        & pairs["dte_days"].between(band["min_dte"], band["max_dte"])
    ]


def _bucket_table(pairs: pd.DataFrame) -> pd.DataFrame:
    m = moneyness_bucket_index(pairs["log_moneyness"].to_numpy())
    d = dte_bucket_index(pairs["dte_days"].to_numpy())
    records = []
    for j, dte in enumerate(LEVERAGE_DTE_BUCKETS):
        for i, moneyness in enumerate(LEVERAGE_MONEYNESS_BUCKETS):
            inside = (m == i) & (d == j)
            fit = regress(pairs["underlying_return"][inside], pairs["iv_change"][inside])
            records.append({"moneyness": moneyness, "dte": dte, **fit.to_dict()})
    return pd.DataFrame(records)


def _surface_series(usable: _Usable) -> dict[str, np.ndarray]:
    """Each day's smoothed surface at the fixed points (NaN on days without a surface) and
    the underlying's log return into each day."""
    q = usable
    spot_of_day = q.spot_of_day
    coef = fit_daily_surfaces(
        q.day,
        np.log(q.strike / q.spot) - q.carry * q.tau,
        q.tau,
        q.iv,
        q.is_call,
        len(spot_of_day),
    )
    points = sorted({*FIXED_LOG_MONEYNESS, -_SKEW_WIDTH, _SKEW_WIDTH})
    n = len(coef)
    return {
        f"{x:+.2f}": evaluate_surface(coef, np.full(n, x), np.full(n, FIXED_DAYS / 365.0))
        for x in points
    } | {"return": np.concatenate([[np.nan], np.diff(np.log(spot_of_day))])}


def _autocorrelation(changes: np.ndarray) -> float:
    both = np.isfinite(changes[1:]) & np.isfinite(changes[:-1])
    if both.sum() < 3:
        return float("nan")
    return float(np.corrcoef(changes[1:][both], changes[:-1][both])[0, 1])


def iv_dynamics(quotes: pd.DataFrame, config: SampleConfig | None = None) -> IvDynamics:
    """The implied-vol dynamics of a clean ``option_quotes`` table (see the module).

    Raises :class:`OptvolInputError` when the table lacks a column or has no usable quote.
    """
    usable = _usable_quotes(quotes, config or SampleConfig())
    pairs = _pairs(usable)
    valid = pairs[np.isfinite(pairs["iv_change"]) & (pairs["dte_days"] >= MIN_DTE)]
    near = near_money(valid)
    surface = _surface_series(usable)
    returns = surface.pop("return")
    changes = {k: np.concatenate([[np.nan], np.diff(v)]) for k, v in surface.items()}
    skew = (surface[f"{-_SKEW_WIDTH:+.2f}"] - surface[f"{_SKEW_WIDTH:+.2f}"]) / (2 * _SKEW_WIDTH)
    spreads = pairs["relative_spread"]
    near_spreads = pairs.loc[near.index, "relative_spread"]
    return IvDynamics(
        days=int(len(returns)),
        pairs=int(len(pairs)),
        near_money=regress(near["underlying_return"], near["iv_change"]),
        all_pairs=regress(valid["underlying_return"], valid["iv_change"]),
        buckets=_bucket_table(pairs[np.isfinite(pairs["iv_change"])]),
        fixed_moneyness={
            f"{x:+.2f}": regress(returns, changes[f"{x:+.2f}"]) for x in FIXED_LOG_MONEYNESS
        },
        skew=regress(returns, np.concatenate([[np.nan], np.diff(skew)])),
        atm_change_autocorrelation=_autocorrelation(changes["+0.00"]),
        median_relative_spread=float(np.nanmedian(spreads)) if len(spreads) else float("nan"),
        near_money_relative_spread=(
            float(np.nanmedian(near_spreads)) if len(near_spreads) else float("nan")
        ),
        return_sd=float(np.nanstd(returns)),
        near_money_pairs=near[["underlying_return", "iv_change"]].reset_index(drop=True),
    )


def format_dynamics(dynamics: IvDynamics) -> str:
    """The statistics as plain text: the headline regressions, then the bucket table."""

    def line(label: str, fit: Regression) -> str:
        return (
            f"  {label:<34} slope {fit.slope:+7.3f}  R^2 {fit.r2:6.3f}  "
            f"resid sd {fit.residual_sd:7.4f}  n {fit.n:>8,}"
        )

    band = NEAR_MONEY
    lines = [
        f"{dynamics.days} trading days, {dynamics.pairs:,} contract pairs on consecutive days",
        "change of mid implied vol on the underlying's log return into the day:",
        line(
            f"near money (|ln K/F|<={band['max_abs_log_moneyness']:g}, "
            f"{band['min_dte']}-{band['max_dte']}d)",
            dynamics.near_money,
        ),
        line(f"all pairs, >= {MIN_DTE} days", dynamics.all_pairs),
        *(
            line(f"surface ln K/F={k}, {FIXED_DAYS}d", v)
            for k, v in dynamics.fixed_moneyness.items()
        ),  # fmt: skip
        line(f"surface skew (per unit ln K/F), {FIXED_DAYS}d", dynamics.skew),
        f"  lag-1 autocorrelation of ATM vol changes: {dynamics.atm_change_autocorrelation:+.3f}",
        f"  median relative spread: {dynamics.median_relative_spread:.3f} "
        f"(near money {dynamics.near_money_relative_spread:.3f}); daily return sd "
        f"{dynamics.return_sd:.4f}",
        "by bucket (ln K/F at t-1 x days to expiry at t):",
    ]
    table = dynamics.buckets[dynamics.buckets["n"] > 0]
    lines.append(
        table.to_string(
            index=False,
            columns=["dte", "moneyness", "slope", "r2", "residual_sd", "n"],
            float_format=lambda v: f"{v:.3f}",
        )
    )
    return "\n".join(lines)
