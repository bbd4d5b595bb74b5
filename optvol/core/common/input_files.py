"""Finding input files and opening them, whatever their compression.

Option chains arrive as ``.csv``, ``.txt``, ``.csv.gz`` (or ``.txt.gz``) and ``.zip``
archives holding one or more such files. Each readable unit is an :class:`InputSource`:
a label for messages and lineage (``spy_2020.zip:spy_eod_202001.txt``) and a function
that opens a fresh binary stream, so a reader can look at the header and then stream
the file from the start.
"""

from __future__ import annotations

import gzip
import logging
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from optvol.core.common.errors import InputNotFoundError, OptvolInputError

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".csv", ".txt")
SUPPORTED_SUFFIXES = (".csv", ".txt", ".csv.gz", ".txt.gz", ".zip")
# Errors a damaged compressed file raises while it is being read.
DECOMPRESSION_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile)


@dataclass(frozen=True)
class InputSource:
    """One text file to read: where it came from, its size, and how to open it."""

    label: str
    path: Path
    open: Callable[[], BinaryIO]
    compressed_bytes: int


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return ""


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file, through its links; False for a looping link."""
    try:
        return path.is_file()
    except OSError:  # a link loop raises on some Python versions
        return False


def find_input_files(directory: Path) -> list[Path]:
    """Every supported input file in ``directory`` (not recursive), sorted by name.

    Raises :class:`InputNotFoundError` naming the directory when it does not exist or
    holds no supported file. Hidden files (``.name``) are skipped: they are editor and
    transfer leftovers, including our own temporary files.
    """
    if not directory.is_dir():
        raise InputNotFoundError(
            f"input directory not found: {directory} (expected option chain files "
            f"{', '.join(SUPPORTED_SUFFIXES)} there; run `optvol sample-data` for the sample)"
        )
    candidates = sorted(p for p in directory.iterdir() if not p.name.startswith(".") and _suffix(p))
    files = []
    for path in candidates:
        if _is_file(path):
            files.append(path)
        elif path.is_symlink():
            log.warning("Skipped %s: a link that leads to no readable file (broken, dangling "
                        "or looping)", path)  # fmt: skip
    if not files:
        raise InputNotFoundError(
            f"no input files in {directory}: expected at least one "
            f"{', '.join(SUPPORTED_SUFFIXES)} file"
        )
    return files


def sources_of(path: Path) -> list[InputSource]:
    """The readable text files in ``path``: itself, its gzip content, or a zip's members."""
    if not path.is_file():
        raise InputNotFoundError(f"input file not found: {path}")
    suffix = _suffix(path)
    size = path.stat().st_size
    if suffix in TEXT_SUFFIXES:
        return [InputSource(path.name, path, lambda: open(path, "rb"), size)]
    if suffix in (".csv.gz", ".txt.gz"):
        return [InputSource(path.name, path, lambda: gzip.open(path, "rb"), size)]
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                members = [
                    info
                    for info in archive.infolist()
                    if not info.is_dir()
                    and info.filename.lower().endswith(TEXT_SUFFIXES)
                    and not Path(info.filename).name.startswith(".")
                ]
        except zipfile.BadZipFile as err:
            raise OptvolInputError(f"{path}: not a readable zip archive ({err})") from err
        if not members:
            raise OptvolInputError(f"{path}: the zip archive holds no .csv or .txt file")
        return [_zip_member(path, info) for info in sorted(members, key=lambda i: i.filename)]
    raise OptvolInputError(
        f"{path}: unsupported file type; expected one of {', '.join(SUPPORTED_SUFFIXES)}"
    )


def _zip_member(path: Path, info: zipfile.ZipInfo) -> InputSource:
    def open_member() -> BinaryIO:
        archive = zipfile.ZipFile(path)
        stream = archive.open(info)
        # Close the archive together with the member stream.
        original_close = stream.close

        def close() -> None:
            original_close()
            archive.close()

        stream.close = close  # type: ignore[method-assign]
        return stream

    return InputSource(f"{path.name}:{info.filename}", path, open_member, info.compress_size)


def read_header(source: InputSource, max_bytes: int = 1 << 16) -> str:
    """The first line of ``source`` without BOM or line ending.

    Raises :class:`OptvolInputError` when the file is empty, cannot be decompressed, or
    its first line is over ``max_bytes`` long.
    """
    try:
        with source.open() as stream:
            first = stream.readline(max_bytes)
    except DECOMPRESSION_ERRORS as err:
        raise OptvolInputError(f"{source.label}: cannot read the file: {err}") from err
    if not first.strip():
        raise OptvolInputError(f"{source.label}: the file is empty (no header line)")
    if len(first) == max_bytes and not first.endswith((b"\n", b"\r")):
        raise OptvolInputError(
            f"{source.label}: line 1 is over {max_bytes >> 10} KiB long, longer than any "
            "header can be (missing line breaks, or not a text table?)"
        )
    try:
        return first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise OptvolInputError(
            f"{source.label}: line 1 is not UTF-8 text; is this a CSV file? ({err})"
        ) from err


def find_line(source: InputSource, predicate: Callable[[str], bool]) -> int | None:
    """The 1-based number of the first line for which ``predicate`` holds, if any.

    Used only to point an error message at the offending line, so speed is secondary.
    """
    try:
        with source.open() as stream:
            for number, raw in enumerate(stream, start=1):
                if predicate(raw.decode("utf-8-sig", errors="replace").rstrip("\r\n")):
                    return number
    except DECOMPRESSION_ERRORS:
        return None
    return None
