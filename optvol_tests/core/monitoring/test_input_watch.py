"""Noticing new, changed and removed input files (optvol.core.monitoring.input_watch)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import optvol.core.monitoring.input_watch as watch
from optvol.core.monitoring.input_watch import FileState, WatchCursor, scan

LONG_AGO = time.time() - 3600


def _write(path: Path, text: str, mtime: float = LONG_AGO) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    _write(tmp_path / "raw" / "options" / "spy_2020.txt", "a,b\n1,2\n")
    _write(tmp_path / "raw" / "raw_market.csv", "date,spx_close\n")
    return tmp_path


def test_first_look_sees_every_file_and_the_second_none(root):
    first = scan(root, {})
    assert {c.asset: c.added for c in first.changes} == {
        "raw_option_quotes": ["spy_2020.txt"],
        "raw_market": ["raw_market.csv"],
    }
    second = scan(root, first.state)
    assert second.changes == [] and second.waiting == {}
    assert second.state == first.state


def test_a_new_file_changes_only_its_group(root):
    state = scan(root, {}).state
    _write(root / "raw" / "options" / "spy_2021.csv.gz", "x")
    result = scan(root, state)
    assert [(c.asset, c.added, c.changed, c.removed) for c in result.changes] == [
        ("raw_option_quotes", ["spy_2021.csv.gz"], [], [])
    ]
    assert "added spy_2021.csv.gz" in result.changes[0].describe()


def test_changed_bytes_of_the_same_size_are_a_change(root):
    state = scan(root, {}).state
    _write(root / "raw" / "options" / "spy_2020.txt", "a,b\n1,3\n", mtime=LONG_AGO + 60)
    (change,) = scan(root, state).changes
    assert change.changed == ["spy_2020.txt"]
    assert change.digest != watch.state_digest(state["raw_option_quotes"])


def test_a_touched_file_is_not_a_change_but_its_mtime_is_remembered(root):
    state = scan(root, {}).state
    path = root / "raw" / "raw_market.csv"
    os.utime(path, (LONG_AGO + 60, LONG_AGO + 60))
    result = scan(root, state)
    assert result.changes == []
    assert result.state["raw_market"]["raw_market.csv"].mtime_ns == path.stat().st_mtime_ns


def test_a_removed_file_is_a_change(root):
    state = scan(root, {}).state
    (root / "raw" / "options" / "spy_2020.txt").unlink()
    (change,) = scan(root, state).changes
    assert (change.asset, change.removed, change.files) == (
        "raw_option_quotes",
        ["spy_2020.txt"],
        {},
    )


def test_hidden_and_unsupported_files_are_ignored(root):
    state = scan(root, {}).state
    _write(root / "raw" / "options" / ".spy_2021.txt.part", "partial")
    _write(root / "raw" / "options" / "notes.md", "not a chain")
    (root / "raw" / "options" / "sub").mkdir()
    assert scan(root, state).changes == []


def test_content_is_hashed_only_when_size_or_mtime_moved(root, monkeypatch):
    state = scan(root, {}).state
    hashed: list[str] = []
    real = watch.file_sha256
    monkeypatch.setattr(watch, "file_sha256", lambda p: hashed.append(p.name) or real(p))
    scan(root, state)
    assert hashed == []
    _write(root / "raw" / "raw_market.csv", "date,spx_close\n2020-01-02,3257\n")
    scan(root, state)
    assert hashed == ["raw_market.csv"]


def test_a_file_still_being_written_waits_and_keeps_the_previous_state(root):
    state = scan(root, {}).state
    now = time.time()
    _write(root / "raw" / "options" / "spy_2021.txt", "half a fi", mtime=now - 2)
    waiting = scan(root, state, settle_seconds=10, now=now)
    assert waiting.changes == []
    assert waiting.waiting == {"raw_option_quotes": "a file is still being written"}
    assert waiting.state["raw_option_quotes"] == state["raw_option_quotes"]
    later = scan(root, waiting.state, settle_seconds=10, now=now + 30)
    assert [c.added for c in later.changes] == [["spy_2021.txt"]]


def test_missing_inputs_are_an_empty_group(tmp_path):
    result = scan(tmp_path, {})
    assert result.changes == [] and result.state == {"raw_option_quotes": {}, "raw_market": {}}


def test_the_digest_ignores_mtimes_and_order():
    a = {"x.txt": FileState(3, 1, "aa"), "y.txt": FileState(4, 2, "bb")}
    b = {"y.txt": FileState(4, 99, "bb"), "x.txt": FileState(3, 7, "aa")}
    assert watch.state_digest(a) == watch.state_digest(b)
    assert watch.state_digest(a) != watch.state_digest({"x.txt": FileState(3, 1, "aa")})


def test_a_file_that_vanishes_mid_look_holds_back_only_its_group(root, monkeypatch):
    state = scan(root, {}).state
    _write(root / "raw" / "options" / "spy_2021.txt", "x")
    _write(root / "raw" / "raw_market.csv", "date,spx_close\n2020-01-02,3257\n")

    def vanished(path):
        if path.name == "spy_2021.txt":
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real(path)

    real = watch.file_sha256
    monkeypatch.setattr(watch, "file_sha256", vanished)
    result = scan(root, state)
    assert [c.asset for c in result.changes] == ["raw_market"]
    assert result.waiting["raw_option_quotes"].startswith("cannot read ")
    assert "spy_2021.txt" in result.waiting["raw_option_quotes"]
    assert result.state["raw_option_quotes"] == state["raw_option_quotes"]  # looked at again


def test_the_cursor_round_trips_and_garbage_reads_as_fresh(root):
    cursor = WatchCursor(scan(root, {}).state, {"raw_market": 3}, {"a.csv": ["2020-01"]})
    assert WatchCursor.from_json(cursor.to_json()) == cursor
    # A cursor written before partitions were remembered still reads, with none known.
    older = WatchCursor.from_json('{"files": {}, "requests": {"raw_market": 2}}')
    assert older == WatchCursor({}, {"raw_market": 2}, {})
    for garbage in (
        None, "", "not json", "[1, 2]", '{"files": {}}', '{"files": {"a": {"f": {"size": 1}}},'
        ' "requests": {}}', '{"files": {}, "requests": {"raw_market": "many"}}',
        '{"files": {}, "requests": {}, "partitions": {"a.csv": 7}}',
    ):  # fmt: skip
        assert WatchCursor.from_json(garbage) == WatchCursor()
