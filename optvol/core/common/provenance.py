"""
Where an input file came from: the simulated sample, the real sample, or the user.

``optvol sample-data`` writes ``raw/SAMPLE_MANIFEST.json`` beside the files it makes,
with each file's size, SHA-256 and origin. An input file is the sample only while its
bytes are the ones the manifest records; any other file (the user's own, or a sample
file someone edited) is "supplied". The reports say which, so nobody reads results on
simulated option quotes as results on the market.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from optvol.core.common.atomic import atomic_open
from optvol.core.common.parquet import notes_of

MANIFEST_NAME = "SAMPLE_MANIFEST.json"
SIMULATED, REAL, SUPPLIED = "simulated", "real", "supplied"
SUPPLIED_DESCRIPTION = "not written by optvol sample-data: the user's own data"
# How far up from an input file the manifest is looked for (raw/options/x.csv -> raw/).
_MANIFEST_LEVELS = 2
_CHUNK = 1 << 22


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: Path, files: dict[Path, tuple[str, str]]) -> Path:
    """Record ``{path: (origin, description)}`` of files under ``directory`` in its
    manifest (entries for other files already there are kept)."""
    directory = Path(directory)
    manifest = directory / MANIFEST_NAME
    entries = _read_manifest(manifest)
    for path, (origin, description) in files.items():
        path = Path(path)
        entries[path.relative_to(directory).as_posix()] = {
            "bytes": path.stat().st_size,
            "sha256": file_sha256(path),
            "origin": origin,
            "description": description,
        }
    with atomic_open(manifest) as handle:
        handle.write(json.dumps({"files": entries}, indent=2, sort_keys=True).encode())
    return manifest


def _read_manifest(manifest: Path) -> dict:
    try:
        return dict(json.loads(manifest.read_text()).get("files", {}))
    except (OSError, ValueError, AttributeError):
        return {}


def origin_of(path: Path) -> dict:
    """``{"origin", "description"}`` of the input file at ``path``."""
    path = Path(path).absolute()
    size = path.stat().st_size
    for directory in list(path.parents)[:_MANIFEST_LEVELS]:
        entry = _read_manifest(directory / MANIFEST_NAME).get(
            path.relative_to(directory).as_posix()
        )
        if entry and entry.get("bytes") == size and entry.get("sha256") == file_sha256(path):
            return {"origin": entry["origin"], "description": entry["description"]}
    return {"origin": SUPPLIED, "description": SUPPLIED_DESCRIPTION}


def recorded_provenance(frame) -> dict:
    """``{"sources", "cleaning"}``: the source files and the cleaning counts a table
    carries in its notes, for the evaluation documents (each ``None`` for a table written
    before optvol recorded them)."""
    notes = notes_of(frame)
    return {"sources": notes.get("sources"), "cleaning": notes.get("cleaning")}
