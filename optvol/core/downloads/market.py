"""``optvol download market``: the S&P 500, VIX and FRED histories from their free,
keyless CSV sources, appended to ``raw/raw_market.csv``.

Each source is read by the parser ``optvol import-market`` uses for a file of its layout
(:mod:`optvol.core.volatility.market_import`), and the table is built as there. Against
the stored file, the days it lacks are added and empty cells of stored days filled, and
nothing stored is replaced: a source whose history ends before the stored one, or whose
overlapping days disagree beyond rounding, is refused with a message naming it, the date
and both values. Each source's URL, time,
size, sha256, rows added and last date are kept beside the file
(``raw/raw_market.provenance.json``), with its ``ETag``/``Last-Modified`` for the next
run's conditional request. A run that adds nothing changes no byte of either file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optvol.core.common.atomic import atomic_open
from optvol.core.common.directory_lock import directory_lock
from optvol.core.common.errors import OptvolInputError
from optvol.core.common.paths import MARKET_INPUT_FILE
from optvol.core.downloads.http import DownloadError, Fetched, fetch
from optvol.core.volatility.market_import import (
    SPX_COLUMNS,
    build_raw_market,
    read_cboe_vix,
    read_fred,
    read_yahoo_ohlc,
    write_raw_market,
)

__all__ = [
    "DEFAULT_FRED_SERIES",
    "read_provenance",
    "DEFAULT_URLS",
    "URL_ENV",
    "MarketDownload",
    "download_market",
    "market_urls",
]

log = logging.getLogger(__name__)

DEFAULT_URLS = {
    "spx": "https://stooq.com/q/d/l/?s=%5Espx&i=d",
    "vix": "https://cdn.cboe.com/api/global/us_indices/daily_prices/VIX_History.csv",
    "fred": "https://fred.stlouisfed.org/graph/fredgraph.csv?id={series}",
}
URL_ENV = {"spx": "OPTVOL_URL_SPX", "vix": "OPTVOL_URL_VIX", "fred": "OPTVOL_URL_FRED"}
# The series the volatility model's macro features were developed with.
DEFAULT_FRED_SERIES = ("DGS10", "DGS2", "UNRATE")
PROVENANCE_SUFFIX = ".provenance.json"
# CSV sources print 2 to 4 decimals: agreement is to half a cent, or 1e-6 relative.
_ABSOLUTE, _RELATIVE = 0.005, 1e-6


def market_urls(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Each source's URL template: its ``OPTVOL_URL_*`` variable, else the default."""
    return {name: environ.get(URL_ENV[name]) or url for name, url in DEFAULT_URLS.items()}


@dataclass
class MarketDownload:
    """What a run did: the file, the rows it added and each source's record."""

    path: Path
    rows_added: int
    cells_filled: int
    sources: dict[str, dict] = field(default_factory=dict)

    @property
    def provenance_path(self) -> Path:
        return _provenance_path(self.path)


def download_market(
    root: str | Path,
    fred_series: Sequence[str] = DEFAULT_FRED_SERIES,
    urls: Mapping[str, str] | None = None,
    get: Callable[..., Fetched] = fetch,
    lock_timeout: float = 600.0,
) -> MarketDownload:
    """Download every source and add what ``<root>/raw/raw_market.csv`` lacks. One
    download of a data root runs at a time (the evening schedule and a user's command,
    say): another waits up to ``lock_timeout`` seconds, then reads what the first wrote,
    so neither writes over the other's days."""
    with directory_lock(root, "market download", lock_timeout):
        return _download_market(Path(root), fred_series, urls, get)


