"""The HTTP API: a Flask app factory over the served models.

Endpoints: ``GET /health``, ``POST /predict``, ``GET /plot``, ``GET /openapi.json``.
Every error is a JSON body ``{"error", "field", "status"}`` with a 4xx status (503 when a
model is not loaded); a client never sees a stack trace. Each request is logged with its
status and latency.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time

from flask import Flask, Response, g, jsonify, request
from pydantic import TypeAdapter, ValidationError
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from optvol.core.common.data_summary import json_number
from optvol.core.common.errors import RequestError
from optvol.core.common.paths import resolve_data_root
from optvol.core.volatility.features import HORIZON
from optvol.serve.json_provider import OrjsonProvider
from optvol.serve.models import MODELS, ModelUnavailable, ServedModels
from optvol.serve.openapi import openapi_document
from optvol.serve.schemas import (
    MAX_BODY_BYTES,
    OptionsRequest,
    PlotQuery,
    PredictRequest,
    VolatilityRequest,
)

log = logging.getLogger("optvol.serve")
_PREDICT = TypeAdapter(PredictRequest)
COUNT_LOCK_TIMEOUT_S = 1.0


class RequestStats:
    """Requests served and errors answered, counted across threads, and across the worker
    processes of a multi-process server: the counts live in shared memory that processes
    forked after this object was made share."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
        self._shared = context.Array("q", 2)  # requests, errors; carries its own lock
        self._counts = self._shared.get_obj()  # read and written without the wrapper's lock

    @property
    def requests(self) -> int:
        return self._counts[0]

    @property
    def errors(self) -> int:
        return self._counts[1]

    def count(self, status: int) -> None:
        lock = self._shared.get_lock()
        # A worker killed while holding the lock would block every other one for good:
        # rather than wait, the request goes uncounted (and the log says so).
        if not lock.acquire(timeout=COUNT_LOCK_TIMEOUT_S):
            log.warning("request not counted: the shared request counter stayed locked")
            return
        try:
            self._counts[0] += 1
            self._counts[1] += status >= 400
        finally:
            lock.release()


def _error(status: int, message: str, field: str | None = None) -> tuple[Response, int]:
    return jsonify({"error": message, "field": field, "status": status}), status


def _request_body() -> bytes:
    """The request's body, at most ``MAX_BODY_BYTES``. A larger one is refused with 413
    whether it declares its length or comes in chunks (werkzeug would silently cut a
    chunked body at the limit), and one that cannot be read, such as a malformed chunk,
    with 400 rather than as a server error."""
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        return request.get_data(cache=False)  # Flask answers 413 above MAX_CONTENT_LENGTH
    try:
        body = request.environ["wsgi.input"].read(MAX_BODY_BYTES + 1)
    except Exception as err:  # the server's chunk parser: the client's malformed body
        raise BadRequest(f"the request body cannot be read ({type(err).__name__}: {err})") from None
    if len(body) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    return body


def _location(loc: tuple) -> str | None:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def _validation_error(error: ValidationError) -> tuple[Response, int]:
    problems = error.errors(include_url=False, include_input=False)
    if any(problem["type"] == "json_invalid" for problem in problems):
        return _error(400, f"the body is not valid JSON: {problems[0]['msg']}")
    first = problems[0]
    # A discriminated union reports the union's tag in the location; drop it.
    loc = tuple(p for p in first["loc"] if p not in ("options", "volatility"))
    where = _location(loc)
    text = first["msg"].removeprefix("Value error, ")
    message = f"{where}: {text}" if where else text
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem(s))"
    return _error(422, message, where)


def _version(served: ServedModels, name: str) -> dict:
    status = served.status[name]
    return {"version": status.version, "saved_at": status.saved_at,
            "trained_on": status.trained_on}  # fmt: skip


def _options_response(served: ServedModels, body: OptionsRequest) -> dict:
    from optvol.core.options.prediction import ContractRequest, HistoryQuote

    predictor = served.require("options")
    requests = [
        ContractRequest(
            c.expiration,
            c.strike,
            c.option_type,
            c.as_of,
            c.underlying,
            None
            if c.history is None
            else tuple(HistoryQuote(day.date, day.mid, day.iv) for day in c.history),
            c.root,
        )  # fmt: skip
        for c in body.contracts
    ]
    predictions = predictor.predict(requests)
    return {
        "model": "options",
        "model_version": _version(served, "options"),
        "predictions": [
            {
                "contract": contract.model_dump(mode="json", exclude_none=True),
                "previous_date": p.previous_date.isoformat(),
                "gru": json_number(p.gru),
                "delta": json_number(p.delta),
                "baselines": {name: json_number(v) for name, v in p.baselines.items()},
                "realized_mid": json_number(p.realized_mid),
                "history_source": p.history_source,
                "quoted_days": p.quoted_days,
            }
            for contract, p in zip(body.contracts, predictions, strict=True)
        ],
    }


