"""Stream a delimited text file in typed Arrow batches, turning parse errors into messages
that name the file, line and column.

The file is cut into blocks of whole lines (:data:`BLOCK_SIZE` bytes of text each) and
the blocks are parsed by ``pyarrow.csv`` on a small thread pool, in parallel, and handed
out in file order. Memory stays bounded by a few blocks rather than the file size, which
is what lets a 3.6M-row chain ingest on a small machine, and every core parses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from optvol.core.common.errors import OptvolInputError, excerpt
from optvol.core.common.input_files import DECOMPRESSION_ERRORS, InputSource, find_line
from optvol.core.common.threads import in_order_on_threads

BLOCK_SIZE = 16 << 20
_PARSE_BLOCK_SIZE = 1 << 20
# Blocks parsed at once: every core, up to a few (each block in flight holds ~50 MB).
PARSE_THREADS = min(max(pa.cpu_count(), 1), 4)
Block = bytes | memoryview  # whole lines of text
# A missing value is an empty field; with the optionsDX ", " separator it is a lone space.
NULL_VALUES = ["", " ", "  "]
_CONVERSION_ERROR = re.compile(r"CSV column #(\d+): .*?invalid value '(.*)'", re.S)
_CONVERSION_TARGET = re.compile(r"conversion error to (\S+?):")
_FIELD_COUNT_ERROR = re.compile(r"Expected (\d+) columns, got (\d+)")


def split_header(header: str, delimiter: str) -> list[str]:
    """Column names of a header line: split, stripped of spaces, quotes and brackets."""
    return [name.strip().strip('"').strip() for name in header.split(delimiter)]


def line_blocks(stream: BinaryIO, block_size: int) -> Iterator[Block]:
    """The text after the first line of ``stream``, in blocks of about ``block_size``
    bytes that each end at a line end (the last one may not).

    Each block is read straight into its own buffer: only a line cut by the block's end
    is copied, to the start of the next block.
    """
    stream.readline()
    rest = b""
    while True:
        block = bytearray(len(rest) + block_size)
        block[: len(rest)] = rest
        end = len(rest) + _read_into(stream, memoryview(block)[len(rest) :])
        if end == len(rest):
            break
        # CSV values hold no line breaks (ParseOptions.newlines_in_values is off), so a
        # block may end at any \n, or at a \r in a file of \r line ends.
        cut = (block.rfind(b"\n", 0, end) + 1) or (block.rfind(b"\r", 0, end) + 1)
        rest = bytes(block[cut:end])
        if cut:
            yield memoryview(block)[:cut]
    if rest:
        yield rest


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``stream`` as far as the stream goes; the number of bytes read."""
    filled = 0
    while filled < len(view) and (n := stream.readinto(view[filled:])):
        filled += n
    return filled


class _BlockError(Exception):
    """A block that failed to parse, with the rows the parser reported as invalid."""

    def __init__(self, error: pa.ArrowInvalid, invalid_rows: list[pacsv.InvalidRow]):
        super().__init__(str(error))
        self.error, self.invalid_rows = error, invalid_rows


def _in_order(
    parse: Callable[[Block], pa.Table], blocks: Iterator[Block], workers: int
) -> Iterator[pa.Table]:
    """``parse`` of each block on ``workers`` threads, yielded in block order; at most
    two blocks per worker are read ahead."""
    return in_order_on_threads(
        blocks, parse, workers, ahead=2 * workers, thread_name_prefix="optvol-csv"
    )