def _download_market(
    root: Path,
    fred_series: Sequence[str],
    urls: Mapping[str, str] | None,
    get: Callable[..., Fetched],
) -> MarketDownload:
    urls = dict(urls or market_urls())
    path = Path(root) / MARKET_INPUT_FILE
    stored = _read_stored(path)
    previous = _read_provenance(path) if stored is not None else {}
    sources = {"spx": urls["spx"], "vix": urls["vix"]}
    sources |= {f"fred:{s}": urls["fred"].replace("{series}", s) for s in fred_series}
    frames, records = {}, {}
    for name, url in sources.items():
        known = previous.get(name, {})
        got = get(url, etag=known.get("etag"), last_modified=known.get("last_modified"))
        if got.not_modified:
            log.info("%s: not modified since %s", got.url, known.get("fetched_at"))
            records[name] = {**known, "rows_added": 0, "cells_filled": 0}
            continue
        frames[name] = _parse(name, got)
        records[name] = _record(got, frames[name])
    downloaded = _table(frames, stored, fred_series)
    merged, added, filled = _merged(stored, downloaded, frames)
    for name, frame in frames.items():
        columns = [c for c in frame.columns if c != "date"]
        records[name]["rows_added"] = int(added[columns].notna().any(axis=1).sum())
        records[name]["cells_filled"] = int(filled[columns].to_numpy().sum())
    result = MarketDownload(path, len(added), int(filled.to_numpy().sum()), records)
    unchanged = all(records[n]["sha256"] == previous.get(n, {}).get("sha256") for n in frames)
    if added.empty and not result.cells_filled and unchanged:
        log.info("%s: no new day or value in any source; nothing written", path)
        return result
    if not added.empty or result.cells_filled:
        write_raw_market(merged, path, force=True)
    _write_provenance(path, records)
    return result


def _parse(name: str, got: Fetched) -> pd.DataFrame:
    """The source's table, read by its ``import-market`` parser from a temporary file
    named for the source; an error names the URL."""
    text = got.body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise DownloadError(f"GET {got.url}: HTTP {got.status} with an empty body, not CSV")
    if text[:1] == b"<" or "html" in got.content_type.lower():
        raise DownloadError(
            f"GET {got.url}: HTTP {got.status} answered an HTML page, not CSV "
            f"({got.content_type or 'no content type'}): {text[:80]!r}"
        )
    with tempfile.TemporaryDirectory(prefix="optvol-download-") as folder:
        file = Path(folder) / f"{name.replace(':', '_')}.csv"
        file.write_bytes(got.body)
        try:
            if name == "spx":
                frame = read_yahoo_ohlc(file)
            elif name == "vix":
                frame = read_cboe_vix(file)
            else:
                frame = read_fred(file)
        except OptvolInputError as err:
            raise DownloadError(
                f"GET {got.url}: {str(err).replace(str(file), 'the body')}"
            ) from None
    frame.attrs["source"] = got.url
    return frame


def _record(got: Fetched, frame: pd.DataFrame) -> dict:
    return {
        "url": got.url,
        "fetched_at": got.fetched_at,
        "bytes": len(got.body),
        "sha256": hashlib.sha256(got.body).hexdigest(),
        "rows": len(frame),
        "last_date": str(pd.Timestamp(frame["date"].max()).date()),
        "etag": got.etag,
        "last_modified": got.last_modified,
    }


def _table(
    frames: dict[str, pd.DataFrame], stored: pd.DataFrame | None, fred_series: Sequence[str]
) -> pd.DataFrame:
    """The downloaded sources as one ``raw_market.csv`` table (a source that was not
    modified contributes nothing)."""
    if "spx" not in frames:
        spx = pd.DataFrame({"date": pd.to_datetime([]), **{c: [] for c in SPX_COLUMNS}})
    else:
        spx = frames["spx"]
    fred = [frames[f"fred:{s}"] for s in fred_series if f"fred:{s}" in frames]
    table = build_raw_market(spx, frames.get("vix"), fred)
    if stored is not None:
        missing = [c for c in stored.columns if c not in table.columns]
        table = table.reindex(columns=[*table.columns, *missing])
        extra = [c for c in table.columns if c not in stored.columns]
        if extra:
            raise OptvolInputError(
                f"the stored {MARKET_INPUT_FILE} has no column {extra}: write it again with "
                "`optvol import-market`, or download the series it holds"
            )
        table = table[list(stored.columns)]
    return table


