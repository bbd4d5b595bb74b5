"""Ingest: read every option chain file into raw quote tables, one per quote month
(docs/architecture.md §3).

Each file's format is recognised from its header: the optionsDX header, or the columns of
the configured long-format mapping. Anything else is refused with a message that says
what was expected. Files are streamed in batches (parsed on every core) and read once,
whatever the number of months; each batch is split by the month of its quote dates. The
tables are in :data:`~optvol.core.options.ingest.schema.RAW_OPTION_SCHEMA` with the source file and
row of every quote. Quotes never need a neighbouring month: cleaning works on one month at
a time (duplicates are keyed by quote date, among others).
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from optvol.core.common.csv_stream import split_header
from optvol.core.common.errors import OptvolInputError, excerpt
from optvol.core.common.input_files import InputSource, read_header, sources_of
from optvol.core.common.parquet import with_notes
from optvol.core.common.provenance import origin_of
from optvol.core.options.ingest.long_format import (
    PRESETS,
    RECOGNISED_PRESETS,
    LongFormatSpec,
    date_format_of,
    missing_columns,
    read_long_format,
    read_long_format_quote_dates,
)
from optvol.core.options.ingest.optionsdx import (
    describe_header_mismatch,
    is_optionsdx_header,
    read_optionsdx,
    read_optionsdx_quote_dates,
)
from optvol.core.options.ingest.schema import RAW_OPTION_SCHEMA

log = logging.getLogger(__name__)
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


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

    Without a configured mapping, the long-format layouts of :data:`RECOGNISED_PRESETS`
    are recognised from their header (optvol's own column names; the lower-case vendor
    layout with ``quotedate`` and ``optionroot``), their date format from the first row.
    """
    if is_optionsdx_header(header):
        return "optionsdx", None
    if long_format is None:
        for name in RECOGNISED_PRESETS:
            if not missing_columns(header, PRESETS[name]):
                return "long", _with_date_format(source, header, PRESETS[name])
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
        f"{source.label}: unrecognised header on line 1: {excerpt(header, 160)!r}. "
        f"Expected {expected}.{hint}"
    )


def _with_date_format(source: InputSource, header: str, spec: LongFormatSpec) -> LongFormatSpec:
    """``spec`` with the date format of the quote date on the file's first data row."""
    names = split_header(header, spec.delimiter)
    with source.open() as stream:
        stream.readline()
        row = stream.readline(1 << 16).decode("utf-8", "replace").rstrip("\r\n")
    values = row.split(spec.delimiter)
    position = names.index(spec.quote_date)
    if position >= len(values):  # no data row: the reader says so
        return spec
    try:
        return spec.with_overrides(date_format=date_format_of(values[position].strip('" ')))
    except ValueError as err:
        raise OptvolInputError(f"{source.label}: line 2, column {spec.quote_date}: {err}") from None


def _quote_batches(
    source: InputSource, long_format: LongFormatSpec | None
) -> tuple[str, int, Iterator[pa.RecordBatch]]:
    """The format of ``source``, its option quotes per input row, and its quote batches."""
    header = read_header(source)
    kind, spec = _detect_format(source, header, long_format)
    if spec is None:
        return kind, 2, read_optionsdx(source)
    return kind, 1, read_long_format(source, header, spec)


def _quote_dates(source: InputSource, long_format: LongFormatSpec | None) -> Iterator[pa.Array]:
    header = read_header(source)
    _, spec = _detect_format(source, header, long_format)
    if spec is None:
        return read_optionsdx_quote_dates(source)
    return read_long_format_quote_dates(source, header, spec)


# The CBOE listed its first options on 1973-04-26; no quote is older.
FIRST_LISTED_DAY = int(
    (np.datetime64("1973-04-26", "D") - np.datetime64("1970-01-01", "D")).astype(int)
)


