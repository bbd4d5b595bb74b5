"""Build ``raw_market.csv`` from the files users have: Yahoo OHLC, CBOE VIX and FRED series.

* S&P 500 (or any index) daily OHLC as Yahoo Finance, yfinance or stooq write it
  (:func:`read_yahoo_ohlc`),
* the VIX history CBOE publishes (``VIX_History.csv``, :func:`read_cboe_vix`),
* any number of FRED series downloads (:func:`read_fred`).

:func:`build_raw_market` joins them on the date and :func:`write_raw_market` writes the
file that :func:`optvol.core.volatility.market.read_market_file` reads. Every error names the file,
and where there is one the line (1-based, the header counted), column and value.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optvol.core.common.atomic import atomic_open
from optvol.core.common.errors import OptvolInputError
from optvol.core.common.input_files import DECOMPRESSION_ERRORS, InputSource, sources_of
from optvol.core.volatility.market import REQUIRED_COLUMNS, macro_columns

log = logging.getLogger(__name__)

SPX_COLUMNS = ("spx_open", "spx_high", "spx_low", "spx_close")
# Spellings of a missing value (compared in lower case): Yahoo writes null, FRED a dot.
MISSING_VALUES = frozenset({"", "null", "nan", "."})
# How far down a file the header may stand (below disclaimer lines).
HEADER_SEARCH_RECORDS = 20

_ISO_DATE = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?$"
)
_US_DATE = re.compile(r"^(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})$")
_DATE_FORMATS = {"YYYY-MM-DD": _ISO_DATE, "MM/DD/YYYY": _US_DATE}


@dataclass(frozen=True)
class _Table:
    """A CSV file's header and data rows as text, with the line each row starts on."""

    label: str
    path: Path
    names: list[str]
    rows: list[list[str]]
    lines: np.ndarray

    def column(self, index: int) -> pd.Series:
        return pd.Series([row[index] for row in self.rows], dtype=object)


