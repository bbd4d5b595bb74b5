"""Errors raised for bad or missing input; their messages name the file, row and field."""

from __future__ import annotations


class OptvolInputError(ValueError):
    """An input file is missing, unreadable or does not follow its format."""


class InputNotFoundError(OptvolInputError, FileNotFoundError):
    """No input file where one was expected; the message names the expected path."""
