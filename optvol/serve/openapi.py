"""The OpenAPI 3.1 document of the API, built from the pydantic schemas it validates with,
so that the documentation cannot drift from what the server accepts."""

from __future__ import annotations

import functools

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from optvol import __version__
from optvol.serve.schemas import (
    PLOT_KINDS,
    ErrorResponse,
    HealthResponse,
    OptionsResponse,
    PlotQuery,
    PredictRequest,
    VolatilityResponse,
)

REF = "#/components/schemas/{model}"


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("ErrorResponse")}},
    }


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(model: str) -> dict:
    return {"$ref": REF.format(model=model)}


@functools.cache
def openapi_document() -> dict:
    """The document served at ``/openapi.json``."""
    common = {
        "400": _error("The body is not JSON"),
        "413": _error("The body is too large"),
        "422": _error("The request is valid JSON but not a valid request: the message says why"),
        "503": _error("The model is not loaded: the message names the asset to materialize"),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "optvol API",
            "version": __version__,
            "description": "Prices SPY options with the trained GRU and forecasts S&P 500 "
            "volatility and returns, next to every baseline; models are read from the "
            "materialized artifacts of the data root.",
        },
        "paths": {
            "/health": _health_path(),
            "/predict": _predict_path(common),
            "/plot": _plot_path(common),
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1 document"}},
                }
            },
        },
        "components": {"schemas": _schemas()},
    }


def _schemas() -> dict:
    """The JSON schemas of the request and responses, from their pydantic models."""
    _, definitions = models_json_schema(
        [
            (model, "serialization")
            for model in (ErrorResponse, HealthResponse, OptionsResponse, VolatilityResponse)
        ],
        ref_template=REF,
    )
    request_schema = TypeAdapter(PredictRequest).json_schema(ref_template=REF)
    schemas = {**definitions.get("$defs", {}), **request_schema.pop("$defs", {})}
    schemas["PredictRequest"] = request_schema
    return schemas


def _health_path() -> dict:
    return {
        "get": {
            "summary": "Which models are loaded, their versions and training dates",
            "responses": {
                "200": _json(_ref("HealthResponse"), "Served"),
                "503": _json(_ref("HealthResponse"), "No model loaded"),
            },
        }
    }


def _predict_path(common: dict) -> dict:
    return {
        "post": {
            "summary": "Option prices (model=options) or volatility and return "
            "forecasts (model=volatility)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _ref("PredictRequest"), "examples": _examples()}
                },
            },
            "responses": {
                "200": _json(
                    {"oneOf": [_ref("OptionsResponse"), _ref("VolatilityResponse")]},
                    "The prediction, with the model version",
                ),
                **common,
            },
        }
    }


def _plot_path(common: dict) -> dict:
    plot_schema = PlotQuery.model_json_schema(ref_template=REF)
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": name in plot_schema.get("required", []),
            "schema": prop,
            "description": prop.get("description", ""),
        }
        for name, prop in plot_schema["properties"].items()
    ]
    return {
        "get": {
            "summary": f"A chart as PNG; kind is one of {', '.join(PLOT_KINDS)}",
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "The chart",
                    "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                },
                "422": common["422"],
                "503": common["503"],
            },
        }
    }


def _examples() -> dict:
    return {
        "option": {
            "summary": "One put on a day of the data, history from the processed data",
            "value": {
                "model": "options",
                "contracts": [
                    {
                        "expiration": "2023-03-17",
                        "strike": 350.0,
                        "option_type": "P",
                        "as_of": "2022-12-30",
                        "underlying": 382.43,
                    }
                ],
            },
        },
        "volatility": {
            "summary": "The forecast at the close of a day of the data",
            "value": {"model": "volatility", "as_of": "2018-12-31"},
        },
    }