def iter_batches(
    source: InputSource,
    column_names: Sequence[str],
    column_types: Mapping[str, pa.DataType],
    include_columns: Sequence[str],
    delimiter: str = ",",
    block_size: int | None = None,
    timestamp_formats: Sequence[str] = (),
    separator: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """Yield typed record batches of ``source`` in file order, its header line skipped.

    Every column of ``include_columns`` needs its type in ``column_types`` (blocks are
    parsed independently, so a type is never guessed from one block). Timestamp columns
    take the first of ``timestamp_formats`` (``strptime`` patterns) that matches; without
    any, ISO 8601. Raises :class:`OptvolInputError` naming the file and, where it can be
    found, the line of a row with the wrong number of fields or a value that is not of
    its column's type, or a line too long to be a row. ``separator`` is the field
    separator as messages name it (``", "`` for optionsDX, which is parsed on ``","``
    with the spaces taken as part of the values); by default ``delimiter``.
    """
    untyped = [name for name in include_columns if name not in column_types]
    if untyped:
        raise ValueError(f"iter_batches: columns {untyped} need a type")
    convert_options = pacsv.ConvertOptions(
        column_types=dict(column_types),
        include_columns=list(include_columns),
        null_values=NULL_VALUES,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        timestamp_parsers=list(timestamp_formats) or None,
    )

    def parse(block: Block) -> pa.Table:
        invalid_rows: list[pacsv.InvalidRow] = []

        def on_invalid_row(row: pacsv.InvalidRow) -> str:
            if not row.text.strip():  # a line of spaces, e.g. at the end of a file
                return "skip"
            invalid_rows.append(row)
            return "error"

        # Parsed on this thread (the pool parallelises), in small Arrow blocks: parsing
        # a 16 MB block at once misses the CPU caches and takes twice as long.
        read_options = pacsv.ReadOptions(
            column_names=list(column_names), block_size=_PARSE_BLOCK_SIZE, use_threads=False
        )
        parse_options = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid_row)
        try:
            table = pacsv.read_csv(
                pa.py_buffer(block),
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
            return table.combine_chunks()
        except pa.ArrowInvalid as err:
            raise _BlockError(err, invalid_rows) from err

    try:
        with source.open() as stream:
            blocks = line_blocks(stream, block_size or BLOCK_SIZE)
            for table in _in_order(parse, blocks, workers=PARSE_THREADS):
                yield from table.to_batches()
    except _BlockError as err:
        raise _explain(
            source, err.error, column_names, err.invalid_rows, delimiter, separator or delimiter
        ) from err.error
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
    separator: str,
) -> OptvolInputError:
    if "straddl" in str(err):  # a line longer than the parser's block: no row is that long
        line = find_line(source, lambda text: len(text) >= _PARSE_BLOCK_SIZE)
        where = f"line {line}" if line else "a line"
        return OptvolInputError(
            f"{source.label}: {where} is over {_PARSE_BLOCK_SIZE >> 20} MiB long, longer than "
            "any row of a table can be (missing line breaks, or not a text table?)"
        )
    if invalid_rows:
        row = invalid_rows[0]
        # row.number counts from the start of the block, so find the line in the file.
        line = find_line(source, lambda text: text == row.text)
        where = f"line {line}" if line else "a line"
        return OptvolInputError(
            f"{source.label}: {where} has {row.actual_columns} fields, expected "
            f"{row.expected_columns} separated by {separator!r} (truncated or malformed row): "
            f"{excerpt(row.text, 120)!r}"
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
            f"separated by {separator!r} (truncated or malformed row)"
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
        # Not pyarrow's whole message: its "Row #N" counts within a block, not the file.
        target = _CONVERSION_TARGET.search(str(err))
        expected = f" (expected {target.group(1)})" if target else ""
        return OptvolInputError(
            f"{source.label}: {where}column {column}: invalid value {excerpt(value)!r}{expected}"
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
    # A column of dates repeats a few values: parse each distinct value once.
    encoded = values.dictionary_encode()
    distinct = pc.utf8_trim_whitespace(encoded.dictionary)
    parsed = pc.strptime(distinct, format=formats[0], unit="s", error_is_null=True)
    for fmt in formats[1:]:
        if parsed.null_count == 0:
            break
        parsed = pc.coalesce(
            parsed, pc.strptime(distinct, format=fmt, unit="s", error_is_null=True)
        )
    unparsed = pc.is_null(parsed)
    if pc.any(unparsed).as_py():  # the dictionary lists values in order of appearance
        bad = distinct.filter(unparsed)[0].as_py()
        raise OptvolInputError(
            f"{label}: column {column}: {bad!r} does not match format {' or '.join(formats)!r}"
        )
    return parsed.take(encoded.indices)
