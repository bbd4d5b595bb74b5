"""A real HTTP server on a loopback port that records the JSON bodies POSTed to it."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Webhook:
    url: str
    received: list[dict] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float) -> list[dict]:
        """The bodies received, once there are ``count`` of them (or ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.received)


@contextlib.contextmanager
def local_webhook(status: int = 200, delay: float = 0.0) -> Iterator[Webhook]:
    """A webhook at ``http://127.0.0.1:<free port>/hook`` answering ``status`` after
    ``delay`` seconds."""
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the name http.server calls)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.received.append(json.loads(body))
            time.sleep(delay)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):  # keep the test output quiet
            pass

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request, client_address):  # a client that gave up waiting
            pass

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
