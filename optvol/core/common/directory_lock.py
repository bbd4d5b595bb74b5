"""An exclusive lock on a directory, held across processes while a ``with`` block runs:
``flock`` on a hidden file in it (``.optvol.lock``, opened for writing, as a network
file system's emulation of ``flock`` requires), released when its holder ends or dies.
Where the file system cannot lock, or ``fcntl`` does not exist (Windows), the work goes
on unlocked after a warning."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from optvol.core.common.errors import OptvolInputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

__all__ = ["LOCK_FILE", "DirectoryBusy", "directory_lock"]

LOCK_FILE = ".optvol.lock"

log = logging.getLogger(__name__)


class DirectoryBusy(OptvolInputError):
    """Another process held the lock for longer than the wait allowed."""


@contextlib.contextmanager
def directory_lock(
    directory: str | os.PathLike,
    what: str,
    timeout: float = 600.0,
    poll: float = 0.25,
    wait: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold ``directory`` (created if missing) against every other holder, waiting up to
    ``timeout`` seconds for one to finish; ``what`` names the work in the messages."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - not POSIX
        log.warning("No file locks on this system: the %s of %s runs unlocked", what, directory)
        yield
        return
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        locked = _acquire(fd, directory, what, timeout, poll, wait)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, directory: Path, what: str, timeout: float, poll: float,
             wait: Callable[[float], None]) -> bool:  # fmt: skip
    """Whether the lock was taken: False where the file system cannot lock at all."""
    deadline, told = time.monotonic() + timeout, False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except OSError as err:  # ENOLCK, EOPNOTSUPP, ...: a file system without locks
            log.warning("Cannot lock %s (%s): the %s runs unlocked", directory, err, what)
            return False
        if time.monotonic() >= deadline:
            raise DirectoryBusy(
                f"another {what} of {directory} has run for over {timeout:g} s; "
                "try again when it has ended"
            )
        if not told:
            log.info("Waiting for another %s of %s to end", what, directory)
            told = True
        wait(poll)
