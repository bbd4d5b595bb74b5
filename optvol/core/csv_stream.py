"""Stream a delimited text file in typed Arrow batches, turning parse errors into messages
that name the file, line and column.

Reading in batches (``pyarrow.csv.open_csv``) keeps memory bounded by the block size
rather than the file size, which is what lets a 3.6M-row chain ingest on a small machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from optvol.core.errors import OptvolInputError
from optvol.core.input_files import DECOMPRESSION_ERRORS, InputSource, find_line

BLOCK_SIZE = 16 << 20
# A missing value is an empty field; with the optionsDX ", " separator it is a lone space.
NULL_VALUES = ["", " ", "  "]
_CONVERSION_ERROR = re.compile(r"CSV column #(\d+): .*?invalid value '(.*)'", re.S)
_FIELD_COUNT_ERROR = re.compile(r"Expected (\d+) columns, got (\d+)")


def split_header(header: str, delimiter: str) -> list[str]:
    """Column names of a header line: split, stripped of spaces, quotes and brackets."""
    return [name.strip().strip('"').strip() for name in header.split(delimiter)]


def iter_batches(
    source: InputSource,
    column_names: Sequence[str],
    column_types: Mapping[str, pa.DataType],
    include_columns: Sequence[str],
    delimiter: str = ",",
    block_size: int = BLOCK_SIZE,
) -> Iterator[pa.RecordBatch]:
    """Yield typed record batches of ``source``, its header line skipped.

    Raises :class:`OptvolInputError` naming the file and, where it can be found, the line
    of a row with the wrong number of fields or a value that is not of its column's type.
    """
    invalid_rows: list[pacsv.InvalidRow] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        if not row.text.strip():  # a line of spaces, e.g. at the end of a file
            return "skip"
        invalid_rows.append(row)
        return "error"

    read_options = pacsv.ReadOptions(
        skip_rows=1, column_names=list(column_names), block_size=block_size
    )
    parse_options = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid_row)
    convert_options = pacsv.ConvertOptions(
        column_types=dict(column_types),
        include_columns=list(include_columns),
        null_values=NULL_VALUES,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        with source.open() as stream:
            reader = pacsv.open_csv(
                stream,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
            # Stop the reader's read-ahead thread before the stream closes, also when a
            # row fails: a reader left to the interpreter's exit can abort the process.
            try:
                yield from reader
            finally:
                reader.close()
    except pa.ArrowInvalid as err:
        raise _explain(source, err, column_names, invalid_rows, delimiter) from err
    except DECOMPRESSION_ERRORS as err:
        raise OptvolInputError(
            f"{source.label}: the compressed file is truncated or corrupt: {err}"
        ) from err


def _explain(
    source: InputSource,
    err: pa.ArrowInvalid,
    column_names: Sequence[str],
    invalid_rows: list[pacsv.InvalidRow],
    delimiter: str,
) -> OptvolInputError:
    if invalid_rows:
        row = invalid_rows[0]
        line = row.number or find_line(source, lambda text: text == row.text)
        where = f"line {line}" if line else "a line"
        return OptvolInputError(
            f"{source.label}: {where} has {row.actual_columns} fields, expected "
            f"{row.expected_columns} separated by {delimiter!r} (truncated or malformed row): "
            f"{row.text[:120]!r}"
        )
    counts = _FIELD_COUNT_ERROR.search(str(err))
    if counts:  # the row could not be handed to on_invalid_row (e.g. it is not UTF-8)
        expected = int(counts.group(1))
        line = find_line(
            source, lambda text: bool(text.strip()) and len(text.split(delimiter)) != expected
        )
        where = f"line {line}" if line else "a line"
        return OptvolInputError(
            f"{source.label}: {where} has {counts.group(2)} fields, expected {expected} "
            f"separated by {delimiter!r} (truncated or malformed row)"
        )
    match = _CONVERSION_ERROR.search(str(err))
    if match:
        index, value = int(match.group(1)), match.group(2)
        column = column_names[index] if index < len(column_names) else f"#{index}"

        def has_bad_value(text: str) -> bool:
            fields = text.split(delimiter)
            return index < len(fields) and fields[index].strip() == value.strip()

        line = find_line(source, has_bad_value)
        where = f"line {line}, " if line else ""
        return OptvolInputError(
            f"{source.label}: {where}column {column}: invalid value {value!r} ({err})"
        )
    return OptvolInputError(f"{source.label}: cannot parse the file: {err}")


def parse_datetimes(
    values: pa.Array, formats: str | tuple[str, ...], label: str, column: str
) -> pa.Array:
    """``timestamp[s]`` from strings in one of ``formats`` (surrounding spaces ignored);
    each value takes the first format that matches it.

    Raises :class:`OptvolInputError` naming the column and the first value that matches
    none, rather than silently turning it into a missing value.
    """
    formats = (formats,) if isinstance(formats, str) else formats
    trimmed = pc.utf8_trim_whitespace(values)
    parsed = pc.strptime(trimmed, format=formats[0], unit="s", error_is_null=True)
    for fmt in formats[1:]:
        parsed = pc.coalesce(parsed, pc.strptime(trimmed, format=fmt, unit="s", error_is_null=True))
    unparsed = pc.and_(pc.is_valid(trimmed), pc.is_null(parsed))
    if pc.any(unparsed).as_py():
        bad = trimmed.filter(unparsed)[0].as_py()
        raise OptvolInputError(
            f"{label}: column {column}: {bad!r} does not match format {' or '.join(formats)!r}"
        )
    return parsed
