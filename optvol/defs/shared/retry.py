"""What the two ingest assets share: the retry behaviour and the file report metadata."""

from __future__ import annotations

import dagster as dg

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.retry import (
    INGEST_BASE_DELAY_SECONDS,
    INGEST_MAX_RETRIES,
    ingest_retry_delay,
)

# Retries any unexpected exception (e.g. a transient OSError on a network drive). Input
# errors are retried on the plan's exact 1-2-4 s schedule by `retry_or_fail`.
INGEST_RETRY_POLICY = dg.RetryPolicy(
    max_retries=INGEST_MAX_RETRIES,
    delay=INGEST_BASE_DELAY_SECONDS,
    backoff=dg.Backoff.EXPONENTIAL,
)


def retry_or_fail(context: dg.AssetExecutionContext, err: OptvolInputError) -> Exception:
    """The exception to raise for an input error: a timed retry while retries remain,
    then a failure whose message names the file (and, for a missing input, its path)."""
    context.log.error(str(err))
    attempt = context.retry_number + 1
    if attempt <= INGEST_MAX_RETRIES:
        delay = ingest_retry_delay(attempt)
        context.log.info("Retry %d of %d in %.0f s", attempt, INGEST_MAX_RETRIES, delay)
        return dg.RetryRequested(max_retries=INGEST_MAX_RETRIES, seconds_to_wait=delay)
    return dg.Failure(
        description=f"ingest failed after {INGEST_MAX_RETRIES} retries: {err}",
        metadata={"error": str(err)},
    )
