"""A bounded load against the real API server on loopback: requests/s, latency, errors.

    python benchmarks/api_load.py [--data-dir DIR] [--clients 8] [--seconds 10]
        [--warmup 2] [--threads 8] [--contracts 200]

Needs a materialized data root (``make demo``). Starts ``optvol serve`` (waitress) as a
separate process on a free loopback port, waits for ``/health``, then runs, one after the
other, ``--clients`` closed-loop clients (threads, one keep-alive connection each) for
``--warmup`` untimed and ``--seconds`` timed seconds against:

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
e. ``predict_option`` again with one client: the latency without queueing.

Printed per run: requests, requests/s, p50, p90, p99 and max latency (ms), errors; the
ratio of the p50 of b to a's; the issue's targets for b (p50 <= 5 ms, p99 <= 25 ms at 8
clients, no error), met or not. The clients share the machine's cores with the server.
"""

from __future__ import annotations

import argparse
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

TARGET_P50_MS = 5.0
TARGET_P99_MS = 25.0
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


def _start_server(root: Path, port: int, threads: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "optvol.cli", "serve", "--port", str(port),
               "--threads", str(threads), "--data-dir", str(root)]  # fmt: skip
    log = open(root / "api_load_server.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"optvol serve exited with {process.returncode}: see {log.name}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.25)
    process.kill()
    sys.exit("optvol serve did not answer /health within 300 s")


def _workloads(root: Path) -> dict[str, list[tuple[str, str, bytes | None]]]:
    """Requests of each workload: (method, path, body), built from the data root."""
    from optvol.core.errors import RequestError
    from optvol.core.option_prediction import ContractRequest
    from optvol.core.served_models import ServedModels

    served = ServedModels.load(root)
    options = served.require("options")
    days = options.trading_days_with_successor()[-5:]
    contracts = []
    for day in days:
        quoted = options.contracts_quoted_on(options.previous_trading_day(day))
        for row in quoted.loc[quoted["expiration"].dt.date > day].itertuples():
            request = ContractRequest(row.expiration.date(), float(row.strike),
                                      row.option_type, day, options.spot_on(day))  # fmt: skip
            try:  # only contracts the models can price: t-1 IV, surface, return history
                options.predict([request])
            except RequestError:
                continue
            contracts.append({
                "expiration": row.expiration.date().isoformat(), "strike": float(row.strike),
                "option_type": row.option_type, "as_of": day.isoformat(),
                "underlying": request.underlying,
            })  # fmt: skip
    step = max(1, len(contracts) // ARGS.contracts)
    contracts = contracts[::step][: ARGS.contracts]
    evaluation = served.evaluations.get("volatility", {})
    vol_days = evaluation.get("series", {}).get("volatility", {}).get("date", [])[-250:]
    return {
        "health": [("GET", "/health", None)],
        "predict_option": [
            ("POST", "/predict", json.dumps({"model": "options", "contracts": [c]}).encode())
            for c in contracts
        ],
        "predict_volatility": [
            ("POST", "/predict", json.dumps({"model": "volatility", "as_of": d}).encode())
            for d in vol_days
        ],
        "bad_requests": [("POST", "/predict", body) for body in BAD_BODIES],
    }


def _run(port: int, requests: list, clients: int, warmup: float, seconds: float,
         expect_error: bool) -> dict:  # fmt: skip
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter() + warmup
    stop = start + seconds

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, bad, i = [], 0, offset
        while True:
            method, path, body = requests[i % len(requests)]
            i += clients
            began = time.perf_counter()
            if began >= stop:
                break
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            ended = time.perf_counter()
            ok = 400 <= response.status < 500 if expect_error else response.status == 200
            if began >= start:
                mine.append(ended - began)
                bad += not ok
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
    from optvol.core.paths import data_root

    root = data_root(ARGS.data_dir)
    workloads = _workloads(root)
    port = _free_port()
    server = _start_server(root, port, ARGS.threads)
    try:
        runs = [
            ("health", ARGS.clients, False),
            ("predict_option", ARGS.clients, False),
            ("predict_volatility", ARGS.clients, False),
            ("bad_requests", ARGS.clients, True),
            ("predict_option", 1, False),
        ]
        results = []
        for name, clients, expect_error in runs:
            figures = _run(port, workloads[name], clients, ARGS.warmup, ARGS.seconds,
                           expect_error)  # fmt: skip
            results.append({"workload": name, "clients": clients, **figures})
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"optvol API load, {platform.node()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; server: waitress, {ARGS.threads} threads; "
        f"{ARGS.seconds:g} s per run after {ARGS.warmup:g} s warm-up; data root {root}; "
        f"{len(workloads['predict_option'])} contracts"
    )
    print(tabulate(results, headers="keys", floatfmt=".2f"))
    health, option = results[0], results[1]
    print(f"\npredict_option p50 / health p50 at {ARGS.clients} clients: "
          f"{option['p50 ms'] / health['p50 ms']:.2f}")  # fmt: skip
    met = (option["p50 ms"] <= TARGET_P50_MS and option["p99 ms"] <= TARGET_P99_MS
           and option["errors"] == 0)  # fmt: skip
    print(f"target (single-contract /predict at {ARGS.clients} clients: p50 <= "
          f"{TARGET_P50_MS:g} ms, p99 <= {TARGET_P99_MS:g} ms, no error): "
          f"{'met' if met else 'NOT met'} (p50 {option['p50 ms']:.2f} ms, "
          f"p99 {option['p99 ms']:.2f} ms, {option['errors']} errors)")  # fmt: skip
    errors = sum(r["errors"] for r in results)
    print(f"errors over every run: {errors}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="materialized data root (default: $OPTVOL_DATA_DIR)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=8, help="server threads")
    parser.add_argument("--contracts", type=int, default=200)
    ARGS = parser.parse_args()
    main()
