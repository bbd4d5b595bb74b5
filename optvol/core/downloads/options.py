"""``optvol download options``: Cboe's delayed quotes of every listed option of an
underlying, saved after the close as that day's end-of-day chain.

Cboe publishes one JSON document per underlying (index underlyings are written with a
leading underscore, ``_SPX``): ``timestamp`` (``YYYY-MM-DD HH:MM:SS``, New York time),
``data.current_price`` and ``data.options[]``, each with its OCC symbol (``option``),
``bid``, ``ask``, ``iv``, ``open_interest``, ``volume``, the Greeks and
``last_trade_price``. A snapshot becomes one file per underlying and trading day in
``raw/options/``, in the lower-case delayed-quotes layout the chain reader recognises
(:data:`~optvol.core.options.ingest.long_format.PRESETS`), its quote date the
timestamp's New York date. A second snapshot of the same day replaces the file
atomically; a weekend or NYSE holiday writes nothing, and a snapshot taken before the
close is refused unless asked for (``intraday``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optvol.core.common.atomic import atomic_open
from optvol.core.common.paths import OPTIONS_INPUT_DIR
from optvol.core.common.trading_calendar import is_trading_day
from optvol.core.downloads.http import DownloadError, Fetched, fetch

__all__ = ["DEFAULT_URL", "URL_ENV", "OptionSnapshot", "download_options", "parse_occ"]

log = logging.getLogger(__name__)

DEFAULT_URL = "https://cdn.cboe.com/api/global/delayed_quotes/options/{symbol}.json"
URL_ENV = "OPTVOL_URL_CBOE_OPTIONS"
# Cash-settled index underlyings, written with a leading underscore in Cboe's URLs.
INDEXES = frozenset({"SPX", "XSP", "NDX", "XND", "RUT", "MRUT", "VIX", "DJX", "OEX", "XEO"})
# Equity options stop trading at 16:00 New York time, the broad index options at 16:15.
CLOSE, INDEX_CLOSE = dt.time(16, 0), dt.time(16, 15)
COLUMNS = ("underlying", "underlying_last", "optionroot", "type", "expiration", "quotedate",
           "strike", "last", "bid", "ask", "volume", "openinterest", "impliedvol", "delta",
           "gamma", "theta", "vega")  # fmt: skip
# OCC option symbol: root (1-6 characters, space-padded in the 21-character form), expiry
# YYMMDD, C or P, strike in thousandths of a dollar (8 digits).
_OCC = re.compile(r"^(?P<root>[A-Z0-9.]{1,6}) *(?P<expiry>\d{6})(?P<type>[CP])(?P<strike>\d{8})$")


@dataclass(frozen=True)
class OptionSnapshot:
    """What became of one underlying's snapshot: the file written (``None`` when the
    day is not a trading day) and its quote date and rows."""

    symbol: str
    quote_date: dt.date
    path: Path | None
    rows: int


def option_url(environ: Mapping[str, str] = os.environ) -> str:
    """The URL template: ``OPTVOL_URL_CBOE_OPTIONS``, else Cboe's."""
    return environ.get(URL_ENV) or DEFAULT_URL


def parse_occ(symbol: str) -> tuple[str, dt.date, str, float]:
    """``(root, expiration, "call" | "put", strike)`` of an OCC option symbol such as
    ``SPY240119C00470000``; ``ValueError`` for anything else."""
    match = _OCC.match(symbol.strip())
    if match is None:
        raise ValueError(f"{symbol!r} is not an OCC option symbol (ROOT YYMMDD C|P STRIKE*1000)")
    expiry = dt.datetime.strptime(match["expiry"], "%y%m%d").date()
    kind = "call" if match["type"] == "C" else "put"
    return match["root"], expiry, kind, int(match["strike"]) / 1000