def normalize_name(name: str) -> str:
    """A header name compared loosely: lower case, letters and digits only
    (``Adj Close``, ``adj_close`` and ``ADJCLOSE`` all give ``adjclose``)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _single_source(path: Path) -> InputSource:
    sources = sources_of(Path(path))
    if len(sources) != 1:
        labels = [s.label for s in sources]
        raise OptvolInputError(f"{path}: expected one CSV file, the archive holds {labels}")
    return sources[0]


def _records(source: InputSource) -> list[tuple[int, list[str]]]:
    """The non-blank CSV records of ``source``, each with the line it starts on."""
    records = []
    try:
        with source.open() as raw, io.TextIOWrapper(raw, "utf-8-sig", newline="") as text:
            reader = csv.reader(text)
            start = 1
            for record in reader:
                if any(field.strip() for field in record):
                    records.append((start, record))
                start = reader.line_num + 1
    except UnicodeDecodeError as err:
        raise OptvolInputError(
            f"{source.label}: not UTF-8 text; is this a CSV file? ({err})"
        ) from err
    except (csv.Error, *DECOMPRESSION_ERRORS) as err:
        raise OptvolInputError(f"{source.label}: cannot read the file: {err}") from err
    if not records:
        raise OptvolInputError(f"{source.label}: the file is empty")
    return records


def _read_table(path: Path, is_header: Callable[[list[str]], bool], expected: str) -> _Table:
    """Read ``path``: its header is the first record for which ``is_header`` holds on the
    normalized names (within the first few records, so disclaimer lines may come first)."""
    source = _single_source(path)
    records = _records(source)
    position = next(
        (
            i
            for i, (_, record) in enumerate(records[:HEADER_SEARCH_RECORDS])
            if is_header([normalize_name(n) for n in record])
        ),
        None,
    )
    if position is None:
        found = [n.strip() for n in records[0][1]][:12]
        raise OptvolInputError(
            f"{source.label}: line {records[0][0]}: no header with the columns {expected}; "
            f"found columns {found}"
        )
    line, record = records[position]
    names = [n.strip() for n in record]
    while names and not names[-1]:
        names.pop()
    data = records[position + 1 :]
    if not data:
        raise OptvolInputError(
            f"{source.label}: the file has a header (line {line}) but no data rows; columns {names}"
        )
    rows = [_fit(source.label, number, row, len(names)) for number, row in data]
    lines = np.array([number for number, _ in data], dtype=np.int64)
    return _Table(source.label, Path(path), names, rows, lines)


def _fit(label: str, line: int, row: list[str], width: int) -> list[str]:
    """``row`` cut to ``width`` fields; only empty fields may be cut."""
    if len(row) < width or any(field.strip() for field in row[width:]):
        raise OptvolInputError(
            f"{label}: line {line}: expected {width} fields like the header, got {len(row)}"
        )
    return row[:width]


def _find_columns(table: _Table, wanted: dict[str, Sequence[str]]) -> dict[str, int]:
    """Index of each wanted column, given the normalized spellings it may have."""
    normalized = [normalize_name(n) for n in table.names]
    found: dict[str, int] = {}
    for target, spellings in wanted.items():
        hits = [i for i, name in enumerate(normalized) if name in spellings]
        if len(hits) > 1:
            both = [table.names[i] for i in hits]
            raise OptvolInputError(f"{table.label}: ambiguous columns {both} for {target}")
        if hits:
            found[target] = hits[0]
    missing = [spellings[0] for target, spellings in wanted.items() if target not in found]
    if missing:
        raise OptvolInputError(
            f"{table.label}: missing columns {missing}; found columns {table.names}"
        )
    return found


def parse_dates(values: pd.Series, lines: np.ndarray, label: str) -> pd.Series:
    """Dates written ``YYYY-MM-DD`` (a time and UTC offset may follow; the calendar date is
    taken as written) or ``MM/DD/YYYY``: one format per file, detected from the first value.
    """
    text = values.fillna("").astype(str).str.strip()
    first = text.iloc[0]
    form = next((f for f, rx in _DATE_FORMATS.items() if rx.match(first)), None)
    if form is None:
        _date_error(label, lines[0], first, "YYYY-MM-DD or MM/DD/YYYY")
    parts = text.str.extract(_DATE_FORMATS[form].pattern)
    unmatched = parts["year"].isna().to_numpy()
    if unmatched.any():
        at = int(np.argmax(unmatched))
        _date_error(label, lines[at], text.iloc[at], f"{form} like line {lines[0]}")
    parts = parts.astype(int)
    bad_month = (parts["month"] > 12).to_numpy()
    if bad_month.any():
        at = int(np.argmax(bad_month))
        _date_error(label, lines[at], text.iloc[at], f"{form}; month above 12")
    dates = pd.to_datetime(parts[["year", "month", "day"]], errors="coerce")
    invalid = dates.isna().to_numpy()
    if invalid.any():
        at = int(np.argmax(invalid))
        _date_error(label, lines[at], text.iloc[at], f"{form}; not a calendar date")
    return dates.astype("datetime64[ns]")


def _date_error(label: str, line: int, value: str, expected: str) -> None:
    raise OptvolInputError(f"{label}: line {line}: cannot read date {value!r} ({expected})")


def parse_numbers(table: _Table, index: int, positive: bool = False) -> np.ndarray:
    """Column ``index`` as floats; empty, ``null``, ``NaN`` and ``.`` are missing (NaN).

    Raises naming the line, column and value of anything else that is not a finite number
    (or, with ``positive``, not above zero).
    """
    text = table.column(index).fillna("").astype(str).str.strip()
    missing = text.str.lower().isin(MISSING_VALUES).to_numpy()
    numbers = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=float)
    bad = ~missing & ~np.isfinite(numbers)
    problem = "is not a number"
    if positive and not bad.any():
        bad, problem = ~missing & (numbers <= 0), "is not a positive price"
    if bad.any():
        at = int(np.argmax(bad))
        raise OptvolInputError(
            f"{table.label}: line {table.lines[at]}: column {table.names[index]!r}: "
            f"value {text.iloc[at]!r} {problem}"
        )
    return numbers


def _typed_frame(table: _Table, columns: dict[str, int], positive: bool) -> pd.DataFrame:
    """``date`` and each numeric column of ``columns`` (target name -> index), typed."""
    dates = parse_dates(table.column(columns["date"]), table.lines, table.label)
    frame = pd.DataFrame({"date": dates})
    for target, index in columns.items():
        if target != "date":
            frame[target] = parse_numbers(table, index, positive)
    return frame


def _finish(table: _Table, frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """Drop rows without any value and exact duplicates, refuse conflicting dates, log."""
    values = frame.columns.drop("date")
    empty = frame[values].isna().all(axis=1).to_numpy()
    frame, lines = frame.loc[~empty], table.lines[~empty]
    if frame.empty:
        raise OptvolInputError(f"{table.label}: no row has a {what} value")
    deduplicated = drop_duplicate_dates(frame, table.label, lines)
    deduplicated = deduplicated.sort_values("date", kind="stable").reset_index(drop=True)
    deduplicated.attrs["source"] = table.label
    duplicates = len(frame) - len(deduplicated)
    log.info("Read %s: %d rows, %s to %s; dropped %d rows without a %s value and %d "
             "duplicate rows", table.path, len(deduplicated), _day(deduplicated["date"].min()),
             _day(deduplicated["date"].max()), int(empty.sum()), what, duplicates)  # fmt: skip
    return deduplicated


def _day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def drop_duplicate_dates(
    frame: pd.DataFrame, label: str, lines: np.ndarray | None = None
) -> pd.DataFrame:
    """``frame`` without exact duplicate rows; a date repeated with different values raises
    naming ``label``, the date and (given ``lines``) the lines it stands on."""
    exact = frame.duplicated(keep="first").to_numpy()
    kept = frame.loc[~exact]
    clash = kept["date"].duplicated(keep=False).to_numpy()
    if clash.any():
        date = kept["date"].to_numpy()[clash][0]
        where = ""
        if lines is not None:
            on = lines[~exact][kept["date"].to_numpy() == date]
            where = f" (lines {', '.join(map(str, on))})"
        raise OptvolInputError(
            f"{label}: date {_day(date)} appears more than once with different values{where}"
        )
    return kept


def read_yahoo_ohlc(path: str | Path) -> pd.DataFrame:
    """Daily OHLC prices as Yahoo Finance, yfinance or stooq write them, as
    ``date, spx_open, spx_high, spx_low, spx_close``.

    The header is ``Date,Open,High,Low,Close,Adj Close,Volume`` in any case, order and
    spelling (``adj_close``, ``Adj_Close``, extra spaces, a UTF-8 BOM; Volume and Adj Close
    may be missing). yfinance's three-line header (``Price,...``, ``Ticker,...``,
    ``Date,,,``) is read too. ``Close`` is used, not ``Adj Close``: an index pays no
    dividends, and only the unadjusted close is consistent with Open, High and Low, which
    range-based volatility estimators combine.

    Dates are ``YYYY-MM-DD``, possibly with a time and UTC offset
    (``2020-01-02 00:00:00-05:00``: the calendar date as written is taken), or
    ``MM/DD/YYYY``; one format per file. Empty, ``null``, ``NaN`` and ``.`` are missing;
    a row with every price missing is dropped. The close must be a positive number. An
    open, high or low of exactly 0 is missing: Yahoo's S&P 500 history writes 0 where it
    has no open (before 1982); the count is logged. Any other non-positive price is an
    error.
    """
    table = _read_table(path, _is_yahoo_header, "Date, Open, High, Low, Close")
    table = _skip_yfinance_levels(table)
    wanted = {"date": ("date",), "spx_open": ("open",), "spx_high": ("high",),
              "spx_low": ("low",), "spx_close": ("close",)}  # fmt: skip
    columns = _find_columns(table, wanted)
    frame = _typed_frame(table, {"date": columns["date"], "spx_close": columns["spx_close"]},
                         positive=True)  # fmt: skip
    for name in ("spx_open", "spx_high", "spx_low"):
        values = parse_numbers(table, columns[name])
        zero = values == 0
        if zero.any():
            log.info("%s: %d rows with %s = 0 (unknown) read as missing", table.label,
                     int(zero.sum()), table.names[columns[name]])  # fmt: skip
        values[zero] = np.nan
        negative = values < 0
        if negative.any():
            at = int(np.argmax(negative))
            raise OptvolInputError(
                f"{table.label}: line {table.lines[at]}: column {table.names[columns[name]]!r}: "
                f"value {table.column(columns[name]).iloc[at]!r} is not a positive price"
            )
        frame.insert(len(frame.columns) - 1, name, values)
    return _finish(table, frame, "price")


def _is_yahoo_header(names: list[str]) -> bool:
    return "close" in names and ("date" in names or names[0] == "price")


def _skip_yfinance_levels(table: _Table) -> _Table:
    """yfinance's multi-level header (``Price,Close,...`` / ``Ticker,^GSPC,...`` /
    ``Date,,,``) as one header ``Date,Close,...`` and its data rows."""
    if normalize_name(table.names[0]) != "price":
        return table
    skip = 0
    while skip < min(2, len(table.rows)) and normalize_name(table.rows[skip][0]) in (
        "ticker",
        "date",
    ):
        skip += 1
    rows, lines = table.rows[skip:], table.lines[skip:]
    if not rows:
        raise OptvolInputError(f"{table.label}: the file has a header but no data rows")
    return _Table(table.label, table.path, ["Date", *table.names[1:]], rows, lines)


def read_cboe_vix(path: str | Path) -> pd.DataFrame:
    """CBOE's VIX history (``VIX_History.csv``) as ``date, vix_close``.

    The header is ``DATE,OPEN,HIGH,LOW,CLOSE`` in any case (older files: ``VIX Close``);
    disclaimer lines before it are skipped: the header is the first line with a date and a
    close column. Dates are ``MM/DD/YYYY`` (``YYYY-MM-DD`` is read too). Rows without a
    close are dropped; closes must be positive.
    """
    table = _read_table(path, _is_vix_header, "DATE, CLOSE")
    columns = _find_columns(table, {"date": ("date",), "vix_close": ("close", "vixclose")})
    return _finish(table, _typed_frame(table, columns, positive=True), "VIX close")


def _is_vix_header(names: list[str]) -> bool:
    return "date" in names and ("close" in names or "vixclose" in names)


def read_fred(path: str | Path, name: str | None = None) -> pd.DataFrame:
    """A FRED download as ``date`` and one column per series.

    The header is ``observation_date,<SERIES_ID>`` (current FRED) or ``DATE,<SERIES_ID>``
    (older), with one or more series columns; dates ``YYYY-MM-DD``. ``.`` or empty is a
    missing value; rows with every series missing are dropped. A series is named ``name``
    (only for a file with one series), else its id in lower case (``DGS10`` -> ``dgs10``).
    Names must be Python identifiers other than the market columns.
    """
    table = _read_table(path, _is_fred_header, "observation_date (or DATE), SERIES_ID")
    date_column = _find_columns(table, {"date": ("observationdate", "date")})["date"]
    series = [i for i in range(len(table.names)) if i != date_column]
    if not series:
        raise OptvolInputError(f"{table.label}: no series column; found columns {table.names}")
    if name is not None and len(series) > 1:
        ids = [table.names[i] for i in series]
        raise OptvolInputError(f"{table.label}: a name is given but the file holds {ids}")
    columns = {"date": date_column}
    for index in series:
        column = name if name is not None else table.names[index].lower()
        check_macro_name(column, table.label)
        if column in columns:
            raise OptvolInputError(f"{table.label}: series {column!r} appears twice")
        columns[column] = index
    return _finish(table, _typed_frame(table, columns, positive=False), "series")


def _is_fred_header(names: list[str]) -> bool:
    return "observationdate" in names or "date" in names


def check_macro_name(name: str, label: str) -> None:
    """Raise unless ``name`` is a usable macro column name (an identifier, not reserved)."""
    if not name.isidentifier():
        raise OptvolInputError(
            f"{label}: macro column name {name!r} is not an identifier (letters, digits, _); "
            "give another name (NAME=FILE)"
        )
    # A name that cleaning would not take for a macro series: a market or derived column.
    if macro_columns(pd.DataFrame(columns=[*REQUIRED_COLUMNS, name])) != [name]:
        raise OptvolInputError(
            f"{label}: macro column name {name!r} is taken by a market or derived column "
            f"({', '.join(REQUIRED_COLUMNS)}, features, targets); give another name (NAME=FILE)"
        )


def build_raw_market(
    spx: pd.DataFrame, vix: pd.DataFrame | None = None, fred: Iterable[pd.DataFrame] = ()
) -> pd.DataFrame:
    """The ``raw_market.csv`` table: every date of any input, sorted, ``date`` as ISO text.

    Columns: ``date, spx_open, spx_high, spx_low, spx_close, vix_close`` (empty without
    ``vix``), then each macro series in the order given. Exact duplicate rows of an input
    are dropped; a date repeated with different values in one input, or a macro name given
    twice, raises.
    """
    parts = [_indexed(spx, SPX_COLUMNS, "the S&P 500 input")]
    if vix is not None:
        parts.append(_indexed(vix, ("vix_close",), "the VIX input"))
    macro: list[str] = []
    for number, frame in enumerate(fred, start=1):
        label = frame.attrs.get("source", f"macro input {number}")
        names = [c for c in frame.columns if c != "date"]
        for name in names:
            check_macro_name(name, label)
            if name in macro:
                raise OptvolInputError(f"{label}: macro series {name!r} is given twice")
        macro.extend(names)
        parts.append(_indexed(frame, tuple(names), label))
    ignored = [c for c in macro if c not in macro_columns(pd.DataFrame(columns=macro))]
    if ignored:
        raise OptvolInputError(f"macro series {ignored} would be taken for derived columns")
    merged = pd.concat(parts, axis=1, join="outer").sort_index()
    merged = merged.reindex(columns=[*SPX_COLUMNS, "vix_close", *macro]).astype(float)
    merged.index = merged.index.strftime("%Y-%m-%d")
    return merged.rename_axis("date").reset_index()


def _indexed(frame: pd.DataFrame, columns: tuple[str, ...], default: str) -> pd.DataFrame:
    """``frame``'s ``columns`` indexed by date, duplicates handled."""
    label = frame.attrs.get("source", default)
    missing = [c for c in ("date", *columns) if c not in frame.columns]
    if missing or not columns:
        raise OptvolInputError(
            f"{label}: missing columns {missing or ['a series']}; found {list(frame.columns)}"
        )
    typed = frame[["date", *columns]].assign(date=pd.to_datetime(frame["date"]).dt.normalize())
    return drop_duplicate_dates(typed, label).set_index("date")


def write_raw_market(frame: pd.DataFrame, path: str | Path, force: bool = False) -> Path:
    """Write ``frame`` to ``path`` as CSV, atomically: numbers as the shortest text that
    reads back to the same float, missing values empty, dates ``YYYY-MM-DD``.

    Refuses to replace an existing file unless ``force``.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OptvolInputError(f"{path} already exists; use --force to replace it")
    text = frame.to_csv(index=False, na_rep="", date_format="%Y-%m-%d", lineterminator="\n")
    with atomic_open(path) as handle:
        handle.write(text.encode())
    log.info("Wrote %s: %d rows, columns %s", path, len(frame), list(frame.columns))
    return path
