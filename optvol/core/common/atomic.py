"""Atomic file writes: a failed write never leaves a torn file, and the last good one stays."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from optvol.core.common.storage import ArtifactPath, is_remote, upload

log = logging.getLogger(__name__)

# A temporary file is named .<target>.<host>-<pid>.<random>.tmp, so that one left by a
# killed writer (kill -9, a lost machine) can be told from one being written right now.
_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname()) or "host"
_TEMP = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")
# Another machine's processes cannot be seen from here (a shared file system): its
# temporary files, and unnamed ones, count as abandoned only after a day untouched.
STALE_AFTER_S = 24 * 3600


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _abandoned(entry: os.DirEntry, now: float) -> bool:
    named = _TEMP.match(entry.name)
    if named and named["host"] == _HOST:
        return not _alive(int(named["pid"]))
    try:
        return now - entry.stat().st_mtime > STALE_AFTER_S
    except OSError:
        return False


def remove_abandoned_temp_files(directory: str | os.PathLike) -> list[str]:
    """Remove the temporary files of :func:`atomic_path` in ``directory`` whose writer is
    gone: a process of this machine that no longer exists, or, for another machine's,
    a day without change. A write in progress (here or elsewhere) is never touched.
    Returns the names removed."""
    removed, now = [], time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if entry.name.startswith(".") and entry.name.endswith(".tmp") and _abandoned(entry, now):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(entry.name)
    if removed:
        log.info("Removed %d temporary file(s) a killed write left in %s: %s",
                 len(removed), directory, ", ".join(sorted(removed)))  # fmt: skip
    return removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike | ArtifactPath) -> Iterator[Path]:
    """Yield a temporary local path; on success it replaces ``target``.

    For a local ``target`` the temporary file lives in the same directory so that
    ``os.replace`` is an atomic rename on POSIX and Windows. For a remote ``target`` (a
    :class:`~upath.UPath`) it lives in a local temporary directory and is uploaded in one
    put once complete. If the body raises, the temporary file is removed and ``target``
    is left exactly as it was. Temporary files that killed writers left in the directory
    are removed first (:func:`remove_abandoned_temp_files`).
    """
    if is_remote(target):
        with tempfile.TemporaryDirectory(prefix="optvol-upload-") as staging:
            staged = Path(staging) / target.name
            yield staged
            upload(staged, target)
        return
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temp_files(target.parent)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.{_HOST}-{os.getpid()}.", suffix=".tmp", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600; give the artifact the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike | ArtifactPath) -> Iterator[BinaryIO]:
    """Open a binary file that replaces ``target`` only once it is complete."""
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_group() -> Iterator[Callable[[str | os.PathLike | ArtifactPath], Path]]:
    """Several files replaced together: ``stage(target)`` gives a temporary path for
    ``target`` (as :func:`atomic_path`); the targets are replaced only once the whole block
    has completed, and if it raises none is. (A failure while replacing, such as a lost
    connection during the uploads, leaves the files before it replaced, each whole.)"""
    with contextlib.ExitStack() as staged:
        yield lambda target: staged.enter_context(atomic_path(target))
