"""A saved model as two files: ``<stem><suffix>`` (the model's bytes) and ``<stem>.json``
(its card, which records the size and sha256 of the model file).

The sha256 is checked before the model file is deserialised, so a corrupt file, or one
swapped in from another training, is refused before any of its bytes are interpreted.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from optvol.core.common.atomic import atomic_open
from optvol.core.common.errors import OptvolInputError


def write_model_files(stem: str | Path, suffix: str, payload: bytes, card: dict) -> dict:
    """Write ``payload`` to ``<stem><suffix>`` and ``card`` (plus a ``file`` entry with the
    payload's name, size, sha256 and the UTC time of writing) to ``<stem>.json``; return
    the ``file`` entry.

    Both are written to temporary files first and renamed into place only once both are
    complete, the card first: a failed save leaves the previous pair as it was, and a crash
    between the two renames leaves a card whose sha256 refuses the old model file rather
    than a silently mismatched pair.
    """
    stem = Path(stem)
    model_path, card_path = stem.with_suffix(suffix), stem.with_suffix(".json")
    file = {
        "path": model_path.name,
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        # When it was written, kept with it: a copy's mtime says when it was copied.
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    text = json.dumps({**card, "file": file}, indent=2, sort_keys=True, allow_nan=False)
    with atomic_open(model_path) as model_file, atomic_open(card_path) as card_file:
        model_file.write(payload)
        card_file.write(text.encode())
    return file


def save_model(
    stem: str | Path, suffix: str, dump: Callable[[BinaryIO], object], card: dict
) -> tuple[Path, Path]:
    """Serialise a model with ``dump(buffer)`` and write it and ``card`` beside each other
    (:func:`write_model_files`); record the file entry in ``card`` and return the paths of
    the model file and the card."""
    stem = Path(stem)
    buffer = io.BytesIO()
    dump(buffer)
    card["file"] = write_model_files(stem, suffix, buffer.getvalue(), card)
    return stem.with_suffix(suffix), stem.with_suffix(".json")


def read_model_files(stem: str | Path, suffix: str, card_format: int) -> tuple[bytes, dict]:
    """The verified bytes of ``<stem><suffix>`` and the card of ``<stem>.json``.

    Raises :class:`OptvolInputError` when a file is missing, the card is not JSON or of
    another format, or the model file's sha256 differs from the card's.
    """
    stem = Path(stem)
    model_path, card_path = stem.with_suffix(suffix), stem.with_suffix(".json")
    for path in (model_path, card_path):
        if not path.exists():
            raise OptvolInputError(f"{path} does not exist: train the model first")
    try:
        card = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise OptvolInputError(f"{card_path} is not a valid model card: {error}") from None
    if not isinstance(card, dict) or card.get("format") != card_format or "file" not in card:
        found = card.get("format") if isinstance(card, dict) else None
        raise OptvolInputError(
            f"{card_path} is a model card of format {found!r}; "
            f"this optvol reads format {card_format}"
        )
    recorded = card["file"]
    if not isinstance(recorded, dict) or not isinstance(recorded.get("sha256"), str):
        raise OptvolInputError(
            f"{card_path} is not a valid model card: 'file' must record the model file's "
            f"sha256, found {recorded!r:.80}"
        )
    payload = model_path.read_bytes()
    if hashlib.sha256(payload).hexdigest() != recorded["sha256"]:
        raise OptvolInputError(
            f"{model_path} does not match the sha256 recorded in {card_path}: "
            "the file is corrupt or from another training; re-train the model"
        )
    return payload, card
