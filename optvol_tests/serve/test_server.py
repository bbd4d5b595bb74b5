"""The API under the real WSGI servers (waitress; gunicorn's workers) on a free loopback
port, with real HTTP requests; and ``optvol serve`` as users start it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from optvol.cli import main
from optvol.serve.models import ServedModels
from optvol.serve.server import build_server


@pytest.fixture(scope="module")
def base_url(served_models):
    server = build_server(served_models, "127.0.0.1", 0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


def _call(url: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_the_real_server_answers_every_endpoint(base_url, served_models):
    status, kind, body = _call(f"{base_url}/health")
    assert status == 200 and kind == "application/json"
    assert json.loads(body)["status"] == "ok"
    day = served_models.volatility.last_date.isoformat()
    status, _, body = _call(f"{base_url}/predict",
                            json.dumps({"model": "volatility", "as_of": day}).encode())  # fmt: skip
    assert status == 200
    assert json.loads(body)["forecast"]["volatility"] == pytest.approx(
        served_models.volatility.at_date(served_models.volatility.last_date).volatility
    )
    status, kind, body = _call(f"{base_url}/plot?kind=error_by_bucket")
    assert status == 200 and kind == "image/png" and body[:4] == b"\x89PNG"
    status, _, body = _call(f"{base_url}/openapi.json")
    assert status == 200 and "/predict" in json.loads(body)["paths"]


def test_the_real_server_answers_bad_requests_with_4xx_json(base_url):
    for url, body, expected in [
        (f"{base_url}/predict", b"{", 400),
        (f"{base_url}/predict", b'{"model": "volatility", "as_of": "1800-01-01"}', 422),
        (f"{base_url}/predict", b"x" * (2 << 20), 413),
        (f"{base_url}/plot?kind=nope", None, 422),
        (f"{base_url}/missing", None, 404),
    ]:
        status, kind, payload = _call(url, body)
        assert status == expected, (url, payload[:200])
        assert kind == "application/json"
        assert json.loads(payload)["error"]


def test_concurrent_clients_all_get_answers(base_url, served_models):
    day = served_models.volatility.last_date.isoformat()
    body = json.dumps({"model": "volatility", "as_of": day}).encode()
    results: list[int] = []

    def client() -> None:
        for _ in range(5):
            results.append(_call(f"{base_url}/predict", body)[0])

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 30


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A server started with SIGINT ignored (by a script's `cmd &`) still stops on it.
@pytest.mark.parametrize("sigint", [signal.SIG_DFL, signal.SIG_IGN], ids=["sigint", "ignored"])
def test_optvol_serve_logs_start_requests_and_end(served_root, sigint):
    port = _free_port()
    process = _start(served_root, port, inherited_sigint=sigint)
    try:
        assert _call(f"http://127.0.0.1:{port}/predict", b"[")[0] == 400
    finally:
        output = _stop(process, signal.SIGINT)
    assert process.returncode == 0, output
    assert f"optvol API listening on http://127.0.0.1:{port}" in output
    assert "GET /health 200" in output and "POST /predict 400" in output
    assert "optvol API stopped: 2 requests, 1 errors" in output


def test_optvol_serve_without_models_exits_with_what_to_materialize(tmp_path, caplog):
    assert main(["serve", "--port", "0", "--data-dir", str(tmp_path)]) == 2
    assert "no model can be served" in caplog.text
    assert "gru_model" in caplog.text and "volatility_model" in caplog.text


def _refused_before_loading(monkeypatch, caplog, *args: str) -> str:
    """``optvol serve ARGS`` run here as the CLI runs it: exit status 2, and no model so
    much as loaded (a refusal that came too late would start a server, not hang the
    test); the message it logged."""

    def loaded_too_soon(cls, root):
        raise AssertionError("the models were loaded before the refusal")

    monkeypatch.setattr(ServedModels, "load", classmethod(loaded_too_soon))
    caplog.clear()
    assert main(["serve", *args]) == 2
    assert "Traceback" not in caplog.text
    return caplog.text


def _start(served_root, port: int, *extra: str, inherited_sigint=signal.SIG_DFL):
    """``optvol serve`` in its own process group, once it answers ``/health``; it starts
    with SIGINT's disposition ``inherited_sigint`` (whatever this process has)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "optvol.cli", "serve", "--port", str(port), "--data-dir",
         str(served_root), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, inherited_sigint),
        # faulthandler: a server that will not stop shows where every thread is (see _stop)
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if _call(f"http://127.0.0.1:{port}/health")[0] == 200:
                return process
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.2)
    _stop(process, signal.SIGKILL)
    raise AssertionError("optvol serve did not answer /health in 120 s")


