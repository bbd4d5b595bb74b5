"""Atomic file writes: a failed write never leaves a torn file, and the last good one stays."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from optvol.core.common.storage import ArtifactPath, is_remote, upload


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike | ArtifactPath) -> Iterator[Path]:
    """Yield a temporary local path; on success it replaces ``target``.

    For a local ``target`` the temporary file lives in the same directory so that
    ``os.replace`` is an atomic rename on POSIX and Windows. For a remote ``target`` (a
    :class:`~upath.UPath`) it lives in a local temporary directory and is uploaded in one
    put once complete. If the body raises, the temporary file is removed and ``target``
    is left exactly as it was.
    """
    if is_remote(target):
        with tempfile.TemporaryDirectory(prefix="optvol-upload-") as staging:
            staged = Path(staging) / target.name
            yield staged
            upload(staged, target)
        return
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
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
