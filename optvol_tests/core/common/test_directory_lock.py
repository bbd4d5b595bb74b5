"""Tests for optvol.core.common.directory_lock: held against other holders, in this
process and in others, and released when its holder dies."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading

import pytest

from optvol.core.common.directory_lock import LOCK_FILE, DirectoryBusy, directory_lock


def test_a_second_holder_waits_then_gives_up_naming_the_work(tmp_path):
    waits: list[float] = []
    busy = pytest.raises(DirectoryBusy, match=f"another market download of {tmp_path}")
    second = directory_lock(tmp_path, "market download", timeout=0.2, wait=waits.append)
    with directory_lock(tmp_path, "market download"), busy, second:
        pytest.fail("held twice")
    assert waits and all(w == 0.25 for w in waits)
    with directory_lock(tmp_path, "market download", timeout=0):  # free again
        pass
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_FILE]  # one hidden file, kept


def test_a_waiting_holder_goes_on_once_the_first_ends(tmp_path, caplog):
    caplog.set_level("INFO")
    order: list[str] = []
    first_holds = threading.Event()

    def first():
        with directory_lock(tmp_path, "download"):
            first_holds.set()
            threading.Event().wait(0.3)
            order.append("first ends")

    thread = threading.Thread(target=first)
    thread.start()
    first_holds.wait(5)
    with directory_lock(tmp_path, "download", timeout=30, poll=0.05):
        order.append("second runs")
    thread.join()
    assert order == ["first ends", "second runs"]
    assert f"Waiting for another download of {tmp_path} to end" in caplog.text


def test_a_holder_that_dies_releases_the_lock(tmp_path):
    script = (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(tmp_path / LOCK_FILE)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = directory_lock(tmp_path, "download", timeout=0.1, wait=lambda s: None)
        with pytest.raises(DirectoryBusy), busy:
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with directory_lock(tmp_path, "download", timeout=0):
        fd = os.open(tmp_path / LOCK_FILE, os.O_RDWR)
        with pytest.raises(BlockingIOError):  # held by us now, as another process sees it
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)


def test_a_missing_directory_is_created(tmp_path):
    with directory_lock(tmp_path / "data" / "root", "download"):
        assert (tmp_path / "data" / "root").is_dir()


def test_a_file_system_that_cannot_lock_runs_the_work_unlocked_with_a_warning(
    tmp_path, monkeypatch, caplog
):
    import errno

    def refuse(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", refuse)
    ran = []
    with directory_lock(tmp_path, "market download"):
        ran.append(True)
    assert ran == [True]
    assert "Cannot lock" in caplog.text and "runs unlocked" in caplog.text