def _month_numbers(dates: pa.Array, label: str, first_row: int) -> np.ndarray:
    """Months since 1970-01 of each quote date. A missing date belongs to no month, so it
    raises :class:`OptvolInputError` naming the data row, rather than being dropped."""
    if dates.null_count:
        row = first_row + pc.index(pc.is_null(dates), True).as_py()
        raise OptvolInputError(
            f"{label}: data row {row}: the quote date is missing, so the quote belongs to no "
            "month; every row needs one"
        )
    days = dates.cast(pa.int32()).to_numpy()
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_key(month_number: int) -> str:
    return str(np.datetime64(int(month_number), "M"))  # "YYYY-MM"


def _wanted_months(months: Iterable[str] | None) -> set[str] | None:
    if months is None:
        return None
    wanted = list(months)
    bad = [m for m in wanted if not isinstance(m, str) or not _MONTH.fullmatch(m)]
    if bad:
        raise ValueError(f"months must be 'YYYY-MM' strings such as '2020-01', not {bad}")
    return set(wanted)


def _refuse_impossible_dates(dates: pa.Array, label: str, rows: pa.Array) -> None:
    """Refuse a quote dated before listed options existed or after today: a date parsed
    from a zero or a typo, which no month of the data can hold. Read the same way with
    and without partitions, so a partitioned run does not drop them without a word."""
    days = dates.cast(pa.int32()).to_numpy(zero_copy_only=False)
    today = int((np.datetime64("today", "D") - np.datetime64("1970-01-01", "D")).astype(int))
    impossible = (days < FIRST_LISTED_DAY) | (days > today)
    if impossible.any():
        i = int(np.flatnonzero(impossible)[0])
        day = np.datetime64(int(days[i]), "D")
        raise OptvolInputError(
            f"{label}: data row {rows[i].as_py()}: quote date {day} is before listed options "
            f"began ({np.datetime64(FIRST_LISTED_DAY, 'D')}) or after today; "
            f"{int(impossible.sum())} row(s) of this part of the file are. Correct or remove "
            "them: nothing was read"
        )


