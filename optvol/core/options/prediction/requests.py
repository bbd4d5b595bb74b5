"""What a caller asks the option predictor for, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


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
    """The GRU's price, its delta (the derivative of its price in the underlying's, at the
    given one), every baseline's price and the realized mid when the data has it."""

    request: ContractRequest
    gru: float
    baselines: dict[str, float]
    realized_mid: float | None
    previous_date: date
    history_source: str
    quoted_days: int
    delta: float = float("nan")
    inputs: dict[str, float] = field(default_factory=dict)