def _volatility_response(served: ServedModels, body: VolatilityRequest) -> dict:
    predictor = served.require("volatility")
    if body.as_of is not None:
        p = predictor.at_date(body.as_of)
    else:
        p = predictor.from_features(body.features)
    return {
        "model": "volatility",
        "model_version": _version(served, "volatility"),
        "as_of": p.as_of.isoformat() if p.as_of else None,
        "chosen_model": p.model,
        "horizon_days": HORIZON,
        "forecast": {
            "volatility": json_number(p.volatility),
            "variance": json_number(p.variance),
            "log_return": json_number(p.log_return),
        },
        "baselines": {name: json_number(v) for name, v in p.baselines.items()},
        "realized": {name: json_number(v) for name, v in p.realized.items()},
        "in_training_window": p.in_training_window,
        "out_of_sample": {name: json_number(v) for name, v in p.out_of_sample.items()},
        "notes": p.notes,
    }


def _health(served: ServedModels, stats: RequestStats) -> tuple[dict, int]:
    loaded = served.loaded()
    status = "ok" if len(loaded) == len(MODELS) else ("degraded" if loaded else "unavailable")
    data = {}
    if served.options is not None:
        data["options"] = {"first_date": served.options.first_date.isoformat(),
                           "last_date": served.options.last_date.isoformat()}  # fmt: skip
    if served.volatility is not None:
        data["volatility"] = {
            "first_date": served.volatility.first_date.isoformat(),
            "last_date": served.volatility.last_date.isoformat(),
            "features": list(served.volatility.feature_names),
        }
    body = {
        "status": status,
        "models": {name: served.status[name].as_dict() for name in MODELS},
        "data": data,
        "requests": stats.requests,
        "errors": stats.errors,
    }
    return body, 200 if loaded else 503


def _plot(served: ServedModels, query: PlotQuery) -> bytes:
    from optvol.serve.plots import (
        error_by_bucket_png,
        forecast_vs_realized_png,
        option_history_png,
    )

    if query.kind == "forecast_vs_realized":
        models = [m.strip() for m in query.models.split(",") if m.strip()] if query.models else None
        return forecast_vs_realized_png(
            served.evaluation("volatility"), query.start, query.end, models
        )
    if query.kind == "option_history":
        return option_history_png(
            served.require("options"),
            query.expiration,
            query.strike,
            query.option_type,
            query.root,
        )
    return error_by_bucket_png(served.evaluation("options"))


def create_app(served: ServedModels | None = None, root: str | None = None) -> Flask:
    """The API over ``served`` (else the models of the data root ``root``, else of
    ``$OPTVOL_DATA_DIR``), loaded once here."""
    app = Flask("optvol.serve")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json = OrjsonProvider(app)
    app.json.sort_keys = False
    served = served if served is not None else ServedModels.load(resolve_data_root(root))
    stats = RequestStats()
    app.extensions["optvol"] = served
    app.extensions["optvol.stats"] = stats

    @app.before_request
    def _start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        stats.count(response.status_code)
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log.info("%s %s %d %.1f ms", request.method, request.path, response.status_code,
                 elapsed)  # fmt: skip
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        messages = {
            404: f"no endpoint {request.path}; see /openapi.json",
            405: f"{request.method} is not allowed on {request.path}",
            413: f"the body is larger than {MAX_BODY_BYTES:,} bytes",
        }
        return _error(error.code or 400, messages.get(error.code, error.description))

    # The request's own faults, raised by validation and the predictors.
    app.register_error_handler(ValidationError, _validation_error)
    app.register_error_handler(RequestError, lambda e: _error(422, str(e), e.field))
    app.register_error_handler(ModelUnavailable, lambda e: _error(503, str(e)))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("Unexpected error on %s %s", request.method, request.path)
        return _error(500, "internal error; the server log has the details")

    @app.get("/")
    def index():
        return jsonify(
            {
                "endpoints": ["/health", "/predict", "/plot", "/openapi.json"],
                "documentation": "/openapi.json",
            }  # fmt: skip
        )

    @app.get("/health")
    def health():
        body, status = _health(served, stats)
        return jsonify(body), status

    @app.get("/openapi.json")
    def openapi():
        return jsonify(openapi_document())

    @app.post("/predict")
    def predict():
        body = _PREDICT.validate_json(_request_body())
        if isinstance(body, OptionsRequest):
            return jsonify(_options_response(served, body))
        return jsonify(_volatility_response(served, body))

    @app.get("/plot")
    def plot():
        arguments = request.args.to_dict(flat=False)
        repeated = [name for name, values in arguments.items() if len(values) > 1]
        if repeated:
            return _error(422, f"parameters given more than once: {repeated}", repeated[0])
        query = PlotQuery.model_validate({k: v[0] for k, v in arguments.items()})
        return Response(_plot(served, query), mimetype="image/png")

    return app
