"""Noticing new and changed input files under ``<data root>/raw/``.

A file's state is its size, its modification time and the SHA-256 of its content. Size
and mtime are cheap to read on every look; the content hash is computed only when they
moved, so a multi-GB chain file is hashed once per change, not once per look. A file
whose size and mtime moved but whose bytes did not (a ``touch``, a copy that rewrote the
same bytes) is not a change.

Files are grouped by the ingest asset that reads them (:data:`WATCHED_INPUTS`). A group
changes when one of its files is added, altered or removed. A file modified less than
``settle_seconds`` ago may still be being written (a copy in progress); its group waits
for a later look.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from optvol.core.common.input_files import SUPPORTED_SUFFIXES
from optvol.core.common.paths import MARKET_INPUT_FILE, OPTIONS_INPUT_DIR
from optvol.core.common.provenance import file_sha256

DEFAULT_SETTLE_SECONDS = 10.0


@dataclass(frozen=True)
class WatchedInput:
    """The files one ingest asset reads: every supported file of a directory, or one file."""

    asset: str
    path: str  # relative to the data root
    is_directory: bool

    def files(self, root: Path) -> list[Path]:
        """The files of this input that exist now, sorted (hidden files are skipped, as
        the ingest skips them: they are temporary files of copies in progress)."""
        target = root / self.path
        if not self.is_directory:
            return [target] if target.is_file() else []
        if not target.is_dir():
            return []
        return sorted(
            p
            for p in target.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and p.name.lower().endswith(SUPPORTED_SUFFIXES)
        )


WATCHED_INPUTS = (
    WatchedInput("raw_option_quotes", OPTIONS_INPUT_DIR, is_directory=True),
    WatchedInput("raw_market", MARKET_INPUT_FILE, is_directory=False),
)


@dataclass(frozen=True)
class FileState:
    """What identifies one version of a file."""

    size: int
    mtime_ns: int
    sha256: str


def state_digest(files: dict[str, FileState]) -> str:
    """One hash of a group's files: their names and content hashes (not their mtimes, so
    a touched file leaves the digest as it was)."""
    content = sorted((name, state.sha256) for name, state in files.items())
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()


@dataclass(frozen=True)
class InputChange:
    """A group of input files whose content changed since the last look."""

    asset: str
    files: dict[str, FileState]
    added: list[str]
    changed: list[str]
    removed: list[str]

    @property
    def digest(self) -> str:
        return state_digest(self.files)

    def describe(self) -> str:
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("added", self.added),
                ("changed", self.changed),
                ("removed", self.removed),
            )
            if names
        ]
        return f"{self.asset}: {'; '.join(parts)}"


@dataclass
class WatchResult:
    """What one look found: the groups that changed, the groups still settling or not
    readable (asset -> why), and the state to remember — those groups keep their
    previous state, so they are looked at again next time."""

    changes: list[InputChange]
    waiting: dict[str, str]
    state: dict[str, dict[str, FileState]]


class _Settling(Exception):
    """A file of the group was modified less than the settling time ago."""


def _group_state(
    group: WatchedInput,
    root: Path,
    before: dict[str, FileState],
    settle_seconds: float,
    now: float,
) -> dict[str, FileState]:
    """The current state of one group's files; raises OSError when a file vanished or
    cannot be read mid-look, and :class:`_Settling` when one is still being written."""
    paths = group.files(root)
    stats = {path.name: path.stat() for path in paths}
    if any(now - stat.st_mtime < settle_seconds for stat in stats.values()):
        raise _Settling
    current = {}
    for path in paths:
        stat = stats[path.name]
        known = before.get(path.name)
        if known and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            current[path.name] = known
        else:
            current[path.name] = FileState(stat.st_size, stat.st_mtime_ns, file_sha256(path))
    return current


def scan(
    root: Path,
    previous: dict[str, dict[str, FileState]],
    *,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    now: float | None = None,
    watched: tuple[WatchedInput, ...] = WATCHED_INPUTS,
) -> WatchResult:
    """Compare the input files under ``root`` with ``previous`` (asset -> file name ->
    state, as returned in an earlier :class:`WatchResult`)."""
    now = time.time() if now is None else now
    result = WatchResult(changes=[], waiting={}, state={})
    for group in watched:
        before = previous.get(group.asset, {})
        result.state[group.asset] = before
        try:
            current = _group_state(group, root, before, settle_seconds, now)
        except _Settling:
            result.waiting[group.asset] = "a file is still being written"
            continue
        except OSError as err:  # vanished or unreadable: this group waits, others go on
            result.waiting[group.asset] = f"cannot read {err.filename or group.path}: " + (
                err.strerror or str(err)
            )
            continue
        result.state[group.asset] = current
        added = sorted(set(current) - set(before))
        removed = sorted(set(before) - set(current))
        changed = sorted(
            name
            for name in set(current) & set(before)
            if current[name].sha256 != before[name].sha256
        )
        if added or removed or changed:
            result.changes.append(InputChange(group.asset, current, added, changed, removed))
    return result


@dataclass
class WatchCursor:
    """What the file sensor remembers between looks: each group's file states, and how
    many ingests it has requested per asset (numbering its run keys, so a re-evaluated
    look repeats its key while a later change, even back to an earlier state, does not)."""

    state: dict[str, dict[str, FileState]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    # File name -> the partitions (quote months) its content held when last seen, so that
    # a changed or removed file re-ingests the months it used to fill.
    partitions: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> str:
        files = {
            asset: {name: asdict(s) for name, s in states.items()}
            for asset, states in self.state.items()
        }
        document = {"files": files, "requests": self.requests, "partitions": self.partitions}
        return json.dumps(document, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> WatchCursor:
        """The cursor of ``text``; an empty or unreadable one is a fresh cursor (the next
        look then treats every file as new)."""
        if not text:
            return cls()
        try:
            raw = json.loads(text)
            state = {
                asset: {name: FileState(**fields) for name, fields in files.items()}
                for asset, files in raw["files"].items()
            }
            requests = {str(asset): int(n) for asset, n in raw["requests"].items()}
            partitions = {
                str(name): [str(key) for key in keys]
                for name, keys in raw.get("partitions", {}).items()
            }
        except (ValueError, TypeError, AttributeError, KeyError):
            return cls()
        return cls(state, requests, partitions)
