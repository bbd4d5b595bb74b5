"""The API's orjson provider writes what Flask's default writes, read back alike."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone

import numpy as np
import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from optvol.serve.json_provider import OrjsonProvider


@dataclass
class _Point:
    x: float
    label: str


PAYLOADS = [
    {"b": 1, "a": [1e-5, 1e16, 0.1, -0.0, 2.5e-300, 123456789.125], "c": None, "ü": "naïve €"},
    {"nested": {"z": [True, False, {"y": "x"}]}, "n": 3, "big": 2**53},
    {"numpy": [np.float64(2.5), np.float32(0.5), np.int64(-7), np.bool_(True)],
     "array": np.array([[1.0, 2.0], [3.0, 4.5]])},
    {"day": date(2022, 12, 30), "at": datetime(2022, 12, 30, 16, 0, tzinfo=timezone.utc)},
    {"point": _Point(1.5, "p"), "label": "dataclass"},
    {3: "int keys", 1: "written as strings"},
    [],
    "text",
]  # fmt: skip


def _default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return DefaultJSONProvider.default(obj)


@pytest.mark.parametrize("sort_keys", [True, False])
@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_the_output_reads_back_as_flasks_own(payload, sort_keys):
    app = Flask(__name__)
    provider = OrjsonProvider(app)
    provider.sort_keys = sort_keys
    got = provider.dumps(payload)
    # Flask's default, with NumPy values converted as orjson converts them.
    want = json.dumps(payload, default=_default, sort_keys=sort_keys, separators=(",", ":"),
                      ensure_ascii=False)  # fmt: skip
    assert json.loads(got) == json.loads(want)
    if isinstance(payload, dict) and all(isinstance(k, str) for k in payload):
        # Key order: sorted when asked, else as given.
        assert list(json.loads(got)) == (sorted(payload) if sort_keys else list(payload))


def test_invalid_numbers_become_null_and_the_app_answers_with_it():
    app = Flask(__name__)
    app.json = OrjsonProvider(app)

    @app.get("/")
    def index():
        return {"nan": float("nan"), "inf": float("inf"), "value": 0.25}

    response = app.test_client().get("/")
    assert response.mimetype == "application/json"
    assert response.data.endswith(b"\n")
    assert json.loads(response.data) == {"nan": None, "inf": None, "value": 0.25}


def test_indented_output_stays_with_the_standard_library():
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.json.compact = False
    with app.app_context():
        text = app.json.response({"b": 1, "a": [1, 2]}).get_data(as_text=True)
    assert text == json.dumps({"a": [1, 2], "b": 1}, indent=2) + "\n"
    assert app.json.dumps({"a": 1}, indent=1) == json.dumps({"a": 1}, indent=1)


def test_an_object_neither_knows_is_refused():
    with pytest.raises(TypeError):
        OrjsonProvider(Flask(__name__)).dumps({"x": object()})
