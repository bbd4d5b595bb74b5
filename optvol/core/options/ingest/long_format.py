"""Long-format option chains: one row per option side, as most vendors ship them.

Which column holds what, how dates are written and how calls and puts are spelled come
from a :class:`LongFormatSpec`, so another vendor's file loads without code: name the
columns in Dagster run config (``long_format:``) or pick a preset. Required: quote date,
expiration, strike, call/put, bid, ask and the underlying price; everything else is
optional and left empty when not mapped.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace

import pyarrow as pa
import pyarrow.compute as pc

from optvol.core.common.csv_stream import iter_batches, parse_datetimes, split_header
from optvol.core.common.errors import OptvolInputError
from optvol.core.common.input_files import InputSource
from optvol.core.options.ingest.schema import conform, source_columns

REQUIRED_FIELDS = ("quote_date", "expiration", "strike", "option_type", "bid", "ask",
                   "underlying_last")  # fmt: skip
OPTIONAL_FIELDS = ("quote_time", "last", "bid_size", "ask_size", "volume", "open_interest",
                   "iv", "delta", "gamma", "vega", "theta", "rho", "dte", "root")  # fmt: skip
# An OCC option symbol (OSI, 2010): root (1-6 characters, space-padded to 6 in the
# standard form), expiration YYMMDD, C or P, strike x 1000 in 8 digits.
_OSI_SYMBOL = r"^\s*(?P<root>[A-Z0-9.]{1,6})\s*\d{6}[CP]\d{8}\s*$"
_DATE_FIELDS = ("quote_date", "expiration")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LongFormatSpec:
    """Where a long-format file keeps each raw field, and how it writes values.

    Each field named in :data:`REQUIRED_FIELDS` / :data:`OPTIONAL_FIELDS` holds the
    vendor's column name (``None`` or ``""``: not mapped). An optional column that is
    mapped but absent from a file is read as missing values. ``date_format`` is a
    ``strptime`` pattern for the date columns (``None``: ISO ``YYYY-MM-DD``);
    ``quote_time_format`` the one of ``quote_time``; ``call_values`` and ``put_values``
    list the spellings of the option type (compared case-insensitively);
    ``strike_divisor`` converts strikes quoted in other units (OPRA: 1000).

    ``root`` names the vendor's option-class column: a root such as ``SPXW``, or an OCC
    option symbol (``SPXW180131C01200000``) whose root is taken. Index files carry several
    classes with the same expiry and strike (SPX, monthly and AM-settled; SPXW, weekly
    and PM-settled), and the root keeps them apart: it is part of the contract key.
    ``roots`` keeps only the listed classes (empty: all).

    Raises ``ValueError`` when a required field is unmapped or one vendor column is
    mapped to two fields.
    """

    quote_date: str = "quote_date"
    expiration: str = "expiration"
    strike: str = "strike"
    option_type: str = "option_type"
    bid: str = "bid"
    ask: str = "ask"
    underlying_last: str = "underlying_price"
    quote_time: str | None = None
    last: str | None = None
    bid_size: str | None = None
    ask_size: str | None = None
    volume: str | None = None
    open_interest: str | None = None
    iv: str | None = None
    delta: str | None = None
    gamma: str | None = None
    vega: str | None = None
    theta: str | None = None
    rho: str | None = None
    dte: str | None = None
    root: str | None = None
    roots: tuple[str, ...] = ()
    date_format: str | None = None
    quote_time_format: str = "%Y-%m-%d %H:%M:%S"
    call_values: tuple[str, ...] = ("C", "CALL")
    put_values: tuple[str, ...] = ("P", "PUT")
    delimiter: str = ","
    strike_divisor: float = 1.0

    def __post_init__(self) -> None:
        for name in ("call_values", "put_values", "roots"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        object.__setattr__(self, "roots", tuple(r.strip().upper() for r in self.roots))
        if self.roots and not self.root:
            raise ValueError("long format: roots selects option classes; map root too")
        unmapped = [name for name in REQUIRED_FIELDS if not getattr(self, name)]
        if unmapped:
            raise ValueError(f"long format: required fields {unmapped} need a column name")
        seen: dict[str, str] = {}
        for name, column in self.mapped_columns().items():
            if column in seen:
                raise ValueError(
                    f"long format: column {column!r} is mapped to both {seen[column]} and {name}"
                )
            seen[column] = name
        if self.strike_divisor <= 0:
            raise ValueError("long format: strike_divisor must be positive")

    def mapped_columns(self) -> dict[str, str]:
        """Raw field -> the vendor's column name, for every mapped field."""
        return {
            name: getattr(self, name)
            for name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
            if getattr(self, name)
        }

    def with_overrides(self, **overrides) -> LongFormatSpec:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown long-format settings {unknown}; known: {sorted(known)}")
        return replace(self, **overrides)


