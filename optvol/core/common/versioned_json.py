"""JSON files with a declared shape and a format version: the evaluation documents and the
model cards, validated by a pydantic model when they are written and when they are read.

A reader gets either a typed object whose fields it can trust, or one
:class:`~optvol.core.common.errors.OptvolInputError` naming the file and the first bad
field: a missing, empty or truncated file, another format version, a missing field or a
value of the wrong type never reaches a reader as a ``KeyError`` from deep inside it.

The object written is the document: :meth:`VersionedFile.document` dumps only the fields
that were given, so an entry a writer leaves out stays out and a file read and written
again is byte for byte the same.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

from optvol.core.common.errors import OptvolInputError, excerpt

# A number as JSON holds it: an int stays an int and a float a float, so that a file read
# and written again keeps its text (a plain ``float`` field would write ``60`` as ``60.0``).
Real = int | float


class Section(BaseModel):
    """A typed part of a versioned file. Unknown entries are refused, so that a writer
    adding one without declaring it fails in the tests, not in a reader. Values are taken
    strictly, as JSON gives them: a number written as a string, ``true`` where a number
    belongs, or a non-finite number is refused, not converted (a converted value would
    also change the file when it is written again)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def exactly(kind: type) -> Any:
    """The type of a field holding the core dataclass ``kind`` (settings a card records):
    a JSON object of its fields only, an unknown entry refused rather than dropped, each
    value checked by the dataclass's types and its own ``__post_init__`` rules. Pydantic's
    strict mode asks for an instance of the dataclass, not a JSON object, so the object is
    made into one here, in lax mode, once its keys are checked."""
    names = {field.name for field in dataclasses.fields(kind)}
    lax = TypeAdapter(kind)

    def instance(value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # strict mode refuses it by its type
        if not set(value) <= names:
            raise ValueError(f"unknown entries {sorted(set(value) - names)} of {kind.__name__}")
        return lax.validate_python(value)

    return Annotated[kind, BeforeValidator(instance)]


class VersionedFile(Section):
    """A JSON file of one kind, at format :attr:`FORMAT`, made by the asset
    :attr:`MADE_BY`."""

    FORMAT: ClassVar[int]
    KIND: ClassVar[str]  # what the file is, as a message names it: "option evaluation"
    MADE_BY: ClassVar[str]  # the asset that writes it, to re-materialize

    format: int

    @classmethod
    def build(cls, fields: dict[str, Any]) -> Self:
        """The file of ``fields`` at this optvol's format. A field of the wrong shape is a
        bug of the writer and raises pydantic's own error, with every bad field."""
        return cls.model_validate({**fields, "format": cls.FORMAT})

    @classmethod
    def parse(cls, data: object, source: str | Path) -> Self:
        """``data`` (a decoded JSON value) as this file, or an :class:`OptvolInputError`
        naming ``source`` and the first bad field."""
        if not isinstance(data, dict):
            raise OptvolInputError(
                f"{source} is not a valid {cls.KIND}: it holds a JSON {type(data).__name__}, "
                f"not an object; {cls.remedy()}"
            )
        found = data.get("format")
        if found != cls.FORMAT:
            raise OptvolInputError(
                f"{source}: {cls.KIND} of format {found!r}; this optvol reads format "
                f"{cls.FORMAT}: {cls.remedy()}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise OptvolInputError(
                f"{source} is not a valid {cls.KIND}: {_first_problem(error, data)}; {cls.remedy()}"
            ) from None

    @classmethod
    def read(cls, path: str | Path) -> Self:
        """The file at ``path`` (a local path, or a remote one with the same interface);
        see :meth:`parse`."""
        path = Path(path) if isinstance(path, str) else path
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            raise OptvolInputError(f"{path} does not exist: {cls.remedy()}") from None
        return cls.parse(_decode(text, path, cls.KIND, cls.remedy()), path)

    @classmethod
    def remedy(cls) -> str:
        return f"re-materialize {cls.MADE_BY}"

    def document(self) -> dict[str, Any]:
        """The JSON value written: the fields that were given, as they were given."""
        return self.model_dump(mode="json", exclude_unset=True)

    def text(self) -> str:
        """The file's text, keys sorted, as every JSON artifact of optvol is written."""
        return json.dumps(self.document(), indent=2, sort_keys=True, allow_nan=False)


def _decode(text: bytes, path: str | Path, kind: str, remedy: str) -> object:
    """The JSON value of ``text`` read from ``path``; an empty or torn file is refused in
    one sentence naming it and where the JSON breaks off."""
    if not text.strip():
        raise OptvolInputError(f"{path} is empty, where the {kind} should be: {remedy}")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise OptvolInputError(
            f"{path} is not a valid {kind}: not JSON ({error}), the file is truncated or "
            f"corrupt; {remedy}"
        ) from None


def _first_problem(error: ValidationError, data: object) -> str:
    """The first error of a validation of ``data`` as ``field.path: what is wrong (found
    value)``. A value that fits no member of a union (a number or null, say) fails once per
    member; those failures are said together, at the field's own path."""
    problems = [(_data_path(p["loc"], data, p["type"]), p) for p in error.errors(include_url=False)]
    field, first = problems[0]
    if first["type"] == "missing":
        return f"{field} is missing"
    found = f"(found {excerpt(repr(first.get('input')))})"
    should = "Input should be "
    if not first["msg"].startswith(should):  # an unknown field, a value the type refuses
        return f"{field}: {first['msg'][0].lower()}{first['msg'][1:]} {found}"
    # "a valid integer, unable to parse string as an integer": the first clause says it.
    wanted = [p["msg"].removeprefix(should).split(",")[0] for f, p in problems if f == field]
    return f"{field}: input should be {' or '.join(dict.fromkeys(wanted))} {found}"


def _data_path(loc: tuple, data: object, kind: str) -> str:
    """``loc`` without the union members pydantic names in it: only the keys and indexes
    that lead into ``data`` (and, for a missing field, its name)."""
    parts = []
    for position, part in enumerate(loc):
        inside = (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and part < len(data)
        )
        if inside:
            data = data[part]
        if inside or (kind == "missing" and position == len(loc) - 1):
            parts.append(str(part))
    return ".".join(parts) or "the document"
