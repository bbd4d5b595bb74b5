"""How samples are built and split (:class:`SampleConfig`); the model card stores it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

FORWARDS = ("parity", "fixed")


@dataclass(frozen=True)
class SampleConfig:
    """How samples are built and split; stored in the model card.

    ``risk_free_rate`` is the continuously compounded annual rate of every Black-Scholes
    computation (baselines, greeks, implied vols). With ``forward="parity"`` each expiry
    is priced at its put-call-parity forward where the quotes give one
    (:mod:`optvol.core.options.pricing.forward`), and at the carry ``risk_free_rate -
    dividend_yield`` where they do not; ``"fixed"`` prices every expiry at that carry. The
    split
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
    forward: str = "parity"

    def __post_init__(self) -> None:
        if self.forward not in FORWARDS:
            raise ValueError(f"forward must be one of {FORWARDS}, got {self.forward!r}")
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
