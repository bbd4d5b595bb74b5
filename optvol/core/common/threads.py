"""Work on a thread pool whose results come back in input order, with its log lines.

A log line written on a worker thread is handled there, by whatever handlers the logger
has: Dagster's, which writes it into the run's event log in SQLite, cannot be used from a
thread it was not created on (``sqlite3.ProgrammingError ... created in a thread``, with
a traceback from SQLAlchemy's pool for each line). So :func:`in_order_on_threads` holds
back the records that ``optvol``'s loggers (and any logger it is given, such as a step's
``context.log``) send to their handlers from its workers, and hands them to the same
handlers on the calling thread, in order, just before the result of the work that wrote
them: no line is lost, and each is handled where the handlers live.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_PACKAGE_LOGGER = __name__.split(".")[0]
_Held = list[tuple[logging.Handler, logging.LogRecord]]
# On a worker thread of in_order_on_threads: the list its work's records are held in.
_worker = threading.local()
# Handlers whose handle() is wrapped, with how many running pools wrapped them.
_wrapped: dict[logging.Handler, int] = {}
_wrapping = threading.Lock()


def _holding(handle: Callable[[logging.LogRecord], bool], handler: logging.Handler):
    """``handler.handle`` that, on a worker whose records are held, keeps the record."""

    def hold_or_handle(record: logging.LogRecord) -> bool:
        held: _Held | None = getattr(_worker, "held", None)
        if held is None:
            return handle(record)
        held.append((handler, record))
        return True

    return hold_or_handle


def _handlers_of(logger: logging.Logger) -> list[logging.Handler]:
    """Every handler a record of ``logger`` reaches, up the hierarchy."""
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        handlers.extend(h for h in current.handlers if h not in handlers)
        current = current.parent if current.propagate else None
    return handlers


@contextlib.contextmanager
def _records_held_on_workers(loggers: Iterable[logging.Logger]) -> Iterator[None]:
    """Wrap ``handle`` of every handler of ``optvol``'s loggers and of ``loggers`` (an
    instance attribute over the class's method, whatever ``filter`` the handler defines:
    Dagster's overrides it), and unwrap it when the last pool using it ends."""
    handlers = _handlers_of(logging.getLogger(_PACKAGE_LOGGER))
    for logger in loggers:
        handlers += [h for h in _handlers_of(logger) if h not in handlers]
    with _wrapping:
        for handler in handlers:
            if _wrapped.get(handler, 0) == 0:
                handler.handle = _holding(handler.handle, handler)  # type: ignore[method-assign]
            _wrapped[handler] = _wrapped.get(handler, 0) + 1
    try:
        yield
    finally:
        with _wrapping:
            for handler in handlers:
                _wrapped[handler] -= 1
                if not _wrapped[handler]:
                    del _wrapped[handler], handler.handle


def _replay(held: _Held) -> None:
    """Hand held records to their handlers: emitted here, or held again when this thread
    is itself a worker of an outer pool."""
    for handler, record in held:
        handler.handle(record)


def in_order_on_threads(
    items: Iterable[T],
    work: Callable[[T], R],
    threads: int,
    ahead: int | None = None,
    thread_name_prefix: str = "",
    hold_loggers: Iterable[logging.Logger] = (),
) -> Iterator[R]:
    """``work(item)`` for each of ``items``, yielded in input order, on ``threads``
    threads, with at most ``ahead`` items (default ``threads``) in progress at once, so at
    most that many results of ``work`` alive besides the one being consumed. The first
    error is raised in order; work not yet started then never starts. ``items`` is read
    lazily, as the work advances.

    The log records ``work`` writes to ``optvol``'s loggers, and to ``hold_loggers`` (a
    Dagster step's ``context.log``, say), are handled on the calling thread, in order,
    before its result is yielded (or its error raised)."""
    ahead = threads if ahead is None else ahead

    def holding(item: T) -> tuple[_Held, R | None, BaseException | None]:
        _worker.held = held = []
        try:
            return held, work(item), None
        except BaseException as error:  # raised on the calling thread, after its lines
            return held, None, error
        finally:
            _worker.held = None

    def result(future: Future) -> R:
        held, value, error = future.result()
        _replay(held)
        if error is not None:
            raise error
        return value

    with (
        _records_held_on_workers(hold_loggers),
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix=thread_name_prefix) as pool,
    ):
        pending: deque[Future] = deque()
        try:
            for item in items:
                pending.append(pool.submit(holding, item))
                if len(pending) >= ahead:
                    yield result(pending.popleft())
            while pending:
                yield result(pending.popleft())
        finally:
            for future in pending:
                future.cancel()
