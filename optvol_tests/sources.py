"""A real HTTP server on a loopback port standing in for the public data sources: each
path answers a queue of planned responses (status, body, headers, a delay, a body cut
short), repeating the last, honours ``If-None-Match`` with 304, and records the requests.
And the sources' files in their own layouts: stooq's S&P 500 CSV, Cboe's VIX_History.csv
and FRED's fredgraph CSV.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optvol_tests.loopback import QuietHandler, serving


@dataclass
class Answer:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/csv"
    delay: float = 0.0
    cut_short: bool = False  # announce the full length, send half, close


@dataclass
class Sources:
    url: str
    plans: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def serve(self, path: str, *answers: Answer) -> str:
        """Plan ``path``'s answers; return its URL."""
        self.plans[path] = list(answers)
        return f"{self.url}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


@contextlib.contextmanager
def local_sources() -> Iterator[Sources]:
    sources = Sources(url="")

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (the name http.server calls)
            path = self.path.split("?")[0]
            sources.requests.append((self.path, dict(self.headers)))
            plan = sources.plans.get(path) or [Answer(b"not found", 404, "text/plain")]
            answer = plan.pop(0) if len(plan) > 1 else plan[0]
            time.sleep(answer.delay)
            etag = f'"{hashlib.sha256(answer.body).hexdigest()[:16]}"'
            if answer.status == 200 and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            if answer.status == 200:
                self.send_header("ETag", etag)
            self.end_headers()
            body = answer.body[: len(answer.body) // 2] if answer.cut_short else answer.body
            self.wfile.write(body)
            if answer.cut_short:
                self.close_connection = True

    with serving(Handler) as url:
        sources.url = url
        yield sources


DAYS = pd.bdate_range("2024-01-02", periods=30)


def spx_csv(days=DAYS, shift: float = 0.0) -> bytes:
    close = 4700 + np.arange(len(days)) * 3.25 + shift
    lines = ["Date,Open,High,Low,Close,Volume"] + [
        f"{d:%Y-%m-%d},{c - 5:.2f},{c + 9:.2f},{c - 11:.2f},{c:.2f},2300000000"
        for d, c in zip(days, close, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def vix_csv(days=DAYS) -> bytes:
    level = 13 + (np.arange(len(days)) % 5) * 0.5
    lines = ["DATE,OPEN,HIGH,LOW,CLOSE"] + [
        f"{d:%m/%d/%Y},{v:.6f},{v + 1:.6f},{v - 1:.6f},{v:.6f}"
        for d, v in zip(days, level, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def fred_csv(series: str, days=DAYS) -> bytes:
    values = [("." if i % 7 == 3 else f"{4 + i / 100:.2f}") for i in range(len(days))]
    lines = [f"observation_date,{series}"] + [
        f"{d:%Y-%m-%d},{v}" for d, v in zip(days, values, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()