def download_options(
    root: str | Path,
    symbols: Sequence[str],
    url: str | None = None,
    intraday: bool = False,
    get: Callable[..., Fetched] = fetch,
) -> list[OptionSnapshot]:
    """Snapshot each of ``symbols`` into ``<root>/raw/options/``."""
    template = url or option_url()
    done, failed = [], []
    for symbol in symbols:  # one symbol's failure does not cost the others their day
        name = symbol.upper().lstrip("_")
        try:
            got = get(template.replace("{symbol}", f"_{name}" if name in INDEXES else name))
            done.append(_save(Path(root) / OPTIONS_INPUT_DIR, name, got, intraday))
        except DownloadError as err:
            log.error("%s: %s", name, err)
            failed.append(f"{name}: {err}")
    if failed:
        saved = ", ".join(d.symbol for d in done if d.path) or "none"
        raise DownloadError(f"{'; '.join(failed)} (saved: {saved})")
    return done


def _save(folder: Path, symbol: str, got: Fetched, intraday: bool) -> OptionSnapshot:
    document = _document(got)
    taken = _timestamp(got, document)
    day = taken.date()
    if not bool(is_trading_day(np.array([np.datetime64(day, "D")]))[0]):
        log.warning("%s: the snapshot is of %s, a %s, not a NYSE trading day: nothing written",
                    symbol, day, "weekend" if day.weekday() >= 5 else "holiday")  # fmt: skip
        return OptionSnapshot(symbol, day, None, 0)
    close = INDEX_CLOSE if symbol in INDEXES else CLOSE
    if taken.time() < close and not intraday:
        raise DownloadError(
            f"GET {got.url}: the snapshot was taken at {taken:%H:%M} New York time, before "
            f"the {close:%H:%M} close; it is not an end-of-day chain (--intraday keeps it)"
        )
    rows = _rows(got, document, symbol, day)
    path = folder / f"cboe_{symbol.lower()}_{day:%Y-%m-%d}.csv"
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    with atomic_open(path) as handle:
        handle.write(text.getvalue().encode())
    log.info("Wrote %s: %d option quotes of %s on %s", path, len(rows), symbol, day)
    return OptionSnapshot(symbol, day, path, len(rows))


def _document(got: Fetched) -> dict:
    try:
        document = json.loads(got.body)
    except (ValueError, UnicodeDecodeError):
        raise DownloadError(
            f"GET {got.url}: HTTP {got.status} answered {got.content_type or 'a body'} that "
            f"is not JSON: {got.body[:80]!r}"
        ) from None
    data = document.get("data") if isinstance(document, dict) else None
    options = data.get("options") if isinstance(data, dict) else None
    if not isinstance(options, list):
        raise DownloadError(f"GET {got.url}: the document has no data.options list")
    return document


def _timestamp(got: Fetched, document: dict) -> dt.datetime:
    value = document.get("timestamp")
    try:
        return dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise DownloadError(
            f"GET {got.url}: timestamp {value!r} is not YYYY-MM-DD HH:MM:SS"
        ) from None


def _rows(got: Fetched, document: dict, symbol: str, day: dt.date) -> list[list]:
    spot = _number(document["data"].get("current_price"))
    if not spot or spot <= 0:
        raise DownloadError(f"GET {got.url}: data.current_price is not a positive price")
    rows = []
    for position, option in enumerate(document["data"]["options"]):
        try:
            root, expiry, kind, strike = parse_occ(str(option.get("option", "")))
        except (ValueError, AttributeError) as err:
            raise DownloadError(f"GET {got.url}: data.options[{position}]: {err}") from None
        rows.append([
            symbol, spot, root, kind, expiry.isoformat(), day.isoformat(), strike,
            *(_number(option.get(key)) for key in ("last_trade_price", "bid", "ask", "volume",
              "open_interest", "iv", "delta", "gamma", "theta", "vega")),
        ])  # fmt: skip
    return rows


def _number(value) -> float | str:
    """A finite number as given, else empty (the reader's missing value)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return number if math.isfinite(number) else ""