def _stop(process: subprocess.Popen, signum: int, timeout: float = 120) -> str:
    """Send ``signum`` to the server and return its output once it has exited. One that
    has not exited within ``timeout`` is aborted (its threads' stacks land in the output)
    and fails the test; its process group (gunicorn's workers too) is killed either way."""
    process.send_signal(signum)
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGABRT)
        output = process.communicate(timeout=60)[0]
        raise AssertionError(
            f"optvol serve did not stop in {timeout} s:\n{output[-6000:]}"
        ) from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="gunicorn workers need fork")
def test_optvol_serve_with_two_workers_shares_its_counts_across_them(served_root, served_models):
    import psutil

    port = _free_port()
    process = _start(served_root, port, "--workers", "2")
    try:
        # gunicorn's master forks its workers one by one; the first may answer alone.
        deadline = time.monotonic() + 60
        while len(psutil.Process(process.pid).children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(psutil.Process(process.pid).children()) == 2
        day = served_models.volatility.last_date.isoformat()
        body = json.dumps({"model": "volatility", "as_of": day}).encode()
        # urllib opens a connection per request: the workers take them as they come.
        statuses = [_call(f"http://127.0.0.1:{port}/predict", body)[0] for _ in range(12)]
        statuses.append(_call(f"http://127.0.0.1:{port}/predict", b"[")[0])
        assert statuses == [200] * 12 + [400]
        health = json.loads(_call(f"http://127.0.0.1:{port}/health")[2])
        # 1 /health at start + 13 above, whichever worker answered each; then this one.
        assert (health["requests"], health["errors"]) == (14, 1)
    finally:
        output = _stop(process, signal.SIGTERM)
    assert process.returncode == 0, output
    assert f"optvol API listening on http://127.0.0.1:{port}" in output
    assert "2 processes of 1 threads" in output
    # The master answered none of them: the counts are the workers', in shared memory.
    assert "optvol API stopped: 15 requests, 1 errors" in output
    assert "Traceback" not in output


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as bytes and read the answer until the server closes or has sent
    its Content-Length: status, headers (lower-case) and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        data = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            if length and len(body) >= int(length.group(1)):
                break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def _chunked(payload: bytes, size: int = 65536) -> bytes:
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(payload[i : i + size]), payload[i : i + size])
        for i in range(0, len(payload), size)
    )
    return chunks + b"0\r\n\r\n"


POST = b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="gunicorn workers need fork")
def test_gunicorn_answers_malformed_requests_in_json_without_a_server_error(served_root):
    port = _free_port()
    process = _start(served_root, port, "--workers", "2")
    cases = {
        "bad chunk size": (POST + b"Transfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n", 400),
        "chunked over 1 MiB": (
            POST
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + _chunked(b'{"model": "volatility", "x": "' + b"a" * 1_100_000 + b'"}'),
            413,
        ),
        "garbage request line": (b"GARBAGE\r\n\r\n", 400),
        "URI too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        "header too large": (b"GET /health HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431),
    }
    try:
        for name, (request, expected) in cases.items():
            status, headers, body = _raw(port, request)
            assert status == expected, (name, status, body[:300])
            assert headers["content-type"].startswith("application/json"), (name, headers)
            error = json.loads(body)
            assert error["status"] == expected and error["error"], (name, error)
        # a chunked body within the limit is read whole
        day = "2012-01-03"
        status, _, body = _raw(
            port, POST + b"Transfer-Encoding: chunked\r\n\r\n"
            + _chunked(json.dumps({"model": "volatility", "as_of": day}).encode(), 7),
        )  # fmt: skip
        assert status in (200, 422), body[:300]  # parsed: a 422 only if the day is not in the data
    finally:
        output = _stop(process, signal.SIGTERM)
    assert "Traceback" not in output, output[-3000:]


def _answer(connection: socket.socket, head: list[bytes] | None = None) -> tuple[int, dict]:
    """Status and JSON body of the one answer on ``connection``, read until it closes;
    its head, lower-cased, is appended to ``head`` if given."""
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
    lines, _, body = data.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in lines.lower(), data[:500]
    if head is not None:
        head.append(lines.lower())
    return int(lines.split()[1]), json.loads(body)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="gunicorn workers need fork")
