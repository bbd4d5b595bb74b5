"""Tests for optvol.core.common.threads: ordered work on a thread pool."""

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
