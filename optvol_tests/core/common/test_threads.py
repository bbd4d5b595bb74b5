"""Tests for optvol.core.common.threads: ordered work on a thread pool, its log lines."""

import logging
import threading
import time

import pytest

from optvol.core.common.threads import in_order_on_threads


def test_in_order_on_threads_keeps_the_order_and_bounds_the_work_in_progress():
    import threading
    import time

    running, most = [0], [0]
    lock = threading.Lock()

    def work(key: str) -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02 if key in ("a", "c") else 0.0)  # later keys finish first
        with lock:
            running[0] -= 1
        return key.upper()

    assert list(in_order_on_threads("abcde", work, 2)) == ["A", "B", "C", "D", "E"]
    assert most[0] == 2


def test_in_order_on_threads_raises_the_first_error_and_starts_nothing_after_it():
    started = []

    def work(key: str) -> str:
        started.append(key)
        if key == "b":
            raise ValueError("bad b")
        return key

    results = in_order_on_threads("abcdefgh", work, 2)
    assert next(results) == "a"
    with pytest.raises(ValueError, match="bad b"):
        list(results)
    assert len(started) <= 4  # the keys in flight when b failed, none of the rest


class _Recorder(logging.Handler):
    """Keeps each record's message and the thread that handled it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(), threading.get_ident()))


def test_log_lines_of_the_work_are_handled_on_the_calling_thread_in_order():
    logger = logging.getLogger("optvol.test_threads")
    recorder = _Recorder()
    logging.getLogger("optvol").addHandler(recorder)
    logger.setLevel(logging.INFO)
    try:

        def work(item: int) -> int:
            time.sleep(0.01 * (5 - item))  # later items finish first
            logger.info("cleaned %d", item)
            logger.info("wrote %d", item)
            return item

        out = []
        for value in in_order_on_threads(range(5), work, threads=3):
            logger.info("consumed %d", value)
            out.append(value)
        with pytest.raises(ValueError, match="bad 1"):
            for _ in in_order_on_threads(range(3), _fails_at_one(logger), threads=2):
                pass
    finally:
        logging.getLogger("optvol").removeHandler(recorder)
    assert out == list(range(5))
    expected = [f"{what} {i}" for i in range(5) for what in ("cleaned", "wrote", "consumed")]
    messages = [message for message, _ in recorder.seen]
    assert messages[: len(expected)] == expected  # none lost, in the order of the items
    # The failing item's line is handed over before its error is raised.
    assert messages[len(expected) :][:2] == ["step 0", "step 1"]
    assert {thread for _, thread in recorder.seen} == {threading.get_ident()}
    assert "handle" not in vars(recorder)  # the pools unwrapped the handler when they ended


def _fails_at_one(logger: logging.Logger):
    def work(item: int) -> int:
        logger.info("step %d", item)
        if item == 1:
            raise ValueError("bad 1")
        return item

    return work
