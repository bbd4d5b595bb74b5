"""``optvol serve``: the API under a production WSGI server.

One process (``--workers 1``, the default) is waitress with ``--threads`` threads; it
runs everywhere. Several (``--workers N``, POSIX only) are gunicorn workers forked from
one process that loaded the models once, each with ``--threads`` threads (default 1). A
request's work is Python under the interpreter lock, so threads of one process share a
core, and ``N`` workers are what use ``N`` cores.

The models are loaded once before the server accepts a connection. The log says when
the server starts (address, models served, workers), every request with its latency
(from the app), and on shutdown how many requests it answered and how many were errors,
counted over every worker.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import logging
import math
import os
import signal
import socket
import time
from collections.abc import Callable

from optvol.core.common.errors import OptvolInputError
from optvol.serve.models import ServedModels

log = logging.getLogger("optvol.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 8
# How long a gunicorn worker waits for a request's head, and then for its body; waitress
# reads requests without holding a thread, and drops a client silent for 120 s.
DEFAULT_READ_TIMEOUT_S = 10.0


def build_server(served: ServedModels, host: str, port: int, threads: int = DEFAULT_THREADS):
    """A waitress server of the API, bound but not yet serving (``port`` 0 picks a free
    one: ``server.effective_port``); the Flask app is ``server.optvol_app``."""
    from optvol.serve.app import create_app

    app = create_app(served)
    server = waitress_server(app, host, port, threads)
    server.optvol_app = app
    return server


def waitress_server(app, host: str, port: int, threads: int = DEFAULT_THREADS):
    """A waitress server of the WSGI ``app`` as ``optvol serve`` runs it with one process,
    bound but not yet serving."""
    from waitress.server import create_server

    server = create_server(app, host=host, port=port, threads=threads, ident="optvol")
    server.channel_class = _json_error_channel()
    return server


def _json_error_channel():
    """waitress's connection class, answering a request it cannot parse (400, 413, 431,
    501 for a transfer coding it does not implement, ...) in the API's JSON error format
    instead of plain text, as gunicorn's answers are
    (:func:`optvol.serve._gunicorn_worker.json_error_page`)."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    class JsonErrorTask(ErrorTask):
        def execute(self) -> None:
            error = self.request.error
            message = f"{error.reason}: {error.body}" if error.body else error.reason
            body = json.dumps({"error": message, "field": None, "status": error.code}).encode()
            self.status = f"{error.code} {error.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class JsonErrorChannel(HTTPChannel):
        error_task_class = JsonErrorTask

    return JsonErrorChannel


