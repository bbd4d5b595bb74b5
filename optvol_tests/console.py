"""The command-line programs optvol's docs name (``dagster``, ``dg``), reached in this
process: tests run or inspect them without starting an interpreter each time."""

from __future__ import annotations

import importlib.metadata
import sys
from functools import cache

import click


@cache
def click_group(program: str) -> click.Command:
    """The click group of a console script: the ``cli`` of its entry point's module."""
    (entry,) = importlib.metadata.entry_points(group="console_scripts", name=program)
    return sys.modules[entry.load().__module__].cli
