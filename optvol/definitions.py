"""The optvol code location: every definition under ``optvol/defs/``, found the way ``dg``
finds a project's (each module's assets, checks, jobs, sensors and schedules, and the
resources' Definitions), merged into one Definitions.

``dg`` (``[tool.dg]`` in pyproject.toml), ``dagster asset materialize -m
optvol.definitions`` and ``dagster dev -w workspace.yaml`` all load :func:`defs`; nothing
is read from the disk or the environment until then. The settings
(:class:`~optvol.defs.shared.settings.Settings`) are read as the definitions load: the
resources, the executor and the sensors by their folders' ``@dg.definitions``, the first
quote-month partition here; one reading serves them all.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import dagster as dg

import optvol.defs
from optvol.defs.options.partitions import QUOTE_MONTHS, quote_months
from optvol.defs.resources import resources_for
from optvol.defs.shared.settings import reading_once

__all__ = ["assets", "defs", "load_definitions", "resources_for"]


@functools.cache
def load_definitions() -> dg.Definitions:
    """The code location's Definitions, built once per process.

    The settings are read first, once for every folder, so that a bad value stops the
    load with its own message rather than inside the loader's report of a folder."""
    with reading_once() as settings, warnings.catch_warnings():
        # Dagster's loader calls helpers of its own that it marks as preview.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        tree = dg.ComponentTree.from_module(
            defs_module=optvol.defs, project_root=Path(optvol.defs.__file__).parents[2]
        )
        return starting_at(tree.build_defs(), settings.first_quote_month)


def starting_at(definitions: dg.Definitions, first_month: str) -> dg.Definitions:
    """``definitions`` with the quote-month partitions starting at ``first_month``: the
    option assets declare :data:`~optvol.defs.options.partitions.QUOTE_MONTHS` (from the
    earliest month) when their module is imported, and the settings say where the
    partitions start only now."""
    months = quote_months(first_month)
    if months == QUOTE_MONTHS:
        return definitions
    return definitions.map_asset_specs(
        func=lambda spec: (
            spec.replace_attributes(partitions_def=months)
            if spec.partitions_def == QUOTE_MONTHS
            else spec
        )
    )


@dg.definitions
def defs() -> dg.Definitions:
    return load_definitions()


def assets() -> list[dg.AssetsDefinition]:
    """Every asset once (a module that uses another's asset shows it too)."""
    return _once(load_definitions().assets)


def _once(definitions) -> list:
    return list({id(item): item for item in definitions or []}.values())
