"""One HTTP GET as a download needs it: a timeout on every read and a deadline on the
whole body, a cap on its size, conditional headers (``ETag`` / ``Last-Modified``, RFC
9110 §13.1), the ingest retry schedule (1, 2, 4 s) for what may heal (a timeout, a reset
connection, a cut body, a 5xx, 408 or 429, a name server that did not answer), and one
clear error naming the URL -- its query values hidden, as they may hold a key -- for
what will not (a 404, a host name that does not exist, a certificate that is refused).
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from time import sleep

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.retry import INGEST_MAX_RETRIES, with_retries

__all__ = ["DownloadError", "Fetched", "fetch", "redacted"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0  # for connecting and for each read
DEFAULT_DEADLINE_S = 300.0  # for the whole response: a server that trickles is cut off
DEFAULT_MAX_BYTES = 256 * 2**20  # a day's full index chain from Cboe is about 30 MB
_CHUNK = 1 << 16
USER_AGENT = "optvol (https://github.com/optvol/optvol)"
# Statuses a later try may not meet again.
_TRANSIENT_STATUSES = {408, 429, 500, 502, 503, 504}
_SECRET = re.compile(r"key|token|secret|pass|sig|auth|credential|session", re.IGNORECASE)


class DownloadError(OptvolInputError):
    """A download that failed: the message names the (redacted) URL and what happened."""


@dataclass(frozen=True)
class Fetched:
    """A response: ``status`` 200 with its ``body``, or 304 (not modified) with none."""

    url: str  # redacted
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None
    content_type: str
    fetched_at: str  # ISO 8601, UTC

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def redacted(url: str) -> str:
    """``url`` without a user and password, and with the values of query parameters that
    look like credentials hidden."""
    parts = urllib.parse.urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1])
    if parts.query:
        query = [
            (name, "***" if _SECRET.search(name) else value)
            for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        ]
        parts = parts._replace(query=urllib.parse.urlencode(query))
    return urllib.parse.urlunsplit(parts)


def fetch(
    url: str,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    wait: Callable[[float], None] | None = None,
    deadline: float = DEFAULT_DEADLINE_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Fetched:
    """GET ``url``, asking only for a newer version than ``etag``/``last_modified`` when
    given; tried again after 1, 2 and 4 s (``wait``, by default :func:`time.sleep`) while
    the failure may heal. Each try waits at most ``timeout`` seconds for any one read and
    ``deadline`` seconds for the whole response; a body over ``max_bytes`` is refused."""
    shown = redacted(url)
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"GET {shown}: not an http(s) URL")
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified

    def tell(err: Exception, retry: int, delay: float) -> None:
        log.warning("GET %s: %s; retry %d of %d in %.0f s", shown, err, retry,
                    INGEST_MAX_RETRIES, delay)  # fmt: skip

    try:
        return with_retries(lambda: _get(url, shown, headers, timeout, deadline, max_bytes),
                            _Transient, tell, wait=wait or sleep)  # fmt: skip
    except _Transient as err:
        raise DownloadError(f"GET {shown}: {err} (after {INGEST_MAX_RETRIES} retries)") from None


class _Transient(Exception):
    """A failure worth another try."""


def _get(
    url: str, shown: str, headers: dict[str, str], timeout: float, deadline: float, limit: int
) -> Fetched:
    request = urllib.request.Request(url, headers=headers)
    ends = time.monotonic() + deadline
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = _read_body(response, shown, ends, deadline, limit)
            return _fetched(shown, response.status, body, response.headers)
    except urllib.error.HTTPError as err:
        if err.code == 304:
            return _fetched(shown, 304, b"", err.headers)
        what = f"HTTP {err.code} {err.reason}"
        if err.code in _TRANSIENT_STATUSES:
            raise _Transient(what) from None
        raise DownloadError(f"GET {shown}: {what}") from None
    except TimeoutError:
        raise _Transient(f"no answer within {timeout:g} s") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError | socket.timeout):
            raise _Transient(f"no answer within {timeout:g} s") from None
        if _will_not_heal(err.reason):
            raise DownloadError(f"GET {shown}: {_said(err.reason)}") from None
        if isinstance(err.reason, ConnectionError | OSError):
            raise _Transient(f"cannot connect: {err.reason}") from None
        raise DownloadError(f"GET {shown}: {err.reason}") from None
    except (ConnectionError, http.client.HTTPException) as err:
        raise _Transient(f"the connection failed: {type(err).__name__}: {err}") from None


def _read_body(response, shown: str, ends: float, deadline: float, limit: int) -> bytes:
    """The body, read a chunk at a time (each read waits at most the socket's timeout)
    until the end, the deadline or the size limit."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise DownloadError(f"GET {shown}: the body is {int(declared):,} bytes, over the "
                            f"limit of {limit:,}")  # fmt: skip
    chunks, size = [], 0
    while True:
        try:
            chunk = response.read1(_CHUNK)
        except http.client.IncompleteRead:  # a chunked body that ends before its last chunk
            raise _Transient(f"the body was cut short after {size:,} bytes") from None
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise DownloadError(f"GET {shown}: the body is over the limit of {limit:,} bytes")
        if time.monotonic() > ends:
            raise _Transient(f"the body took over {deadline:g} s ({size:,} bytes so far)")
        chunks.append(chunk)
    if response.length:  # what a Content-Length promised and never came
        raise _Transient(f"the body was cut short ({size} bytes of {size + response.length})")
    return b"".join(chunks)


# getaddrinfo's answers that a host name does not exist, as opposed to EAI_AGAIN (no
# answer from a name server now), which may heal.
_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _will_not_heal(reason: object) -> bool:
    """A host name that does not exist, or a certificate this machine refuses."""
    if isinstance(reason, ssl.SSLCertVerificationError):
        return True
    return isinstance(reason, socket.gaierror) and reason.errno in _NO_SUCH_HOST


def _said(reason: object) -> str:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"the server's certificate was refused: {reason.verify_message or reason}"
    return f"no such host: {reason}"


def _fetched(shown: str, status: int, body: bytes, headers) -> Fetched:
    return Fetched(
        url=shown,
        status=status,
        body=body,
        etag=headers.get("ETag"),
        last_modified=headers.get("Last-Modified"),
        content_type=headers.get("Content-Type", ""),
        fetched_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