PRESETS: dict[str, LongFormatSpec] = {
    # optvol's own long layout, the raw column names.
    "generic": LongFormatSpec(
        last="last", bid_size="bid_size", ask_size="ask_size", volume="volume",
        open_interest="open_interest", iv="iv", delta="delta", gamma="gamma", vega="vega",
        theta="theta", rho="rho",
    ),
    # Cboe DataShop "Option EOD Summary": the 15:45 snapshot.
    "cboe_eod": LongFormatSpec(
        quote_date="quote_date", expiration="expiration", strike="strike",
        option_type="option_type", bid="bid_1545", ask="ask_1545",
        underlying_last="active_underlying_price_1545", last="close",
        bid_size="bid_size_1545", ask_size="ask_size_1545", volume="trade_volume",
        open_interest="open_interest", iv="implied_volatility_1545", delta="delta_1545",
        gamma="gamma_1545", vega="vega_1545", theta="theta_1545", rho="rho_1545",
    ),
    # The lower-case layout of Cboe delayed-quote scrapes and historicaloptiondata.com's
    # recent files: underlying,underlying_last,[exchange,]optionroot,[optionext,]type,
    # expiration,quotedate,strike,last,bid,ask,volume,openinterest,impliedvol,delta,gamma
    # [,theta,vega,optionalias]; ISO or US dates (read from the first row), call/put.
    "delayed_quotes": LongFormatSpec(
        quote_date="quotedate", expiration="expiration", strike="strike", option_type="type",
        bid="bid", ask="ask", underlying_last="underlying_last", last="last",
        volume="volume", open_interest="openinterest", iv="impliedvol", delta="delta",
        gamma="gamma", vega="vega", theta="theta", root="optionroot",
    ),
    # historicaloptiondata.com end-of-day files (US dates, "call"/"put").
    "historicaloptiondata": LongFormatSpec(
        quote_date="DataDate", expiration="Expiration", strike="Strike", option_type="Type",
        bid="Bid", ask="Ask", underlying_last="UnderlyingPrice", last="Last",
        volume="Volume", open_interest="OpenInterest", iv="IV", delta="Delta",
        gamma="Gamma", vega="Vega", theta="Theta", date_format="%m/%d/%Y",
    ),
}  # fmt: skip


# Presets whose header is recognised with no configuration, in the order they are tried.
RECOGNISED_PRESETS = ("generic", "delayed_quotes")
_US_DATE = r"^\s*\d{1,2}/\d{1,2}/\d{4}\s*$"
_ISO_DATE = r"^\s*\d{4}-\d{2}-\d{2}\s*$"


def date_format_of(value: str) -> str | None:
    """The ``date_format`` of a date as a file writes it: None for ISO ``YYYY-MM-DD``,
    ``%m/%d/%Y`` for US dates. Raises ``ValueError`` for anything else."""
    if re.match(_ISO_DATE, value):
        return None
    if re.match(_US_DATE, value):
        return "%m/%d/%Y"
    raise ValueError(f"date {value!r} is neither YYYY-MM-DD nor MM/DD/YYYY")


