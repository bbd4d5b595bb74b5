"""Work on a thread pool whose results come back in input order."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def in_order_on_threads(
    items: Iterable[T],
    work: Callable[[T], R],
    threads: int,
    ahead: int | None = None,
    thread_name_prefix: str = "",
) -> Iterator[R]:
    """``work(item)`` for each of ``items``, yielded in input order, on ``threads``
    threads, with at most ``ahead`` items (default ``threads``) in progress at once, so at
    most that many results of ``work`` alive besides the one being consumed. The first
    error is raised in order; work not yet started then never starts. ``items`` is read
    lazily, as the work advances."""
    ahead = threads if ahead is None else ahead
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=thread_name_prefix) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
