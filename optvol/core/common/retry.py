"""The ingest retry schedule of the SPY plan: up to 3 retries, 1 s -> 2 s -> 4 s.

Dagster's ``Backoff.EXPONENTIAL`` waits ``(2**n - 1) * delay`` before retry ``n`` (1, 3,
7 s for ``delay=1``), not the plan's doubling, so ingest errors request their retries with
the delays computed here; the asset's ``RetryPolicy`` covers any other exception.
"""

from __future__ import annotations

INGEST_MAX_RETRIES = 3
INGEST_BASE_DELAY_SECONDS = 1.0


def ingest_retry_delay(retry: int, base: float = INGEST_BASE_DELAY_SECONDS) -> float:
    """Seconds to wait before retry number ``retry`` (1-based): ``base * 2**(retry - 1)``."""
    if retry < 1:
        raise ValueError(f"retry numbers start at 1, got {retry}")
    return base * 2 ** (retry - 1)
