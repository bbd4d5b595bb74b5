"""Where the artifacts live: a local directory, or a remote root such as
``s3://bucket/prefix`` reached through universal_pathlib (fsspec; s3fs for S3).

A local root is a :class:`pathlib.Path` and every write is a temp file renamed into place
(:mod:`optvol.core.common.atomic`). A remote root is a :class:`upath.UPath`; an object is written
in one upload of a complete local file, so a failed write leaves no torn object and the
last good one stays. S3 credentials, region and endpoint come from ``storage_options``
or from the usual ``AWS_*`` environment (``AWS_ENDPOINT_URL`` included), through s3fs.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from upath import UPath

from optvol.core.common.paths import ARTIFACT_ROOT_ENV, resolve_data_root

ArtifactPath = Path | UPath

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_LOCAL_PROTOCOLS = ("file", "local")
_S3_PROTOCOLS = ("s3", "s3a")
# botocore waits 60 s for a connection, on each of its attempts; an endpoint that drops
# packets should fail a run in about a minute, not hang it. storage_options may override.
S3_CONNECT_TIMEOUT_S = 10


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    with contextlib.suppress(ImportError):  # botocore comes with s3fs, an optional extra
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError

        errors += (BotoConnectionError, HTTPClientError)
    return errors


def artifact_root(
    root: str | os.PathLike | None = None, storage_options: Mapping[str, Any] | None = None
) -> ArtifactPath:
    """The root the IO managers keep artifacts under: ``root``, else
    ``$OPTVOL_ARTIFACT_ROOT``, else the data root
    (:func:`~optvol.core.common.paths.resolve_data_root`).

    A local path or ``file://`` URL gives an absolute :class:`~pathlib.Path` (the
    ``storage_options`` are not used); any other URL a :class:`~upath.UPath` on its
    filesystem, opened with ``storage_options`` (for s3: ``endpoint_url``, ``key``,
    ``secret``, ``client_kwargs``, ``config_kwargs``, ...).
    """
    chosen = root or os.environ.get(ARTIFACT_ROOT_ENV) or None
    if chosen is None or not _URL.match(str(chosen)):
        return resolve_data_root(chosen)
    url = str(chosen)
    options = dict(storage_options or {})
    if url.split("://", 1)[0].lower() in _S3_PROTOCOLS:
        config = {"connect_timeout": S3_CONNECT_TIMEOUT_S, **options.get("config_kwargs", {})}
        options["config_kwargs"] = config
    path = UPath(url, **options)
    if path.protocol in _LOCAL_PROTOCOLS:
        return Path(path.path).absolute()
    return path


def is_remote(path: object) -> bool:
    """Whether ``path`` is on a remote filesystem (a UPath other than a local one)."""
    return isinstance(path, UPath) and not isinstance(path, PurePath)


def upload(local: Path, target: UPath) -> None:
    """Copy the complete local file ``local`` to ``target`` in one put: an object store
    shows the object whole (a single or completed multipart upload) or not at all."""
    target.fs.put_file(str(local), target.path)


def download(source: UPath, local: Path) -> None:
    """Copy the object ``source`` to the local file ``local``."""
    source.fs.get_file(source.path, str(local))


def forget_listing(path: UPath) -> None:
    """Drop fsspec's cached listings of ``path`` and its parents, so that the next look
    sees objects written since (by another process too) and not a stale listing."""
    path.fs.invalidate_cache(path.path)


def exists(path: ArtifactPath) -> bool:
    """Whether the file or object ``path`` exists now."""
    if is_remote(path):
        forget_listing(path)
    return path.exists()


def file_names(directory: ArtifactPath) -> set[str]:
    """The names of the entries of ``directory``; empty if it does not exist."""
    try:
        if is_remote(directory):
            forget_listing(directory)
            listing = directory.fs.ls(directory.path, detail=False)
            return {PurePosixPath(entry).name for entry in listing}
        return set(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return set()


def size_of(path: ArtifactPath) -> int:
    """The size in bytes of the file or object ``path``."""
    return path.stat().st_size


@contextlib.contextmanager
def explained_errors(root: ArtifactPath) -> Iterator[None]:
    """Re-raise a refused access or an unreachable endpoint of a remote ``root`` naming the
    root and what to check; local errors, and missing files, pass as they are."""
    try:
        yield
    except PermissionError as error:
        if not is_remote(root):
            raise
        raise PermissionError(
            f"{root}: access refused ({error}); check the credentials (storage_options "
            "key/secret, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_PROFILE) and that "
            "they may read and write the bucket"
        ) from error
    except _connection_errors() as error:
        if not is_remote(root):
            raise
        raise ConnectionError(
            f"{root}: cannot reach the storage ({error}); check storage_options "
            "endpoint_url (or AWS_ENDPOINT_URL) and the network"
        ) from error
