"""A bounded load against the real API server on loopback: requests/s, latency, errors.

    python benchmarks/api_load.py [--data-dir DIR] [--clients 8] [--seconds 10]
        [--warmup 2] [--workers N] [--threads T] [--contracts 200] [--batch 500] [--floor]

Needs a materialized data root (``make demo``). Starts ``optvol serve --workers N`` (by
default one worker per CPU: gunicorn; ``--workers 1``, and the default on Windows, is
waitress) as a separate process
on a free loopback port, waits for ``/health``, then runs, one after the other,
``--clients`` closed-loop clients for ``--warmup`` untimed and ``--seconds`` timed
seconds. Each client is a thread with one keep-alive connection that sends prepared
HTTP/1.1 requests on a raw socket and reads each response whole, as ``wrk`` does: the
clients share the cores with the server, and ``http.client`` would spend several times
more of them on its side. The workloads:

a. ``health``: ``GET /health`` -- the floor: HTTP parsing, Flask, JSON, the request log,
   with no model work. Measured in the same run, so the ratio below is against the same
   machine state;
b. ``predict_option``: ``POST /predict`` of one contract, cycling through ``--contracts``
   distinct contracts of the data's last days (history gathered from the processed data),
   so no answer repeats back to back;
c. ``predict_volatility``: ``POST /predict`` at a date, cycling through the last 250 days
   with a walk-forward forecast (no live GARCH fit);
d. ``bad_requests``: malformed, wrongly typed and out-of-range bodies; every answer must
   be a 4xx (an error here is a 2xx or a 5xx);
e. ``health`` and ``predict_option`` again with one client: the latency without
   queueing, and its floor;
f. ``predict_option_batch``: ``POST /predict`` of ``--batch`` contracts at once, cycling
   through every priceable contract of the data's last days, reported as contracts/s;
g. with ``--floor``, after optvol's server has stopped: the same server (gunicorn or
   waitress, configured by ``optvol.serve.server`` as ``optvol serve`` is) with a bare
   WSGI app, then a bare Flask app (``_floor_apps.py``), one client each: what the
   server alone and the server with Flask cost a request, under ``/health``'s floor.

Before the runs, one contract of b is timed in the predictor itself, in this process
(median over 5 rounds of b's contracts): what the model adds, without HTTP and Flask.

Printed per run: requests, requests/s, p50, p90, p99 and max latency (ms), errors (a
wrong status, or a connection refused, reset or broken, after which the client
reconnects); the ratios of b to a (p50 at 8 clients and at 1, mean latency,
throughput); e's p50s beside the predictor's time (and g's); and the targets, met or
not: b's p50 at most 5 ms and its p99 at most 25 ms at 8 clients; b's p50 at most twice
a's; e's p50 under 0.8 ms; f at least 50,000 contracts/s; no error anywhere.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from tabulate import tabulate
from threadpoolctl import threadpool_limits

TARGET_P50_MS = 5.0
TARGET_P99_MS = 25.0
TARGET_P50_RATIO = 2.0  # single-contract /predict p50 over /health p50
TARGET_ONE_CLIENT_P50_MS = 0.8
TARGET_CONTRACTS_PER_S = 50_000
BAD_BODIES = [
    b"{",
    b"[]",
    b'{"model": "options"}',
    b'{"model": "options", "contracts": [{"strike": -1}]}',
    b'{"model": "volatility", "as_of": "1800-01-01"}',
    b'{"model": "volatility", "as_of": "2018-12-31", "features": {}}',
    b'{"model": "volatility", "features": {"rv_21": NaN}}',
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(root: Path, port: int, workers: int, threads: int | None) -> subprocess.Popen:
    command = [sys.executable, "-m", "optvol.cli", "serve", "--data-dir", str(root)]
    return _launch("optvol serve", command, port, workers, threads, root / "api_load_server.log")


def _start_floor_server(app: str, port: int, workers: int, threads: int | None,
                        log_path: Path) -> subprocess.Popen:  # fmt: skip
    command = [sys.executable, str(Path(__file__).with_name("_floor_apps.py")), app]
    return _launch(f"the bare {app} app", command, port, workers, threads, log_path)


def _launch(name: str, command: list[str], port: int, workers: int, threads: int | None,
            log_path: Path) -> subprocess.Popen:  # fmt: skip
    """Start the server ``command`` on ``port`` and wait until its ``/health`` answers 200."""
    command = [*command, "--port", str(port), "--workers", str(workers)]
    if threads:
        command += ["--threads", str(threads)]
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} exited with {process.returncode}: see {log.name}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.25)
    process.kill()
    sys.exit(f"{name} did not answer /health within 300 s")


def _http_request(method: str, path: str, body: bytes | None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + (body or b"")


def _read_response(sock: socket.socket, buffer: bytes) -> tuple[int, bytes, bool]:
    """Status of the next response on ``sock``, what followed it, and whether the server
    closes the connection; the body is read whole (by its Content-Length) and dropped."""
    while b"\r\n\r\n" not in buffer:
        buffer += _receive(sock)
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status, length, close = int(lines[0].split()[1]), 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = value.strip().lower() == b"close"
        elif name == b"transfer-encoding":
            raise RuntimeError("chunked responses are not expected from the API")
    while len(rest) < length:
        rest += _receive(sock)
    return status, rest[length:], close


def _receive(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("the server closed the connection mid-response")
    return chunk


def _workloads(root: Path) -> tuple[dict[str, list[bytes]], float]:
    """Requests of each workload, as HTTP/1.1 bytes, built from the data root, and the
    median time (ms) of one of ``predict_option``'s contracts in the predictor itself."""
    from optvol.core.common.errors import RequestError
    from optvol.core.options.prediction import ContractRequest
    from optvol.serve.models import ServedModels

    served = ServedModels.load(root)
    options = served.require("options")
    days = options.trading_days_with_successor()[-5:]
    contracts, requests = [], []
    for day in days:
        quoted = options.contracts_quoted_on(options.previous_trading_day(day))
        for row in quoted.loc[quoted["expiration"].dt.date > day].itertuples():
            request = ContractRequest(row.expiration.date(), float(row.strike),
                                      row.option_type, day, options.spot_on(day))  # fmt: skip
            try:  # only contracts the models can price: t-1 IV, surface, return history
                options.predict([request])
            except RequestError:
                continue
            requests.append(request)
            contracts.append({
                "expiration": row.expiration.date().isoformat(), "strike": float(row.strike),
                "option_type": row.option_type, "as_of": day.isoformat(),
                "underlying": request.underlying,
            })  # fmt: skip
    every = contracts
    step = max(1, len(contracts) // ARGS.contracts)
    chosen = slice(None, step * ARGS.contracts, step)  # every step-th, at most --contracts
    contracts = contracts[chosen]
    in_process_ms = _predictor_ms(options, requests[chosen])
    batches = [
        [every[(start + j) % len(every)] for j in range(ARGS.batch)]
        for start in range(0, max(len(every), 1), max(1, len(every) // 10))
    ][:10]
    evaluation = served.evaluations.get("volatility", {})
    vol_days = evaluation.get("series", {}).get("volatility", {}).get("date", [])[-250:]
    return {
        "health": [_http_request("GET", "/health", None)],
        "predict_option": [
            _http_request(
                "POST", "/predict", json.dumps({"model": "options", "contracts": [c]}).encode()
            )
            for c in contracts
        ],  # fmt: skip
        "predict_option_batch": [
            _http_request(
                "POST", "/predict", json.dumps({"model": "options", "contracts": b}).encode()
            )
            for b in batches
        ],  # fmt: skip
        "predict_volatility": [
            _http_request(
                "POST", "/predict", json.dumps({"model": "volatility", "as_of": d}).encode()
            )
            for d in vol_days
        ],  # fmt: skip
        "bad_requests": [_http_request("POST", "/predict", body) for body in BAD_BODIES],
    }, in_process_ms


def _predictor_ms(options, requests: list, rounds: int = 5) -> float:
    """Median time of one contract's ``predict`` call, in milliseconds: what the model
    adds to a request, without HTTP, Flask or JSON."""
    times = []
    for _ in range(rounds):
        for request in requests:
            began = time.perf_counter()
            options.predict([request])
            times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000 if times else float("nan")


def _run(port: int, requests: list, clients: int, warmup: float, seconds: float,
         expect_error: bool) -> dict:  # fmt: skip
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter() + warmup
    stop = start + seconds

    def client(offset: int) -> None:
        sock, buffer = None, b""
        mine, bad, i = [], 0, offset
        while True:
            request = requests[i % len(requests)]
            i += clients
            began = time.perf_counter()
            if began >= stop:
                break
            try:
                if sock is None:  # (re)connecting is part of the request's latency
                    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    buffer = b""
                sock.sendall(request)
                status, buffer, close = _read_response(sock, buffer)
            except OSError:  # refused, reset, timed out, closed mid-response: an error
                status, close = 0, True
            ended = time.perf_counter()
            if close and sock is not None:
                sock.close()
            if close:
                sock = None
            ok = 400 <= status < 500 if expect_error else status == 200
            if began >= start:
                mine.append(ended - began)
                bad += not ok
        if sock is not None:
            sock.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    n = len(latencies)

    def percentile(q: float) -> float:
        return latencies[min(n - 1, int(q * n))] * 1000 if n else float("nan")

    return {
        "requests": n,
        "requests/s": n / seconds,
        "p50 ms": percentile(0.50),
        "p90 ms": percentile(0.90),
        "p99 ms": percentile(0.99),
        "max ms": latencies[-1] * 1000 if n else float("nan"),
        "mean ms": statistics.fmean(latencies) * 1000 if n else float("nan"),
        "errors": errors[0],
    }


def main() -> None:
    from optvol.core.common.paths import resolve_data_root

    root = resolve_data_root(ARGS.data_dir)
    with threadpool_limits(limits=1):  # no idle BLAS threads left beside the clients
        workloads, in_process_ms = _workloads(root)
    gc.collect()
    gc.freeze()  # the clients' collections need not walk the models the set-up loaded
    port = _free_port()
    server = _start_server(root, port, ARGS.workers, ARGS.threads)
    try:
        runs = [
            ("health", ARGS.clients, False),
            ("predict_option", ARGS.clients, False),
            ("predict_volatility", ARGS.clients, False),
            ("bad_requests", ARGS.clients, True),
            ("health", 1, False),
            ("predict_option", 1, False),
            ("predict_option_batch", ARGS.clients, False),
        ]
        results = []
        for name, clients, expect_error in runs:
            figures = _run(port, workloads[name], clients, ARGS.warmup, ARGS.seconds,
                           expect_error)  # fmt: skip
            results.append({"workload": name, "clients": clients, **figures})
    finally:
        server.terminate()
        server.wait(timeout=30)
    floors = {}
    for app in ("wsgi", "flask") if ARGS.floor else ():  # after optvol's: nothing beside it
        server = _start_floor_server(app, port, ARGS.workers, ARGS.threads,
                                     root / f"api_load_floor_{app}.log")  # fmt: skip
        try:
            figures = _run(port, workloads["health"], 1, ARGS.warmup, ARGS.seconds, False)
        finally:
            server.terminate()
            server.wait(timeout=30)
        floors[app] = figures
        results.append({"workload": f"floor_bare_{app}", "clients": 1, **figures})
    print(
        f"optvol API load, {platform.node()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; server: optvol serve --workers {ARGS.workers}"
        f"{f' --threads {ARGS.threads}' if ARGS.threads else ''} "
        f"({'gunicorn' if ARGS.workers > 1 else 'waitress'}); "
        f"{ARGS.seconds:g} s per run after {ARGS.warmup:g} s warm-up; data root {root}; "
        f"{len(workloads['predict_option'])} contracts"
    )
    print(tabulate(results, headers="keys", floatfmt=".2f"))
    health, option, health_alone, alone, batch = (results[i] for i in (0, 1, 4, 5, 6))
    ratio = option["p50 ms"] / health["p50 ms"]
    contracts_per_s = batch["requests/s"] * ARGS.batch
    print(f"\npredict_option p50 / health p50 at {ARGS.clients} clients: {ratio:.2f}; "
          f"with 1 client: {alone['p50 ms'] / health_alone['p50 ms']:.2f}")  # fmt: skip
    added = alone["p50 ms"] - health_alone["p50 ms"]
    print(f"one client, p50: predict_option {alone['p50 ms']:.2f} ms = health "
          f"{health_alone['p50 ms']:.2f} ms + {added:.2f} ms; one contract in the "
          f"predictor alone (in process, median): {in_process_ms:.2f} ms")  # fmt: skip
    if floors:
        bare = ", ".join(f"bare {app} app {f['p50 ms']:.2f} ms" for app, f in floors.items())
        print(f"the same server with no optvol code, one client, p50: {bare}")
    # The p50 at 8 clients sits on a queue; the mean latency and the throughput weigh
    # every request, so their ratios are the steadier measure of a prediction's cost.
    print(f"predict_option / health at {ARGS.clients} clients: mean latency "
          f"{option['mean ms'] / health['mean ms']:.2f}, requests/s "
          f"{health['requests/s'] / option['requests/s']:.2f} "
          "(health's over predict's)")  # fmt: skip
    print(f"predict_option_batch: {contracts_per_s:,.0f} contracts/s "
          f"({ARGS.batch} contracts per request, {ARGS.clients} clients)")  # fmt: skip
    errors = sum(r["errors"] for r in results)
    targets = [
        (f"single-contract /predict at {ARGS.clients} clients: p50 <= {TARGET_P50_MS:g} ms, "
         f"p99 <= {TARGET_P99_MS:g} ms", option["p50 ms"] <= TARGET_P50_MS
         and option["p99 ms"] <= TARGET_P99_MS,
         f"p50 {option['p50 ms']:.2f} ms, p99 {option['p99 ms']:.2f} ms"),
        (f"single-contract /predict p50 <= {TARGET_P50_RATIO:g} x /health p50",
         ratio <= TARGET_P50_RATIO, f"{ratio:.2f}"),
        (f"single-contract /predict p50 with 1 client < {TARGET_ONE_CLIENT_P50_MS:g} ms",
         alone["p50 ms"] < TARGET_ONE_CLIENT_P50_MS, f"{alone['p50 ms']:.2f} ms"),
        (f"{ARGS.batch}-contract /predict >= {TARGET_CONTRACTS_PER_S:,} contracts/s",
         contracts_per_s >= TARGET_CONTRACTS_PER_S, f"{contracts_per_s:,.0f}"),
        ("no error over every run", errors == 0, f"{errors} errors"),
    ]  # fmt: skip
    for what, met, figure in targets:
        print(f"target {what}: {'met' if met else 'NOT met'} ({figure})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="materialized data root (default: $OPTVOL_DATA_DIR)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--workers", type=int,
                        default=(os.cpu_count() or 1) if hasattr(os, "fork") else 1,
                        help="server processes (default: one per CPU; 1 without fork)")  # fmt: skip
    parser.add_argument("--threads", type=int, help="threads per server process "
                        "(default: optvol serve's)")  # fmt: skip
    parser.add_argument("--contracts", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500,
                        help="contracts per request of the batch workload")  # fmt: skip
    parser.add_argument("--floor", action="store_true",
                        help="also time a bare WSGI app and a bare Flask app behind the same "
                        "server, one client: the floor under /health")  # fmt: skip
    ARGS = parser.parse_args()
    main()
