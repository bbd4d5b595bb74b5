"""A real HTTP server on a loopback port standing in for the public data sources: each
path answers a queue of planned responses (status, body, headers, a delay, a body cut
short), repeating the last, honours ``If-None-Match`` with 304, and records the requests.
And the sources' files in their own layouts: stooq's S&P 500 CSV, Cboe's VIX_History.csv
and FRED's fredgraph CSV.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
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
    pieces: int = 1  # the body sent in this many parts, ``delay`` seconds apart
    no_length: bool = False  # no Content-Length: the body ends when the connection closes


@dataclass
class Sources:
    url: str
    plans: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # retry waits, where a test records them

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
            if not answer.no_length:
                self.send_header("Content-Length", str(len(answer.body)))
            if answer.status == 200:
                self.send_header("ETag", etag)
            self.end_headers()
            body = answer.body[: len(answer.body) // 2] if answer.cut_short else answer.body
            size = max(1, -(-len(body) // answer.pieces))
            for start in range(0, len(body), size):
                if start:
                    time.sleep(answer.delay)
                self.wfile.write(body[start : start + size])
                self.wfile.flush()
            if answer.cut_short or answer.no_length:
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


def cboe_json(
    timestamp: str = "2024-01-19 16:20:03",
    spot: float = 482.43,
    strikes=(470.0, 480.0, 490.0, 500.0),
    expiries=("2024-02-16", "2024-03-15"),
    root: str = "SPY",
) -> bytes:
    """A Cboe delayed-quotes document: calls and puts of ``strikes`` x ``expiries``."""
    options = []
    for expiry in expiries:
        days = max((pd.Timestamp(expiry) - pd.Timestamp(timestamp[:10])).days, 1)
        for strike in strikes:
            for kind in ("C", "P"):
                intrinsic = max(spot - strike, 0) if kind == "C" else max(strike - spot, 0)
                mid = intrinsic + 2.0 + 0.1 * days**0.5 * 4
                options.append({
                    "option": f"{root}{pd.Timestamp(expiry):%y%m%d}{kind}{int(strike * 1000):08d}",
                    "bid": round(mid - 0.05, 2), "ask": round(mid + 0.05, 2),
                    "bid_size": 10, "ask_size": 12, "iv": 0.14, "open_interest": 1500,
                    "volume": 230, "delta": 0.5 if kind == "C" else -0.5, "gamma": 0.03,
                    "theta": -0.12, "vega": 0.4, "rho": 0.1, "last_trade_price": round(mid, 2),
                })  # fmt: skip
    document = {"timestamp": timestamp, "data": {"current_price": spot, "options": options}}
    return json.dumps(document).encode()
