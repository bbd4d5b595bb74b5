"""One HTTP GET as a download needs it: a timeout, conditional headers (``ETag`` /
``Last-Modified``, RFC 9110 §13.1), the ingest retry schedule (1, 2, 4 s) for what may
heal (a timeout, a reset connection, a cut body, a 5xx, 408 or 429), and one clear error
naming the URL -- its query values hidden, as they may hold a key -- for what will not.
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import re
import socket
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

DEFAULT_TIMEOUT_S = 30.0
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
) -> Fetched:
    """GET ``url``, asking only for a newer version than ``etag``/``last_modified`` when
    given; tried again after 1, 2 and 4 s (``wait``, by default :func:`time.sleep`) while
    the failure may heal."""
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
        return with_retries(lambda: _get(url, shown, headers, timeout), _Transient, tell,
                            wait=wait or sleep)  # fmt: skip
    except _Transient as err:
        raise DownloadError(f"GET {shown}: {err} (after {INGEST_MAX_RETRIES} retries)") from None


class _Transient(Exception):
    """A failure worth another try."""


def _get(url: str, shown: str, headers: dict[str, str], timeout: float) -> Fetched:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()  # raises IncompleteRead when the body is cut short
            return _fetched(shown, response.status, body, response.headers)
    except urllib.error.HTTPError as err:
        if err.code == 304:
            return _fetched(shown, 304, b"", err.headers)
        what = f"HTTP {err.code} {err.reason}"
        if err.code in _TRANSIENT_STATUSES:
            raise _Transient(what) from None
        raise DownloadError(f"GET {shown}: {what}") from None
    except http.client.IncompleteRead as err:
        got, expected = len(err.partial), len(err.partial) + (err.expected or 0)
        raise _Transient(f"the body was cut short ({got} bytes of {expected})") from None
    except TimeoutError:
        raise _Transient(f"no answer within {timeout:g} s") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError | socket.timeout):
            raise _Transient(f"no answer within {timeout:g} s") from None
        if isinstance(err.reason, ConnectionError | OSError):
            raise _Transient(f"cannot connect: {err.reason}") from None
        raise DownloadError(f"GET {shown}: {err.reason}") from None
    except (ConnectionError, http.client.HTTPException) as err:
        raise _Transient(f"the connection failed: {type(err).__name__}: {err}") from None


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
