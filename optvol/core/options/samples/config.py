"""How samples are built and split (:class:`SampleConfig`); the model card stores it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

FORWARDS = ("parity", "fixed")
EVALUATIONS = ("walk_forward", "split")
MIN_SEQUENCE_LENGTH = 6
# The choices made from the data when validation_days or refit_every_days is 0.
MIN_VALIDATION_DAYS, MAX_VALIDATION_DAYS = 5, 63
TARGET_REFITS, MIN_REFIT_DAYS = 12, 5


@dataclass(frozen=True)
class SampleConfig:
    """How samples are built and split; stored in the model card.

    ``risk_free_rate`` is the continuously compounded annual rate of every Black-Scholes
    computation (baselines, greeks, implied vols). With ``forward="parity"`` each expiry
    is priced at its put-call-parity forward where the quotes give one
    (:mod:`optvol.core.options.pricing.forward`), and at the carry ``risk_free_rate -
    dividend_yield`` where they do not; ``"fixed"`` prices every expiry at that carry.
    Splits are by whole sample dates.

    With ``evaluation="walk_forward"`` (the default) the model is judged by an expanding
    window: the first ``min_train_days`` sample dates make the first training window,
    whose last ``validation_days`` validate; the ``refit_every_days`` dates after it are
    its test block; then the window grows by that block and every model is refitted,
    until every date after the first window has been a test date once
    (:mod:`optvol.core.options.walk_forward`). ``refit_every_days = 0`` refits about
    ``TARGET_REFITS`` times over the test dates (every
    :math:`\\max(5, \\lceil n_{test}/12 \\rceil)` dates); ``validation_days = 0``
    validates on the last fifth of each window (from 5 to 63 dates). The model that is
    saved and served trains on every date but the last validation days, which validate.

    With ``evaluation="split"`` (quick runs) one chronological split both trains and
    judges it: the first ``train_fraction`` of the dates train, the next
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
    evaluation: str = "walk_forward"
    refit_every_days: int = 0
    min_train_days: int = 20
    validation_days: int = 0

    def __post_init__(self) -> None:
        if self.forward not in FORWARDS:
            raise ValueError(f"forward must be one of {FORWARDS}, got {self.forward!r}")
        if self.evaluation not in EVALUATIONS:
            raise ValueError(f"evaluation must be one of {EVALUATIONS}, got {self.evaluation!r}")
        for name in ("refit_every_days", "validation_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0: chosen from the data), "
                                 f"got {getattr(self, name)}")  # fmt: skip
        if self.min_train_days < MIN_VALIDATION_DAYS + 1:
            raise ValueError(
                f"min_train_days must be >= {MIN_VALIDATION_DAYS + 1}, got {self.min_train_days}"
            )
        if self.validation_days and self.min_train_days <= self.validation_days:
            raise ValueError(
                f"min_train_days ({self.min_train_days}) must exceed validation_days "
                f"({self.validation_days}): the first window needs training dates"
            )
        if self.sequence_length < MIN_SEQUENCE_LENGTH:
            # iv_deviation_vs_recent reads the window's last RECENT_DAYS + 1 days.
            raise ValueError(
                f"sequence_length must be >= {MIN_SEQUENCE_LENGTH}, got {self.sequence_length}"
            )
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

    def validation_days_of(self, window_days: int) -> int:
        """The validation dates at the end of a training window of ``window_days`` dates:
        ``validation_days``, or a fifth of the window from 5 to 63 dates (leaving at
        least one training date)."""
        if self.validation_days:
            return self.validation_days
        fifth = int(round(window_days / 5))
        return max(1, min(max(MIN_VALIDATION_DAYS, min(fifth, MAX_VALIDATION_DAYS)),
                          window_days - 1))  # fmt: skip

    def refit_every_days_of(self, test_days: int) -> int:
        """The test dates between refits: ``refit_every_days``, or about
        ``TARGET_REFITS`` refits over ``test_days`` (at least 5 dates apart)."""
        if self.refit_every_days:
            return self.refit_every_days
        return max(MIN_REFIT_DAYS, -(-test_days // TARGET_REFITS))

    def to_dict(self) -> dict:
        return asdict(self)
