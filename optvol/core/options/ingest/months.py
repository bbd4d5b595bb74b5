"""The quote months of a directory of chain files, remembered by each file's state.

Every process that loads the Dagster definitions needs the first quote month of the
inputs (the partitions start there), and a scan of a file's quote dates, though it
reads one column, costs seconds on a multi-gigabyte file. The index keeps each file's
months with its size and modification time in a small JSON file and scans again only
the files that changed. The months are facts about a file, so a scan made with a
long-format mapping (``optvol quote-months --long-format-config``) serves later loads
that have no mapping.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from optvol.core.common.atomic import atomic_open
from optvol.core.common.errors import OptvolInputError
from optvol.core.common.input_files import find_input_files
from optvol.core.options.ingest.long_format import LongFormatSpec
from optvol.core.options.ingest.read import scan_quote_months

INDEX_VERSION = 1


def _state(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _load(index_file: Path | None) -> dict[str, dict]:
    if index_file is None:
        return {}
    try:
        saved = json.loads(index_file.read_text())
    except (OSError, ValueError):
        return {}  # none yet, or damaged: scanning again rebuilds it
    if not isinstance(saved, dict) or saved.get("version") != INDEX_VERSION:
        return {}
    files = saved.get("files")
    return files if isinstance(files, dict) else {}


def _save(index_file: Path, files: dict[str, dict]) -> None:
    try:
        with atomic_open(index_file) as handle:
            handle.write(json.dumps({"version": INDEX_VERSION, "files": files}).encode())
    except OSError:
        pass  # a read-only data root: the index is a cache, loads just scan again


def file_quote_months(
    input_dir: Path,
    long_format: LongFormatSpec | None = None,
    index_file: Path | None = None,
    strict: bool = True,
) -> dict[str, list[str]]:
    """The quote months (``"YYYY-MM"``, sorted) of each chain file in ``input_dir``, by
    file name, taken from ``index_file`` for the files whose size and modification time
    are unchanged and scanned (:func:`~optvol.core.options.ingest.read.scan_quote_months`)
    for the others; the index is then rewritten with what was found.

    ``strict`` raises the scan's :class:`~optvol.core.common.errors.OptvolInputError` (no
    input, an unreadable file); otherwise a file that cannot be read, or a missing
    directory, is left out (its ingest will report it).
    """
    try:
        paths = find_input_files(input_dir)
    except OptvolInputError:
        if strict:
            raise
        return {}
    known = _load(index_file)
    found: dict[str, dict] = {}
    for path in paths:
        try:
            state = _state(path)
        except OSError:
            continue  # removed since it was listed
        entry = known.get(path.name)
        if isinstance(entry, dict) and entry.get("state") == state:
            found[path.name] = entry
            continue
        try:
            scanned = scan_quote_months([path], long_format)
        except OptvolInputError:
            if strict:
                raise
            continue
        months = sorted({month for file_months in scanned.values() for month in file_months})
        found[path.name] = {"state": state, "months": months}
    if index_file is not None and found != known:
        _save(index_file, found)
    return {name: list(entry["months"]) for name, entry in found.items()}


def stored_months(directory: str | os.PathLike) -> list[str]:
    """The months that have a ``YYYY-MM.parquet`` file in ``directory`` (a partitioned
    artifact), sorted; empty when there is none."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    months = (name.removesuffix(".parquet") for name in names if name.endswith(".parquet"))
    return sorted(m for m in months if len(m) == 7 and m[4] == "-" and m.replace("-", "").isdigit())
