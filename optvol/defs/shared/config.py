"""Run config built from core's dataclasses: the fields, their types and defaults are the
dataclasses', declared once there, so a setting added to a dataclass appears in the run
config (the launchpad, the YAML of ``dg launch -c``) without a second edit here.

The Dagster layer adds only what run config needs beside them: a description for the
launchpad, a name where the YAML has always used another (``walk_forward_start`` for the
walk-forward's ``start``), and bounds that refuse a bad value when the run is launched.
A config class also builds its dataclasses, whose own checks then run at launch too.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field, create_model, model_validator


def _config_fields(
    kinds: tuple[type, ...],
    descriptions: Mapping[str, str],
    names: Mapping[str, str],
    bounds: Mapping[str, Mapping[str, Any]],
) -> dict[str, tuple[Any, Any]]:
    """The pydantic fields of ``kinds``' dataclass fields, under their config names. Two
    dataclasses may share a field (the same setting read by two steps) when its type and
    default agree."""
    fields: dict[str, tuple[Any, Any]] = {}
    for kind in kinds:
        hints = typing.get_type_hints(kind)
        for field in dataclasses.fields(kind):
            name = names.get(field.name, field.name)
            default = field.default
            if default is dataclasses.MISSING:
                raise TypeError(f"{kind.__name__}.{field.name} needs a default to be run config")
            if name in fields:
                if fields[name][0] != hints[field.name] or fields[name][1].default != default:
                    raise TypeError(f"{name}: two dataclasses give it different types or defaults")
                continue
            description = descriptions.get(name, f"{kind.__name__}.{field.name}")
            fields[name] = (
                hints[field.name],
                Field(default, description=description, **bounds.get(name, {})),
            )
    return fields


class DataclassConfig(dg.Config):
    """Run config of dataclasses (:func:`config_of`): builds them, and refuses at launch
    settings they refuse."""

    @model_validator(mode="after")
    def _build_every_dataclass(self) -> DataclassConfig:
        for kind in self.source_dataclasses:
            self.build(kind)
        return self

    source_dataclasses: typing.ClassVar[tuple[type, ...]] = ()
    config_names: typing.ClassVar[Mapping[str, str]] = {}

    def build(self, kind: type):
        """The dataclass ``kind`` with this config's values."""
        return kind(
            **{
                field.name: getattr(self, self.config_names.get(field.name, field.name))
                for field in dataclasses.fields(kind)
            }
        )


def config_of(
    name: str,
    *kinds: type,
    doc: str,
    module: str,
    descriptions: Mapping[str, str],
    names: Mapping[str, str] | None = None,
    bounds: Mapping[str, Mapping[str, Any]] | None = None,
    base: type[DataclassConfig] = DataclassConfig,
) -> type[DataclassConfig]:
    """A ``dg.Config`` class ``name`` with a field per field of the dataclasses ``kinds``
    (their types and defaults), described by ``descriptions`` and named by ``names``
    (dataclass field -> config field) where they differ, on ``base`` (a subclass that
    adds methods)."""
    names = dict(names or {})
    model = create_model(
        name,
        __base__=base,
        __doc__=doc,
        __module__=module,
        **_config_fields(kinds, descriptions, names, bounds or {}),
    )
    model.source_dataclasses = kinds
    model.config_names = names
    return model
