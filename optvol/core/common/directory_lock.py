"""An exclusive lock on a directory, held across processes while a ``with`` block runs:
``flock`` on the directory itself, so no lock file is left behind and a holder that dies
releases it with its process. Where ``fcntl`` does not exist (Windows), nothing is
locked."""

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

__all__ = ["DirectoryBusy", "directory_lock"]

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
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        deadline, told = time.monotonic() + timeout, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DirectoryBusy(
                        f"another {what} of {directory} has run for over {timeout:g} s; "
                        "try again when it has ended"
                    ) from None
                if not told:
                    log.info("Waiting for another %s of %s to end", what, directory)
                    told = True
                wait(poll)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
