"""Partitioned tables, one value per partition key, each made only when asked for.

A run over many quote months hands its months around as a :class:`LazyTables`: an asset
returns one whose values compute (clean, read) a month each, and the IO manager writes
them as they come (:func:`in_order_on_threads`: two at a time), so a range of months
needs the memory of two months, not of all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class LazyTables(Mapping[str, T]):
    """Partition key -> value, each value produced by its zero-argument callable when it
    is looked up (every time: nothing is cached, so a value dropped by the caller is freed).

    Iteration follows the order of ``producers``; ``len``, ``in`` and ``keys()`` produce
    nothing.
    """

    def __init__(self, producers: Mapping[str, Callable[[], T]]):
        self._producers = dict(producers)
        for key, producer in self._producers.items():
            if not callable(producer):
                raise TypeError(
                    f"LazyTables needs a zero-argument callable per key; {key!r} maps to "
                    f"{type(producer).__name__}"
                )

    def __getitem__(self, key: str) -> T:
        return self._producers[key]()

    def __iter__(self) -> Iterator[str]:
        return iter(self._producers)

    def __len__(self) -> int:
        return len(self._producers)

    def __contains__(self, key: object) -> bool:
        return key in self._producers

    def __repr__(self) -> str:
        return f"LazyTables({list(self._producers)!r})"


def in_order_on_threads(keys: Iterable[str], work: Callable[[str], R], threads: int) -> Iterator[R]:
    """``work(key)`` for each of ``keys``, yielded in key order, with at most ``threads``
    keys in progress at once (so at most that many results of ``work`` alive besides the
    one being consumed). The first error is raised in order; work not yet started then
    never starts."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for key in keys:
                pending.append(pool.submit(work, key))
                if len(pending) >= threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
