"""``optvol serve``: the API under waitress, a production WSGI server.

The models are loaded once before the server accepts a connection. The log says when
the server starts (address, models served), every request with its latency (from the
app), and on shutdown how many requests it answered and how many were errors.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time

from optvol.core.errors import OptvolInputError
from optvol.core.served_models import ServedModels

log = logging.getLogger("optvol.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 8


def build_server(served: ServedModels, host: str, port: int, threads: int = DEFAULT_THREADS):
    """A waitress server of the API, bound but not yet serving (``port`` 0 picks a free
    one: ``server.effective_port``); the Flask app is ``server.optvol_app``."""
    import torch
    from waitress.server import create_server

    from optvol.serve.app import create_app

    # One intra-op thread per request: the requests are the parallelism, and several
    # threads per tiny GRU forward only contend for the cores.
    torch.set_num_threads(1)
    app = create_app(served)
    server = create_server(app, host=host, port=port, threads=threads, ident="optvol")
    server.optvol_app = app
    return server


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def serve(root, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          threads: int = DEFAULT_THREADS) -> int:  # fmt: skip
    """Load the models of the data root ``root`` and serve them until interrupted."""
    started = time.perf_counter()
    served = ServedModels.load(root)
    if not served.loaded():
        raise OptvolInputError(
            "no model can be served: "
            + "; ".join(f"{name}: {status.error}" for name, status in served.status.items())
        )
    server = build_server(served, host, port, threads)
    app_stats = server.optvol_app.extensions["optvol.stats"]
    log.info(
        "optvol API listening on http://%s:%s (models %s, loaded in %.1f s, %d threads)",
        host, server.effective_port, ", ".join(served.loaded()),
        time.perf_counter() - started, threads,
    )  # fmt: skip
    # SIGTERM (a service manager stopping the server) ends it as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            server.close()
        log.info("optvol API stopped: %d requests, %d errors", app_stats.requests,
                 app_stats.errors)  # fmt: skip
    return 0