def settings_spec(settings: dict, preset: str | None = None) -> LongFormatSpec:
    """The mapping of long-format settings in either shape: the run config's
    (``{"preset": ..., "columns": {field: column}, "date_format": ...}``) or the flat one
    (``{field: column, "date_format": ...}``); a ``preset`` argument (the CLI's
    ``--long-format``) applies when the settings name none. Unset (None) settings are
    left at the preset's values.

    Raises ``ValueError`` for a setting given twice, two different presets, or any
    mapping :func:`build_spec` refuses."""
    settings = {name: value for name, value in settings.items() if value is not None}
    named = settings.pop("preset", None)
    if named and preset and named != preset:
        raise ValueError(f"two long-format presets: {preset!r} and {named!r} in the settings")
    columns = settings.pop("columns", {})
    if not isinstance(columns, dict):
        raise ValueError(f"long-format columns must map raw fields to columns, got {columns!r}")
    twice = sorted(set(columns) & set(settings))
    if twice:
        raise ValueError(f"long-format settings {twice} given both in columns and outside")
    return build_spec(named or preset, **columns, **settings)


def build_spec(preset: str | None = None, **overrides) -> LongFormatSpec:
    """The mapping of preset ``preset`` (default: the defaults) with ``overrides`` on top.

    Raises ``ValueError`` for an unknown preset or setting, or a mapping that is invalid.
    """
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown long-format preset {preset!r}; known: {sorted(PRESETS)}")
    spec = PRESETS[preset] if preset else LongFormatSpec()
    return spec.with_overrides(**overrides) if overrides else spec


def missing_columns(header: str, spec: LongFormatSpec) -> list[str]:
    """Vendor columns of the required fields that ``header`` lacks."""
    names = set(split_header(header, spec.delimiter))
    return [getattr(spec, f) for f in REQUIRED_FIELDS if getattr(spec, f) not in names]


def _column_types(mapping: dict[str, str], spec: LongFormatSpec) -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {}
    for raw, column in mapping.items():
        if raw in _DATE_FIELDS:
            types[column] = pa.string() if spec.date_format else pa.date32()
        elif raw in ("option_type", "quote_time", "root"):
            types[column] = pa.string()
        else:
            types[column] = pa.float64()
    return types


def _parse_dates(values: pa.Array, spec: LongFormatSpec, column: str, label: str) -> pa.Array:
    if not spec.date_format:
        return values
    return parse_datetimes(values, spec.date_format, label, column).cast(pa.date32())


def _option_types(values: pa.Array, spec: LongFormatSpec, label: str, first_row: int) -> pa.Array:
    if values.null_count:
        row = first_row + pc.index(pc.is_null(values), True).as_py()
        raise OptvolInputError(
            f"{label}: data row {row}, column {spec.option_type}: the call/put value is missing"
        )
    normalized = pc.utf8_upper(pc.utf8_trim_whitespace(values))
    calls = pa.array([v.upper() for v in spec.call_values])
    puts = pa.array([v.upper() for v in spec.put_values])
    is_call, is_put = pc.is_in(normalized, calls), pc.is_in(normalized, puts)
    unknown = pc.invert(pc.or_(is_call, is_put))
    if pc.any(unknown).as_py():
        bad = values.filter(unknown)[0].as_py()
        raise OptvolInputError(
            f"{label}: column {spec.option_type}: option type {bad!r} is neither a call "
            f"{list(spec.call_values)} nor a put {list(spec.put_values)}; set call_values / "
            "put_values in the long-format config"
        )
    return pc.if_else(is_call, "C", "P")


def option_roots(values: pa.Array) -> pa.Array:
    """The option class of each value: the root of an OCC symbol, else the value itself,
    trimmed and in upper case (null stays null)."""
    normalized = pc.utf8_upper(pc.utf8_trim_whitespace(values))
    symbol = pc.extract_regex(normalized, _OSI_SYMBOL)
    return pc.if_else(pc.is_valid(symbol), pc.struct_field(symbol, [0]), normalized)