def _one_thread_per_request() -> None:
    """Set up a process that serves loaded models: one BLAS/OpenMP thread per request (the
    requests are the parallelism; more threads per tiny product only contend)."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)
    # The loaded models live as long as the server: out of the collector's way, its
    # collections stay short (and forked workers share those pages instead of copying).
    gc.collect()
    gc.freeze()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stopped(stats) -> None:
    log.info("optvol API stopped: %d requests, %d errors", stats.requests, stats.errors)


def check_port(host: str, port: int) -> None:
    """Refuse a port outside 0-65535 (0: any free port) or one that ``host`` cannot bind
    now, in use or not ours to take, with a message that says which."""
    if not 0 <= port <= 65535:
        raise OptvolInputError(f"--port must be between 0 and 65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise OptvolInputError(
            f"--host {host!r} is not an address of this machine: {err}"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            probe.bind(address)
        except OSError as err:
            reason = "is in use" if err.errno == errno.EADDRINUSE else f"cannot be bound ({err})"
            raise OptvolInputError(
                f"port {port} on {host} {reason}; choose another --port"
            ) from None


def serve(root, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          threads: int | None = None, workers: int = 1,
          read_timeout: float = DEFAULT_READ_TIMEOUT_S) -> int:  # fmt: skip
    """Load the models of the data root ``root`` and serve them until interrupted, with
    waitress (one worker) or gunicorn (``workers`` > 1, which answer 408 to a client that
    takes more than ``read_timeout`` seconds to send a request's head)."""
    if not (read_timeout > 0 and math.isfinite(read_timeout)):
        raise OptvolInputError(f"--read-timeout must be positive seconds, got {read_timeout}")
    if workers < 1:
        raise OptvolInputError(f"--workers must be at least 1, got {workers}")
    if threads is not None and threads < 1:
        raise OptvolInputError(f"--threads must be at least 1, got {threads}")
    if workers > 1 and not hasattr(os, "fork"):
        raise OptvolInputError("--workers above 1 needs a POSIX system (gunicorn forks)")
    check_port(host, port)  # before the models load: a busy port is known in a millisecond
    started = time.perf_counter()
    served = ServedModels.load(root)
    if not served.loaded():
        raise OptvolInputError(
            "no model can be served: "
            + "; ".join(f"{name}: {status.error}" for name, status in served.status.items())
        )
    loaded = f"models {', '.join(served.loaded())}, loaded in {time.perf_counter() - started:.1f} s"
    _one_thread_per_request()  # before gunicorn forks: its workers inherit it
    if workers > 1:
        return _serve_with_gunicorn(served, host, port, workers, threads or 1, loaded, read_timeout)
    threads = threads or DEFAULT_THREADS
    server = build_server(served, host, port, threads)
    app_stats = server.optvol_app.extensions["optvol.stats"]
    log.info("optvol API listening on http://%s:%s (%s, 1 process, %d threads)", host,
             server.effective_port, loaded, threads)  # fmt: skip
    # SIGTERM (a service manager stopping the server) ends it as Ctrl-C does; so does
    # SIGINT even where it was inherited as ignored (a job started with `&` by a script),
    # as it does under gunicorn.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            server.close()
        _stopped(app_stats)
    return 0


def _serve_with_gunicorn(served: ServedModels, host: str, port: int, workers: int,
                         threads: int, loaded: str, read_timeout: float) -> int:  # fmt: skip
    from optvol.serve.app import create_app

    app = create_app(served)
    stats = app.extensions["optvol.stats"]

    def ready(bound: str) -> None:
        log.info("optvol API listening on %s (%s, %d processes of %d threads)", bound, loaded,
                 workers, threads)  # fmt: skip

    return run_gunicorn(app, host, port, workers, threads, ready, lambda: _stopped(stats),
                        read_timeout)  # fmt: skip


def run_gunicorn(app, host: str, port: int, workers: int, threads: int,
                 ready: Callable[[str], None] | None = None,
                 stopped: Callable[[], None] | None = None,
                 read_timeout: float = DEFAULT_READ_TIMEOUT_S) -> int:  # fmt: skip
    """Serve the WSGI ``app`` with gunicorn as ``optvol serve --workers N`` does, until
    the server is stopped; ``ready`` is called with the bound addresses once it listens,
    ``stopped`` when it exits. ``threads`` requests run at once per worker; a client
    must send a request's head, and then its body, within ``read_timeout`` seconds
    (:mod:`optvol.serve._gunicorn_worker`). ``benchmarks/api_load.py --floor`` serves bare
    apps with it, to measure what the server and Flask cost with no optvol code."""
    from gunicorn import util as gunicorn_util
    from gunicorn.app.base import BaseApplication

    from optvol.serve._gunicorn_worker import SPARE_READERS, deadline_worker, json_error_page
    from optvol.serve.app import MAX_BODY_BYTES

    def when_ready(arbiter) -> None:
        if ready is not None:
            ready(", ".join(str(listener) for listener in arbiter.LISTENERS))

    def on_exit(arbiter) -> None:
        if stopped is not None:
            stopped()

    class Server(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers,
                # gthread keeps clients' connections alive and answers one request per
                # thread; ``threads`` of them run the app at once (one per process suits
                # work that holds the GIL), the spare ones read slow clients' requests.
                "worker_class": deadline_worker(read_timeout, threads, MAX_BODY_BYTES),
                "threads": threads + SPARE_READERS,
                "preload_app": True,
                "graceful_timeout": 10,
                "accesslog": None,  # the app logs every request with its latency
                "loglevel": "warning",
                "when_ready": when_ready,
                "on_exit": on_exit,
            }
            # gunicorn >= 25 also opens a control socket at a fixed path under $HOME or
            # $XDG_RUNTIME_DIR, shared by every server of the user: not wanted here.
            if "control_socket_disable" in self.cfg.settings:
                settings["control_socket_disable"] = True
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    gunicorn_util.write_error = json_error_page
    Server().run()  # ends the process (the arbiter exits; so do the workers)
    return 0
