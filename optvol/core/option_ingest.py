"""Ingest: read every option chain file into the raw quote table (DESIGN §3).

Each file's format is recognised from its header: the optionsDX header, or the columns of
the configured long-format mapping. Anything else is refused with a message that says
what was expected. Files are streamed in batches; the result is one Arrow table in
:data:`~optvol.core.raw_options.RAW_OPTION_SCHEMA` with the source file of every row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from optvol.core.errors import OptvolInputError
from optvol.core.input_files import InputSource, read_header, sources_of
from optvol.core.long_format import PRESETS, LongFormatSpec, missing_columns, read_long_format
from optvol.core.optionsdx import describe_header_mismatch, is_optionsdx_header, read_optionsdx
from optvol.core.parquet import with_notes
from optvol.core.provenance import origin_of
from optvol.core.raw_options import RAW_OPTION_SCHEMA

log = logging.getLogger(__name__)
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class SourceReport:
    """What was read from one input: for logs and asset metadata."""

    label: str
    format: str
    input_rows: int
    quote_rows: int
    compressed_bytes: int


def _detect_format(
    source: InputSource, header: str, long_format: LongFormatSpec | None
) -> tuple[str, LongFormatSpec | None]:
    """The format of ``source`` and, for a long-format file, the mapping to read it with.

    Without a configured mapping, a long-format file that uses optvol's own column names
    (the ``generic`` preset) is recognised too.
    """
    if is_optionsdx_header(header):
        return "optionsdx", None
    spec = long_format or PRESETS["generic"]
    if not missing_columns(header, spec):
        return "long", spec
    hint = ""
    for delimiter, name in _OTHER_DELIMITERS.items():
        if header.count(delimiter) > header.count(","):
            hint = f" The header looks {name}-delimited; optionsDX files use ', '."
            if long_format is not None:
                hint += " For a long-format file set long_format.delimiter."
            break
    expected = f"the optionsDX header ({describe_header_mismatch(header)})"
    expected += f", or the long-format columns (missing {missing_columns(header, spec)})"
    if long_format is None:
        expected += "; for another vendor's long-format file configure a long_format mapping"
    raise OptvolInputError(
        f"{source.label}: unrecognised header on line 1: {header[:160]!r}. Expected {expected}."
        f"{hint}"
    )


def read_source(
    source: InputSource, long_format: LongFormatSpec | None = None
) -> tuple[list[pa.RecordBatch], SourceReport]:
    """All raw quote batches of one input, and a report of what it held."""
    header = read_header(source)
    kind, spec = _detect_format(source, header, long_format)
    if spec is None:
        batches = list(read_optionsdx(source))
        input_rows = sum(b.num_rows for b in batches) // 2
    else:
        batches = list(read_long_format(source, header, spec))
        input_rows = sum(b.num_rows for b in batches)
    if not batches:
        raise OptvolInputError(f"{source.label}: the file has a header but no data rows")
    quote_rows = sum(b.num_rows for b in batches)
    report = SourceReport(source.label, kind, input_rows, quote_rows, source.compressed_bytes)
    return batches, report


def read_option_files(
    paths: Iterable[Path], long_format: LongFormatSpec | None = None
) -> tuple[pa.Table, list[SourceReport]]:
    """Read every file in ``paths`` into one raw quote table.

    Raises :class:`~optvol.core.errors.OptvolInputError` for the first file that is
    missing, empty, truncated or not in a known format; nothing is returned then, so a
    caller never persists a partial ingest.
    """
    batches: list[pa.RecordBatch] = []
    reports: list[SourceReport] = []
    sources: list[dict] = []
    for path in paths:
        path_sources = sources_of(Path(path))  # first: a missing file gets its clear error
        origin = origin_of(Path(path))
        for source in path_sources:
            source_batches, report = read_source(source, long_format)
            log.info(
                "Read %s (%s format): %d input rows, %d option quotes, %d bytes",
                report.label,
                report.format,
                report.input_rows,
                report.quote_rows,
                report.compressed_bytes,
            )
            batches.extend(source_batches)
            reports.append(report)
            sources.append({**asdict(report), **origin})
    table = pa.Table.from_batches(batches, schema=RAW_OPTION_SCHEMA)
    return with_notes(table, {"sources": sources}), reports
