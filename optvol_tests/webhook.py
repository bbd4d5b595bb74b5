"""A real HTTP server on a loopback port that records the JSON bodies POSTed to it."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from optvol_tests.loopback import QuietHandler, serving


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

    class Handler(QuietHandler):
        def do_POST(self):  # noqa: N802 (the name http.server calls)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.received.append(json.loads(body))
            time.sleep(delay)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok")

    with serving(Handler) as url:
        hook.url = f"{url}/hook"
        yield hook
