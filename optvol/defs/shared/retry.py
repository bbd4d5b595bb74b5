"""What the two ingest assets share: the retry behaviour and the file report metadata."""

from __future__ import annotations

from collections.abc import Callable
from time import sleep
from typing import TypeVar

import dagster as dg

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.retry import (
    INGEST_BASE_DELAY_SECONDS,
    INGEST_MAX_RETRIES,
    with_retries,
)

T = TypeVar("T")

# Retries any unexpected exception (e.g. a transient OSError on a network drive). Input
# errors are retried inside the step on the plan's exact 1-2-4 s schedule by
# `read_with_retries`.
INGEST_RETRY_POLICY = dg.RetryPolicy(
    max_retries=INGEST_MAX_RETRIES,
    delay=INGEST_BASE_DELAY_SECONDS,
    backoff=dg.Backoff.EXPONENTIAL,
)


def read_with_retries(
    context: dg.AssetExecutionContext,
    read: Callable[[], T],
) -> T:
    """``read()``, tried again after 1, 2 and 4 s while it raises an input error (a file
    still being copied can heal), then a failure whose message names the file.

    The retries happen inside the step rather than as Dagster step retries: each attempt
    prints one line (what is wrong, and when the next try is), not a retry event with two
    stack traces, and the final failure carries the message once, with no chained
    traceback and no further retry by the step's policy.
    """

    def tell(err: Exception, retry: int, delay: float) -> None:
        context.log.warning("%s; retry %d of %d in %.0f s", err, retry, INGEST_MAX_RETRIES, delay)

    try:
        return with_retries(read, OptvolInputError, tell, wait=sleep)
    except OptvolInputError as err:
        raise dg.Failure(
            description=f"ingest failed after {INGEST_MAX_RETRIES} retries: {err}",
            metadata={"error": str(err)},
            allow_retries=False,
        ) from None