def _selected_roots(
    batch: pa.RecordBatch, spec: LongFormatSpec, dropped: Counter
) -> pa.RecordBatch:
    """The rows of ``batch`` whose root is one of ``spec.roots``; the others are counted
    by root in ``dropped``."""
    keep = pc.fill_null(pc.is_in(batch.column("root"), pa.array(spec.roots)), False)
    if pc.all(keep).as_py():
        return batch
    others = pc.value_counts(batch.column("root").filter(pc.invert(keep)))
    for item in others.to_pylist():
        dropped[item["values"]] += item["counts"]
    return batch.filter(keep)


def _file_mapping(source: InputSource, names: list[str], spec: LongFormatSpec) -> dict[str, str]:
    """Raw field -> column of this file, for the mapped columns the file has."""
    repeated = sorted(
        {n for n in names if names.count(n) > 1 and n in spec.mapped_columns().values()}
    )
    if repeated:
        raise OptvolInputError(f"{source.label}: line 1: mapped columns {repeated} appear twice")
    return {raw: column for raw, column in spec.mapped_columns().items() if column in names}


def read_long_format(
    source: InputSource, header: str, spec: LongFormatSpec
) -> Iterator[pa.RecordBatch]:
    """Stream a long-format ``source`` as raw option quotes."""
    names = split_header(header, spec.delimiter)
    mapping = _file_mapping(source, names, spec)
    absent = sorted(set(spec.mapped_columns()) - set(mapping))
    if absent:
        log.info(
            "%s: optional fields %s are not in the file; read as missing", source.label, absent
        )
    first_row = 1
    dropped: Counter = Counter()
    kept = 0
    for batch in iter_batches(
        source, names, _column_types(mapping, spec), list(mapping.values()), spec.delimiter
    ):
        n = batch.num_rows
        if n == 0:
            continue
        columns = {raw: batch.column(column) for raw, column in mapping.items()}
        for raw in _DATE_FIELDS:
            columns[raw] = _parse_dates(columns[raw], spec, mapping[raw], source.label)
        columns["option_type"] = _option_types(
            columns["option_type"], spec, source.label, first_row
        )
        if spec.strike_divisor != 1.0:
            columns["strike"] = pc.divide(columns["strike"], spec.strike_divisor)
        if "quote_time" in columns:
            columns["quote_time"] = parse_datetimes(
                columns["quote_time"], spec.quote_time_format, source.label, mapping["quote_time"]
            )
        if "root" in columns:
            columns["root"] = option_roots(columns["root"])
        columns.update(source_columns(source.label, first_row, n))
        quotes = conform(columns, n)
        first_row += n
        if spec.roots:
            quotes = _selected_roots(quotes, spec, dropped)
        if quotes.num_rows:
            kept += quotes.num_rows
            yield quotes
    if dropped and not kept:
        raise OptvolInputError(
            f"{source.label}: no quote of the option classes {list(spec.roots)} (roots); "
            f"the file holds {dict(sorted(dropped.items()))}"
        )
    if dropped:
        log.info(
            "%s: kept the option classes %s; left out %s",
            source.label, list(spec.roots), dict(sorted(dropped.items())),
        )  # fmt: skip


def read_long_format_quote_dates(
    source: InputSource, header: str, spec: LongFormatSpec
) -> Iterator[pa.Array]:
    """Stream only the quote dates (``date32``) of a long-format ``source``, in file order;
    the other columns are split into fields but not converted."""
    names = split_header(header, spec.delimiter)
    column = _file_mapping(source, names, spec)["quote_date"]
    types = _column_types({"quote_date": column}, spec)
    for batch in iter_batches(source, names, types, [column], spec.delimiter):
        yield _parse_dates(batch.column(column), spec, column, source.label)
