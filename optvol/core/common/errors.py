"""Errors raised for bad or missing input; their messages name the file, row and field."""

from __future__ import annotations

from collections.abc import Iterable

EXCERPT_CHARACTERS = 60


def excerpt(text: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """``text`` as a message may quote it: whole when short, else its start and its
    length, so that a 10 MB header or field never becomes a 10 MB message."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def excerpts(texts: Iterable[str], limit: int = EXCERPT_CHARACTERS) -> list[str]:
    """:func:`excerpt` of each of ``texts``."""
    return [excerpt(text, limit) for text in texts]


class OptvolInputError(ValueError):
    """An input file is missing, unreadable or does not follow its format."""


class InputNotFoundError(OptvolInputError, FileNotFoundError):
    """No input file where one was expected; the message names the expected path."""


class RequestError(OptvolInputError):
    """A prediction request that cannot be answered as asked; ``field`` names the part of
    the request at fault (``"contracts[2].as_of"``), when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BlockingCheckError(OptvolInputError):
    """A cleaned table fails a blocking check: it is not written, and whatever version
    was stored before stays."""
