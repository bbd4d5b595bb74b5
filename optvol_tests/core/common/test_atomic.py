"""Atomic writes: the last good file stays, and what a killed writer left is cleaned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from optvol.core.common import atomic
from optvol.core.common.atomic import atomic_open, atomic_path, remove_abandoned_temp_files

# A writer that stages its temporary file, says so, and waits to be killed.
WRITER = """
import sys, time
from optvol.core.common.atomic import atomic_open
with atomic_open(sys.argv[1]) as handle:
    handle.write(b"half a table")
    handle.flush()
    print("staged", flush=True)
    time.sleep(60)
"""


def _start_writer(target) -> subprocess.Popen:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline().strip() == "staged"
    return writer


def _temp_files(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "t.parquet"
    target.write_bytes(b"good")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write(b"bad")
        raise RuntimeError("died halfway")
    assert target.read_bytes() == b"good" and _temp_files(tmp_path) == []


def test_the_temp_file_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "2020-01.parquet"
    target.write_bytes(b"good")
    killed = _start_writer(target)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    (left,) = _temp_files(tmp_path)
    assert left.startswith(".2020-01.parquet.") and f"-{killed.pid}." in left
    assert target.read_bytes() == b"good"
    running = _start_writer(tmp_path / "2020-02.parquet")  # a write in progress
    try:
        (in_progress,) = [n for n in _temp_files(tmp_path) if f"-{running.pid}." in n]
        with atomic_open(tmp_path / "2020-03.parquet") as handle:
            handle.write(b"another month")
        assert _temp_files(tmp_path) == [in_progress]  # the killed one gone, not the live one
    finally:
        running.kill()
        running.wait()


def test_other_machines_temp_files_are_removed_only_after_a_day(tmp_path):
    young = tmp_path / ".2020-01.parquet.otherhost-12.abc_12.tmp"
    old = tmp_path / ".2020-02.parquet.otherhost-13.def_34.tmp"
    unnamed = tmp_path / ".2020-03.parquet.x1y2z3.tmp"  # written before names held a pid
    for path in (young, old, unnamed):
        path.write_bytes(b"x")
    day_ago = time.time() - atomic.STALE_AFTER_S - 60
    os.utime(old, (day_ago, day_ago))
    os.utime(unnamed, (day_ago, day_ago))
    (tmp_path / ".hidden_notes.txt").write_bytes(b"not ours")
    assert sorted(remove_abandoned_temp_files(tmp_path)) == sorted([old.name, unnamed.name])
    assert young.exists() and (tmp_path / ".hidden_notes.txt").exists()
    assert remove_abandoned_temp_files(tmp_path / "missing") == []


def test_the_temp_file_is_named_for_its_writer(tmp_path):
    with atomic_path(tmp_path / "m.json") as tmp:
        assert tmp.parent == tmp_path
        assert atomic._TEMP.match(tmp.name)["pid"] == str(os.getpid())
        tmp.write_text("{}")
    assert (tmp_path / "m.json").read_text() == "{}"
