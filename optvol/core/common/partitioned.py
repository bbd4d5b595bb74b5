"""Partitioned tables, one value per partition key, each made only when asked for.

A run over many quote months hands its months around as a :class:`LazyTables`: an asset
returns one whose values compute (clean, read) a month each, and the IO manager writes
them as they come, two at a time
(:func:`~optvol.core.common.threads.in_order_on_threads`), so a range of months needs
the memory of two months, not of all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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