def _merged(
    stored: pd.DataFrame | None, table: pd.DataFrame, frames: dict[str, pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(the file's new table, the rows of new days, which stored cells were empty and
    are filled)``, once every source's overlap with the stored file agrees and no source
    ends before it. A stored value is never changed; an empty stored cell takes the
    source's value (FRED publishes a day's yield a day after the index closes, so a day
    is often stored before every series has it)."""
    values = [c for c in table.columns if c != "date"]
    if stored is None:
        added = table.dropna(how="all", subset=values)
        return added, added, pd.DataFrame(False, index=[], columns=values)
    for name, frame in frames.items():
        columns = [c for c in frame.columns if c != "date"]
        _refuse_stale(name, frame, stored, columns)
        _refuse_disagreement(name, table, stored, columns)
    known = table.set_index("date").reindex(stored["date"])[values].set_axis(stored.index)
    filled = stored[values].isna() & known.notna()
    kept = stored.copy()
    kept[values] = stored[values].fillna(known)
    # Every day the file lacks, not only later ones: a monthly series is dated the 1st,
    # often a weekend the file has no row for, and published weeks later.
    added = table[~table["date"].isin(stored["date"])].dropna(how="all", subset=values)
    merged = pd.concat([kept, added], ignore_index=True).sort_values("date", kind="stable")
    return merged.reset_index(drop=True), added, filled


def _refuse_stale(name: str, frame: pd.DataFrame, stored: pd.DataFrame, columns: list) -> None:
    held = stored.dropna(how="all", subset=columns)["date"]
    if held.empty:
        return
    ends = str(pd.Timestamp(frame["date"].max()).date())
    if ends < held.max():
        raise OptvolInputError(
            f"{frame.attrs['source']}: its history ends {ends}, before the stored "
            f"{MARKET_INPUT_FILE}'s {columns[0]} ({held.max()}); nothing written"
        )


def _refuse_disagreement(
    name: str, table: pd.DataFrame, stored: pd.DataFrame, columns: list
) -> None:
    both = stored[["date", *columns]].merge(
        table[["date", *columns]], on="date", suffixes=("_stored", "_downloaded")
    )
    for column in columns:
        a, b = both[f"{column}_stored"].to_numpy(), both[f"{column}_downloaded"].to_numpy()
        known = ~np.isnan(a) & ~np.isnan(b)
        differ = known & ~np.isclose(a, b, rtol=_RELATIVE, atol=_ABSOLUTE)
        if differ.any():
            at = int(np.argmax(differ))
            raise OptvolInputError(
                f"{name} disagrees with the stored {MARKET_INPUT_FILE} on "
                f"{both['date'].iloc[at]}: {column} {float(a[at])!r} stored, {float(b[at])!r} "
                "downloaded; "
                "nothing written"
            )


def _read_stored(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        # round_trip: every stored number reads back exactly, so a rewrite keeps its digits
        stored = pd.read_csv(path, dtype={"date": str}, float_precision="round_trip")
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise OptvolInputError(f"{path}: not a readable raw_market.csv: {err}") from None
    if "date" not in stored.columns or stored.empty:
        raise OptvolInputError(f"{path}: no date column or no rows; found {list(stored.columns)}")
    text = [c for c in stored.columns if c != "date" and stored[c].dtype == object]
    if text:
        raise OptvolInputError(
            f"{path}: column {text[0]!r} holds text, not numbers; write the file again with "
            "`optvol import-market`"
        )
    return stored


def read_provenance(path: str | Path) -> dict | None:
    """The download record kept beside the market file ``path``: ``{"file", "sources":
    {source: {url, fetched_at, bytes, sha256, rows, rows_added, cells_filled, last_date,
    etag, last_modified}}}``; ``None`` when the file was not downloaded (or the record
    is not readable)."""
    file = _provenance_path(Path(path))
    try:
        record = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("sources"), dict) else None


def _provenance_path(path: Path) -> Path:
    return path.with_name(path.stem + PROVENANCE_SUFFIX)


def _read_provenance(path: Path) -> dict:
    """The last run's record of each source, if it is the record of the file as it is now
    (a file written again by ``import-market`` or by hand is downloaded in full)."""
    record = read_provenance(path)
    if record is None:
        if _provenance_path(path).exists():
            log.warning("%s is not readable: downloading every source in full",
                        _provenance_path(path))  # fmt: skip
        return {}
    if record.get("file_sha256") != _sha256(path):
        log.info("%s changed since the last download: downloading every source in full", path)
        return {}
    return {name: entry for name, entry in record["sources"].items() if isinstance(entry, dict)}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_provenance(path: Path, records: dict[str, dict]) -> None:
    document = {"file": path.name, "file_sha256": _sha256(path), "sources": records}
    text = json.dumps(document, indent=2, sort_keys=True)
    with atomic_open(_provenance_path(path)) as handle:
        handle.write((text + "\n").encode())