def _split_by_month(
    batch: pa.RecordBatch, label: str, wanted: set[str] | None
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """The rows of ``batch`` of each quote month (in ``wanted``, if given)."""
    numbers = _month_numbers(
        batch.column("quote_date"), label, batch.column("source_row")[0].as_py()
    )
    _refuse_impossible_dates(batch.column("quote_date"), label, batch.column("source_row"))
    first, last = numbers.min(), numbers.max()
    for number in [first] if first == last else np.unique(numbers):
        month = _month_key(number)
        if wanted is None or month in wanted:
            yield month, batch if first == last else batch.filter(pa.array(numbers == number))


@dataclass
class _Ingest:
    """Quotes read so far, by month, and what each source gave each month."""

    batches: dict[str, list[pa.RecordBatch]] = field(default_factory=lambda: defaultdict(list))
    # month -> source index -> option quotes
    quotes: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(Counter))
    sources: list[tuple[SourceReport, dict, int]] = field(default_factory=list)

    def source_note(self, index: int, quote_rows: int | None = None) -> dict:
        """The notes entry of source ``index``: its report and origin, with its rows
        limited to ``quote_rows`` option quotes (those of one month) when given."""
        report, origin, per_input_row = self.sources[index]
        note = {**asdict(report), **origin}
        if quote_rows is not None:
            note.update(input_rows=quote_rows // per_input_row, quote_rows=quote_rows)
        return note


def _ingest(
    paths: Iterable[Path], long_format: LongFormatSpec | None, wanted: set[str] | None
) -> _Ingest:
    ingest = _Ingest()
    for path in paths:
        path_sources = sources_of(Path(path))  # first: a missing file gets its clear error
        before = _file_state(Path(path))
        origin = origin_of(Path(path))
        for source in path_sources:
            kind, per_input_row, batches = _quote_batches(source, long_format)
            index, quote_rows = len(ingest.sources), 0
            for batch in batches:
                quote_rows += batch.num_rows
                for month, part in _split_by_month(batch, source.label, wanted):
                    ingest.batches[month].append(part)
                    ingest.quotes[month][index] += part.num_rows
            if not quote_rows:
                raise OptvolInputError(f"{source.label}: the file has a header but no data rows")
            report = SourceReport(
                source.label,
                kind,
                quote_rows // per_input_row,
                quote_rows,
                source.compressed_bytes,
            )
            log.info(
                "Read %s (%s format): %d input rows, %d option quotes, %d bytes",
                report.label,
                report.format,
                report.input_rows,
                report.quote_rows,
                report.compressed_bytes,
            )
            ingest.sources.append((report, origin, per_input_row))
        after = _file_state(Path(path))
        if after != before:
            raise OptvolInputError(
                f"{path}: the file changed while it was read ({before[0]:,} bytes before, "
                f"{after[0]:,} after): it is still being written or was replaced; nothing "
                "was read. Read it again once it is complete"
            )
    return ingest


def _file_state(path: Path) -> tuple[int, int]:
    """``(size, modification time in ns)`` of ``path``: what a copy in progress changes."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def read_option_months(
    paths: Iterable[Path],
    long_format: LongFormatSpec | None = None,
    months: Iterable[str] | None = None,
) -> tuple[dict[str, pa.Table], list[SourceReport]]:
    """Read every file in ``paths`` once and split the quotes by quote month.

    Returns ``{"YYYY-MM": table}`` in month order, each table in
    :data:`~optvol.core.options.ingest.schema.RAW_OPTION_SCHEMA` with the month's rows in read order
    and notes ``{"sources": [...]}`` listing the sources that gave the month rows, each
    with the rows it gave that month (``input_rows``, ``quote_rows``), its format, size
    and origin; and a report of each whole source. ``months`` (``"YYYY-MM"`` strings)
    keeps only those months: the other rows are dropped as they are read, so memory holds
    the kept months only. Months without rows are absent.

    Raises :class:`~optvol.core.common.errors.OptvolInputError` for the first file that is
    missing, empty, truncated, not in a known format or has a row without a quote date;
    nothing is returned then, so a caller never persists a partial ingest.
    """
    ingest = _ingest(paths, long_format, _wanted_months(months))
    tables = {}
    for month in sorted(ingest.batches):
        table = pa.Table.from_batches(ingest.batches.pop(month), schema=RAW_OPTION_SCHEMA)
        sources = [ingest.source_note(i, rows) for i, rows in ingest.quotes[month].items()]
        tables[month] = with_notes(table, {"sources": sources})
    return tables, [report for report, _, _ in ingest.sources]


def read_option_files(
    paths: Iterable[Path], long_format: LongFormatSpec | None = None
) -> tuple[pa.Table, list[SourceReport]]:
    """Read every file in ``paths`` into one raw quote table, month after month (within a
    month in read order), with notes ``{"sources": [...]}`` on every whole source.

    Raises :class:`~optvol.core.common.errors.OptvolInputError` as :func:`read_option_months`.
    """
    ingest = _ingest(paths, long_format, None)
    batches = [batch for month in sorted(ingest.batches) for batch in ingest.batches[month]]
    table = pa.Table.from_batches(batches, schema=RAW_OPTION_SCHEMA)
    sources = [ingest.source_note(i) for i in range(len(ingest.sources))]
    return with_notes(table, {"sources": sources}), [r for r, _, _ in ingest.sources]


def scan_quote_months(
    paths: Iterable[Path], long_format: LongFormatSpec | None = None
) -> dict[str, list[str]]:
    """The quote months (``"YYYY-MM"``, sorted) of each source in ``paths``, by label.

    Reads only the quote-date column (the rest of each line is split into fields, not
    converted), so it costs a fraction of an ingest. Raises
    :class:`~optvol.core.common.errors.OptvolInputError` as :func:`read_option_months` does for a
    missing, empty, truncated or unknown file, a bad quote date or a missing one.
    """
    found: dict[str, set[int]] = defaultdict(set)
    for path in paths:
        for source in sources_of(Path(path)):
            first_row = 1
            for dates in _quote_dates(source, long_format):
                found[source.label].update(
                    np.unique(_month_numbers(dates, source.label, first_row)).tolist()
                )
                first_row += len(dates)
            if first_row == 1:
                raise OptvolInputError(f"{source.label}: the file has a header but no data rows")
    return {label: [_month_key(m) for m in sorted(numbers)] for label, numbers in found.items()}