def test_gunicorn_keeps_serving_while_slow_clients_send_half_a_request(served_root):
    port = _free_port()
    process = _start(served_root, port, "--workers", "2", "--read-timeout", "3")
    slow = []
    try:
        # Eight clients, four times the threads that run the app, stop half-way through
        # a header; one stops half-way through a body.
        for _ in range(8):
            slow.append(socket.create_connection(("127.0.0.1", port), timeout=60))
            slow[-1].sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        slow.append(socket.create_connection(("127.0.0.1", port), timeout=60))
        slow[-1].sendall(POST + b'Content-Length: 100\r\n\r\n{"model": ')
        time.sleep(0.5)  # the workers take them
        # Everyone else is still answered, while the slow clients are being read.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=4) as response:
            assert response.status == 200
        # Once their time is up, the slow heads are answered 408 and the cut body 400.
        answers, closed, heads = [], [], []
        for connection in slow:
            answers.append(_answer(connection, heads))
            closed.append(time.monotonic())
        # The cut body's connection is closed after its 400, not kept alive and then
        # drained for the rest of a body that never comes.
        assert b"connection: close" in heads[8]
        # Each is closed on its reader thread as soon as it is answered, all eight heads
        # together: a worker's event loop once closed them one after the other, waiting up
        # to 2 s for each client to close its side (these keep their sockets open), and
        # accepted no one meanwhile; four heads on one worker made that 6 s and more.
        assert closed[7] - closed[0] < 3.0
        assert [status for status, _ in answers] == [408] * 8 + [400]
        assert all(error["status"] == status for status, error in answers)
        assert "not sent in time" in answers[0][1]["error"]
        # A client that asks before sending its body is told to go on at once.
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            body = b'{"model": "volatility", "as_of": "2012-01-03"}'
            head = b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
            connection.sendall(POST + head % len(body))
            assert connection.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
            connection.settimeout(60)
            connection.sendall(body)
            assert _answer(connection)[0] in (200, 422)
    finally:
        for connection in slow:
            connection.close()
        output = _stop(process, signal.SIGTERM)
    assert "Traceback" not in output, output[-3000:]


def test_waitress_answers_malformed_requests_in_json(served_root):
    port = _free_port()
    process = _start(served_root, port)  # one process: waitress
    cases = {
        "bad chunk size": POST + b"Transfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n",
        "gzip transfer coding": POST + b"Transfer-Encoding: gzip\r\n\r\n{}",
        "garbage request line": b"GARBAGE\r\n\r\n",
        "header too large": b"GET /health HTTP/1.1\r\nX: " + b"a" * 300_000 + b"\r\n\r\n",
    }
    try:
        for name, request in cases.items():
            status, headers, body = _raw(port, request)
            assert 400 <= status <= 501, (name, status, body[:300])
            assert headers["content-type"].startswith("application/json"), (name, headers)
            error = json.loads(body)
            assert error["status"] == status and error["error"], (name, error)
    finally:
        output = _stop(process, signal.SIGTERM)
    assert "Traceback" not in output, output[-3000:]


@pytest.mark.parametrize(
    "option, value",
    [("--workers", "0"), ("--workers", "-2"), ("--threads", "0"), ("--threads", "-1"),
     ("--read-timeout", "0"), ("--read-timeout", "nan")],
)  # fmt: skip
def test_optvol_serve_refuses_fewer_than_one_worker_or_thread_or_no_read_time(
    served_root, option, value, monkeypatch, caplog
):
    said = _refused_before_loading(
        monkeypatch, caplog, option, value, "--data-dir", str(served_root)
    )
    expected = "must be positive seconds" if option == "--read-timeout" else "must be at least 1"
    assert (
        f"{option} {expected}, got {float(value) if option == '--read-timeout' else value}" in said
    )


def test_optvol_serve_refuses_a_busy_or_impossible_port_before_loading(
    served_root, monkeypatch, caplog
):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for value, message in ((str(port), f"port {port} on 127.0.0.1 is in use"),
                               ("99999", "--port must be between 0 and 65535, got 99999")):  # fmt: skip
            said = _refused_before_loading(
                monkeypatch, caplog, "--port", value, "--data-dir", str(served_root)
            )
            assert message in said
