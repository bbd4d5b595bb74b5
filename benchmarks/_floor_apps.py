"""Bare apps behind the server ``optvol serve`` runs, for ``api_load.py --floor``: what
the HTTP server alone, and the server with Flask, cost a request with no optvol code.

    python benchmarks/_floor_apps.py {wsgi,flask} --port P [--workers N] [--threads T]

Both answer every request with the same small JSON body. ``--workers`` above 1 serves
with gunicorn, 1 with waitress, each configured by ``optvol.serve.server`` exactly as
``optvol serve`` is.
"""

from __future__ import annotations

import argparse

BODY = b'{"status":"ok"}'


def bare_wsgi(environ, start_response):
    """The least a WSGI app can do: a constant JSON body."""
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]


def bare_flask():
    """A Flask app with Flask's defaults and one route that answers a constant JSON body."""
    from flask import Flask, jsonify

    app = Flask("optvol.floor")

    @app.get("/health")
    def health():
        return jsonify({"status": "ok"})

    return app


def main() -> None:
    from optvol.serve.server import DEFAULT_THREADS, run_gunicorn, waitress_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", choices=("wsgi", "flask"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    app = bare_wsgi if args.app == "wsgi" else bare_flask()
    if args.workers > 1:
        run_gunicorn(app, "127.0.0.1", args.port, args.workers, args.threads or 1)
    else:
        waitress_server(app, "127.0.0.1", args.port, args.threads or DEFAULT_THREADS).run()


if __name__ == "__main__":
    main()
