"""gunicorn's threaded worker with a deadline on reading each request, and more threads
to read requests than to answer them.

gunicorn's ``gthread`` worker gives a connection to a pool thread once the connection
is readable, and the thread then reads the request head with a blocking socket and no
time limit. A client that sends half a header holds that thread for as long as it keeps
the connection open; with one thread per worker, two such clients stop a two-worker
server. This worker bounds the reading instead:

* the request head (request line and headers) must arrive within ``read_timeout``
  seconds of a thread taking the connection; a client that is late is answered 408 in
  the API's JSON error format and its connection is closed;
* the body (up to ``body_limit`` bytes and one more, enough for the app to refuse a
  larger one) must arrive within ``read_timeout`` seconds of the head, and is read
  before the app runs; a late body reads as cut short, which the app answers with 400;
* the pool has ``SPARE_READERS`` threads beyond the ``slots`` that may run the app at
  once, so that clients still sending hold a reader, not a slot (a semaphore keeps the
  app's concurrency at ``slots``, as ``--threads`` asks);
* a connection that is done with is closed on its reader thread. gunicorn 27 closes it
  on the worker's one event-loop thread, lingering up to 2 s for the client to close its
  side (RFC 9112 section 9.6), so that every client that keeps its socket open after
  the answer (a 408, say) stopped the worker from accepting anyone for 2 s.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time

from gunicorn import util
from gunicorn.http.body import Body
from gunicorn.util import write_nonblock
from gunicorn.workers.gthread import ThreadWorker

SPARE_READERS = 32
_CLOSED = b""


class _DeadlineSocket(socket.socket):
    """A client socket whose blocking reads end at ``deadline`` (a ``time.monotonic``
    value, or None for no limit); a read past it returns end-of-stream, after answering
    408 when ``head`` says the request head is still being read."""

    deadline: float | None = None
    head = False

    @classmethod
    def adopt(cls, sock: socket.socket) -> _DeadlineSocket:
        return cls(sock.family, sock.type, sock.proto, fileno=sock.detach())

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        blocking_timeout = self.gettimeout()
        if self.deadline is None or blocking_timeout == 0.0:  # no limit, or the poller's
            return super().recv(bufsize, flags)
        remaining = self.deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            self.settimeout(remaining)
            return super().recv(bufsize, flags)
        except TimeoutError:
            return self._expire()
        finally:
            self.settimeout(blocking_timeout)

    def _expire(self) -> bytes:
        self.deadline = None
        if self.head:
            # A client that is gone or not reading gets no answer: closing is what is left.
            with contextlib.suppress(OSError):
                json_error_page(self, 408, "Request Timeout", "the request was not sent in time")
        return _CLOSED


def json_error_page(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's answer to a request it cannot parse (400, 414, 431, ...) in the API's
    JSON error format instead of its HTML page; it replaces ``gunicorn.util.write_error``
    in the server process, whose workers are forked from it."""
    message = f"{reason}: {mesg}" if mesg else reason
    body = json.dumps({"error": message, "field": None, "status": status_int}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    write_nonblock(sock, head.encode("latin-1") + body)


def _buffer_body(req, sock: socket.socket, limit: int) -> None:
    """Read the request's body, up to ``limit + 1`` bytes, into memory; a connection
    whose body was not read to its end, or ended before its declared length, is closed
    after the answer. A body declared
    larger than ``limit`` is left unread: the app refuses it by its length."""
    declared = next((value for name, value in req.headers if name == "CONTENT-LENGTH"), "")
    length = int(declared) if declared.strip().isdigit() else None
    if length is not None and length > limit:
        return
    _continue(req, sock)
    data = req.body.read(limit + 1)
    cut_short = length is not None and len(data) < length
    if len(data) > limit or cut_short:  # a cut body is not waited for again after the answer
        req.must_close = True
    req.body = Body(io.BytesIO(data))


def _continue(req, sock: socket.socket) -> None:
    """Answer ``Expect: 100-continue`` before reading the body: the client waits for it
    (curl for a second) before sending, and gunicorn would send it only when the app
    starts."""
    if not any(
        name == "EXPECT" and value.strip().lower() == "100-continue" for name, value in req.headers
    ):
        return
    sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if hasattr(req, "_expected_100_continue"):  # gunicorn >= 23 sends it from this flag
        req._expected_100_continue = False
    else:  # older ones from the header
        req.headers = [(name, value) for name, value in req.headers if name != "EXPECT"]


# gunicorn >= 27 closes a finished connection gracefully (half-close, then drain until
# the client closes, up to 2 s); earlier ones close at once.
_CLOSE_LINGERS = hasattr(util, "close_graceful")


def _close_here(conn) -> None:
    """Close ``conn`` as gunicorn would, on this thread (unless gunicorn closed its socket
    already); the event loop's close that follows is then nothing."""
    try:
        if conn.sock.fileno() != -1:
            with contextlib.suppress(OSError):
                conn.close(graceful=True)
    finally:
        conn.close = _closed


def _closed(graceful: bool = False) -> None:
    pass


def deadline_worker(read_timeout: float, slots: int, body_limit: int) -> type[ThreadWorker]:
    """The worker class to give gunicorn's ``worker_class``, with ``threads`` set to
    ``slots + SPARE_READERS``; ``body_limit`` is the largest body the app accepts."""
    if read_timeout <= 0:
        raise ValueError(f"read_timeout must be positive, got {read_timeout}")

    class DeadlineWorker(ThreadWorker):
        def init_process(self) -> None:
            self._slots = threading.BoundedSemaphore(slots)
            super().init_process()

        def handle(self, conn):
            if not isinstance(conn.sock, _DeadlineSocket):
                conn.sock = _DeadlineSocket.adopt(conn.sock)
            conn.sock.deadline = time.monotonic() + read_timeout
            conn.sock.head = True
            try:
                result = super().handle(conn)
            finally:
                conn.sock.deadline = None
            if not result and _CLOSE_LINGERS:  # to be closed: here, not on the event loop
                _close_here(conn)
            return result

        def handle_request(self, req, conn):
            conn.sock.head = False
            conn.sock.deadline = time.monotonic() + read_timeout
            _buffer_body(req, conn.sock, body_limit)  # while holding a reader, not a slot
            with self._slots:
                return super().handle_request(req, conn)

    return DeadlineWorker
