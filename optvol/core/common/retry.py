"""The ingest retry schedule of the SPY plan: up to 3 retries, 1 s -> 2 s -> 4 s.

Dagster's ``Backoff.EXPONENTIAL`` waits ``(2**n - 1) * delay`` before retry ``n`` (1, 3,
7 s for ``delay=1``), not the plan's doubling, so ingest errors request their retries with
the delays computed here; the asset's ``RetryPolicy`` covers any other exception.
:func:`with_retries` runs that schedule for an ingest's read and for a download.
"""

from __future__ import annotations

from collections.abc import Callable
from time import sleep
from typing import TypeVar

T = TypeVar("T")

INGEST_MAX_RETRIES = 3
INGEST_BASE_DELAY_SECONDS = 1.0


def ingest_retry_delay(retry: int, base: float = INGEST_BASE_DELAY_SECONDS) -> float:
    """Seconds to wait before retry number ``retry`` (1-based): ``base * 2**(retry - 1)``."""
    if retry < 1:
        raise ValueError(f"retry numbers start at 1, got {retry}")
    return base * 2 ** (retry - 1)


def with_retries(
    call: Callable[[], T],
    transient: type[Exception],
    on_retry: Callable[[Exception, int, float], None],
    wait: Callable[[float], None] = sleep,
) -> T:
    """``call()``, tried again after 1, 2 and 4 s while it raises ``transient``: before
    each retry ``on_retry(error, retry number, delay)`` is told, then ``wait(delay)``. The
    last attempt's error is raised as it is."""
    for attempt in range(INGEST_MAX_RETRIES + 1):
        try:
            return call()
        except transient as err:
            if attempt == INGEST_MAX_RETRIES:
                raise
            delay = ingest_retry_delay(attempt + 1)
            on_retry(err, attempt + 1, delay)
            wait(delay)
    raise AssertionError("unreachable")
