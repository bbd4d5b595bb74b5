"""A saved model as two files: ``<stem><suffix>`` (the model's bytes) and ``<stem>.json``
(its card, a :class:`ModelCard`, which records the size and sha256 of the model file).

The sha256 is checked before the model file is deserialised, so a corrupt file, or one
swapped in from another training, is refused before any of its bytes are interpreted.
The card is validated by its type before that, so a card of another format or with a
malformed field is refused in one message naming the field.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, TypeVar

from optvol.core.common.atomic import atomic_open
from optvol.core.common.errors import OptvolInputError
from optvol.core.common.versioned_json import Section, VersionedFile


class ModelFile(Section):
    """The card's record of the model file it describes."""

    path: str
    bytes: int
    sha256: str
    saved_at: str | None = None  # the UTC time of writing; cards before it lack it


class ModelCard(VersionedFile):
    """What a model card holds beside its own fields: the ``file`` it describes, recorded
    when the model is saved (absent from a card in memory before that)."""

    KIND = "model card"

    file: ModelFile | None = None


Card = TypeVar("Card", bound=ModelCard)


def write_model_files(stem: str | Path, suffix: str, payload: bytes, card: ModelCard) -> ModelFile:
    """Write ``payload`` to ``<stem><suffix>`` and ``card`` (with its ``file`` entry set to
    the payload's name, size, sha256 and the UTC time of writing) to ``<stem>.json``;
    return the ``file`` entry.

    Both are written to temporary files first and renamed into place only once both are
    complete, the card first: a failed save leaves the previous pair as it was, and a crash
    between the two renames leaves a card whose sha256 refuses the old model file rather
    than a silently mismatched pair.
    """
    stem = Path(stem)
    model_path, card_path = stem.with_suffix(suffix), stem.with_suffix(".json")
    card.file = ModelFile(
        path=model_path.name,
        bytes=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        # When it was written, kept with it: a copy's mtime says when it was copied.
        saved_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    with atomic_open(model_path) as model_file, atomic_open(card_path) as card_file:
        model_file.write(payload)
        card_file.write(card.text().encode())
    return card.file


def save_model(
    stem: str | Path, suffix: str, dump: Callable[[BinaryIO], object], card: ModelCard
) -> tuple[Path, Path]:
    """Serialise a model with ``dump(buffer)`` and write it and ``card`` beside each other
    (:func:`write_model_files`, which records the file entry in ``card``); return the paths
    of the model file and the card."""
    stem = Path(stem)
    buffer = io.BytesIO()
    dump(buffer)
    write_model_files(stem, suffix, buffer.getvalue(), card)
    return stem.with_suffix(suffix), stem.with_suffix(".json")


def read_model_files(stem: str | Path, suffix: str, card_type: type[Card]) -> tuple[bytes, Card]:
    """The verified bytes of ``<stem><suffix>`` and the card of ``<stem>.json``.

    Raises :class:`OptvolInputError` when a file is missing, the card is not a valid card
    of ``card_type`` (another format, a field missing or of the wrong type), or the model
    file's sha256 differs from the card's.
    """
    stem = Path(stem)
    model_path, card_path = stem.with_suffix(suffix), stem.with_suffix(".json")
    for path in (model_path, card_path):
        if not path.exists():
            raise OptvolInputError(f"{path} does not exist: train the model first")
    card = card_type.read(card_path)
    if card.file is None:
        raise OptvolInputError(
            f"{card_path} is not a valid model card: file is missing; {card_type.remedy()}"
        )
    payload = model_path.read_bytes()
    if hashlib.sha256(payload).hexdigest() != card.file.sha256:
        raise OptvolInputError(
            f"{model_path} does not match the sha256 recorded in {card_path}: "
            "the file is corrupt or from another training; re-train the model"
        )
    return payload, card
