"""The optvol code location: every definition under ``optvol/defs/``, found the way ``dg``
finds a project's (each module's assets, checks, jobs, sensors and schedules, and the
resources' Definitions), merged into one Definitions.

``dg`` (``[tool.dg]`` in pyproject.toml), ``dagster asset materialize -m
optvol.definitions`` and ``dagster dev -w workspace.yaml`` all load :func:`defs`; nothing
is read from the disk or the environment until then.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import dagster as dg

import optvol.defs
from optvol.defs.resources import resources_for

__all__ = ["assets", "defs", "load_definitions", "resources_for"]


@functools.cache
def load_definitions() -> dg.Definitions:
    """The code location's Definitions, built once per process."""
    with warnings.catch_warnings():
        # Dagster's loader calls helpers of its own that it marks as preview.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        tree = dg.ComponentTree.from_module(
            defs_module=optvol.defs, project_root=Path(optvol.defs.__file__).parents[2]
        )
        return tree.build_defs()


@dg.definitions
def defs() -> dg.Definitions:
    return load_definitions()


def assets() -> list[dg.AssetsDefinition]:
    """Every asset once (a module that uses another's asset shows it too)."""
    return _once(load_definitions().assets)


def _once(definitions) -> list:
    return list({id(item): item for item in definitions or []}.values())
