"""The HTTP API through Flask's test client, on real artifacts written by the pipeline's
own code: every endpoint, every class of bad input, and every response checked against
the schema the OpenAPI document publishes."""

from __future__ import annotations

import datetime as dt
import json
from datetime import date

import pytest
from jsonschema import Draft202012Validator

from optvol.core.options.prediction import ContractRequest, HistoryQuote
from optvol.serve.app import create_app
from optvol.serve.models import ServedModels
from optvol.serve.openapi import openapi_document
from optvol.serve.schemas import MAX_BODY_BYTES, MAX_CONTRACTS


@pytest.fixture(scope="module")
def client(served_models):
    return create_app(served_models).test_client()


def _schema_check(body: dict, component: str) -> None:
    document = openapi_document()
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    errors = list(Draft202012Validator(schema).iter_errors(body))
    assert not errors, [e.message for e in errors]


def _contract(predictor, day_index: int = -1, option_type: str = "P") -> dict:
    """A contract quoted on the trading day before day ``day_index`` and that day."""
    as_of = predictor.trading_days_with_successor()[day_index]
    quoted = predictor.contracts_quoted_on(predictor.previous_trading_day(as_of))
    quoted = quoted.loc[
        (quoted["option_type"] == option_type) & (quoted["expiration"].dt.date > as_of)
    ]
    row = quoted.iloc[len(quoted) // 2]
    return {
        "expiration": row["expiration"].date().isoformat(),
        "strike": float(row["strike"]),
        "option_type": option_type,
        "as_of": as_of.isoformat(),
        "underlying": predictor.spot_on(as_of),
    }


def _request(contract: dict) -> ContractRequest:
    return ContractRequest(
        date.fromisoformat(contract["expiration"]), contract["strike"], contract["option_type"],
        date.fromisoformat(contract["as_of"]), contract["underlying"],
    )  # fmt: skip


def test_health_lists_both_models_with_versions_and_training_dates(client, served_models):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    _schema_check(body, "HealthResponse")
    assert body["status"] == "ok"
    for name in ("options", "volatility"):
        model = body["models"][name]
        assert model["loaded"] and model["error"] is None
        assert model["version"] == served_models.status[name].version
        assert len(model["version"]) == 12
        assert model["trained_on"]
    card = served_models.options.model.card
    assert body["models"]["options"]["version"] == card.file.sha256[:12]
    assert body["models"]["options"]["trained_on"]["train"] == card.split_dates["train"]
    assert body["data"]["volatility"]["features"] == served_models.volatility.feature_names


def test_predict_options_matches_the_core_predictor(client, served_models):
    predictor = served_models.options
    contracts = [_contract(predictor, -1, "P"), _contract(predictor, -5, "C")]
    response = client.post("/predict", json={"model": "options", "contracts": contracts})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    _schema_check(body, "OptionsResponse")
    assert body["model_version"]["version"] == served_models.status["options"].version
    expected = predictor.predict([_request(c) for c in contracts])
    for got, want, sent in zip(body["predictions"], expected, contracts, strict=True):
        assert got["contract"] == sent
        assert got["gru"] == pytest.approx(want.gru, rel=1e-12)
        assert got["baselines"] == pytest.approx(want.baselines, rel=1e-12)
        assert set(got["baselines"]) == {
            "practitioner_bs",
            "practitioner_bs_mid_iv",
            "leverage_bs",
            "hull_white_bs",
            "adhoc_bs",
            "historical_bs",
            "prev_mid",
        }
        assert got["delta"] == pytest.approx(want.delta, rel=1e-12)
        assert -1.0 <= got["delta"] <= 1.0
        assert got["realized_mid"] == pytest.approx(want.realized_mid)
        assert got["history_source"] == "data"


def test_predict_options_for_the_day_after_the_data(client, served_models):
    predictor = served_models.options
    last = predictor.last_date
    quoted = predictor.contracts_quoted_on(last)
    row = quoted.loc[quoted["expiration"].dt.date > last].iloc[0]
    contract = {
        "expiration": row["expiration"].date().isoformat(), "strike": float(row["strike"]),
        "option_type": row["option_type"], "as_of": (last.fromordinal(last.toordinal() + 1)).isoformat(),
        "underlying": predictor.spot_on(last) * 1.01,
    }  # fmt: skip
    response = client.post("/predict", json={"model": "options", "contracts": [contract]})
    assert response.status_code == 200, response.get_json()
    prediction = response.get_json()["predictions"][0]
    assert prediction["realized_mid"] is None
    assert prediction["previous_date"] == last.isoformat()
    assert prediction["gru"] > 0


def test_predict_options_with_supplied_history_equals_the_gathered_one(client, served_models):
    predictor = served_models.options
    contract = _contract(predictor, -1, "C")
    request = _request(contract)
    quotes = predictor.samples.quotes
    row = predictor._row(request.expiration, request.strike, True)
    first = int(quotes.contracts.at[row, "first_quote"])
    count = int(quotes.contracts.at[row, "quotes"])
    history = []
    for position in range(first, first + count):
        day = predictor.calendar[quotes.day[position]].astype("datetime64[D]").item()
        if day < request.as_of:
            history.append({"date": day.isoformat(), "mid": float(quotes.previous.mid[position])})
    supplied = {**contract, "history": history}
    body = client.post("/predict", json={"model": "options", "contracts": [contract, supplied]})
    gathered, own = body.get_json()["predictions"]
    assert own["history_source"] == "supplied"
    assert own["gru"] == pytest.approx(gathered["gru"], rel=1e-5)
    assert own["baselines"]["practitioner_bs_mid_iv"] == pytest.approx(
        gathered["baselines"]["practitioner_bs_mid_iv"], rel=1e-9
    )
    # The same through the core, with the history as a tuple of HistoryQuote.
    core = predictor.predict([ContractRequest(
        request.expiration, request.strike, "C", request.as_of, request.underlying,
        tuple(HistoryQuote(date.fromisoformat(h["date"]), h["mid"])
              for h in history),
    )])[0]  # fmt: skip
    assert core.gru == pytest.approx(own["gru"], rel=1e-12)


def test_predict_volatility_at_a_date_and_from_features(client, served_models):
    predictor = served_models.volatility
    day = predictor.first_date.fromordinal(predictor.last_date.toordinal())
    response = client.post("/predict", json={"model": "volatility", "as_of": day.isoformat()})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    _schema_check(body, "VolatilityResponse")
    expected = predictor.at_date(day)
    assert body["forecast"]["volatility"] == pytest.approx(expected.volatility)
    assert body["chosen_model"] == served_models.volatility.chosen
    assert set(body["baselines"]) >= {"har", "garch", "vix", "no_change", "historical_mean_return"}
    assert body["model_version"]["version"] == served_models.status["volatility"].version
    features = predictor.features_on(day)
    response = client.post("/predict", json={"model": "volatility", "features": features})
    assert response.status_code == 200, response.get_json()
    from_features = response.get_json()
    assert from_features["forecast"] == pytest.approx(body["forecast"])
    assert from_features["baselines"]["garch"] is None
    assert from_features["as_of"] is None


def test_predict_volatility_reports_realized_values_and_out_of_sample_forecasts(
    client, served_models
):
    evaluation = served_models.evaluations["volatility"]
    day = evaluation.series.volatility["date"][-30]
    body = client.post("/predict", json={"model": "volatility", "as_of": day}).get_json()
    assert body["realized"]["volatility"] is not None
    series = evaluation.series.volatility
    index = series["date"].index(day)
    assert body["out_of_sample"]["har"] == pytest.approx(series["har"][index])
    assert body["baselines"]["garch"] == pytest.approx(series["garch"][index])


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ("{not json", 400, "not valid JSON"),
        ("", 400, "not valid JSON"),
        ('{"model": "options", "contracts": [', 400, "not valid JSON"),
        ("[]", 422, "object"),
        ('"options"', 422, "object"),
        ("{}", 422, "model"),
        ('{"model": "stocks"}', 422, "does not match"),
        ('{"model": "options"}', 422, "contracts"),
        ('{"model": "options", "contracts": []}', 422, "at least 1"),
        ('{"model": "volatility"}', 422, "exactly one of as_of and features"),
        ('{"model": "volatility", "as_of": "2012-01-03", "features": {}}', 422, "exactly one"),
        ('{"model": "volatility", "as_of": "yesterday"}', 422, "as_of"),
        ('{"model": "volatility", "as_of": "2031-01-02"}', 422, "outside the data"),
        ('{"model": "volatility", "as_of": "2012-01-01"}', 422, "not a trading day"),
        ('{"model": "volatility", "as_of": 20120103}', 422, "as_of"),
        ('{"model": "volatility", "as_of": "2012-01-03", "extra": 1}', 422, "Extra inputs"),
        ('{"model": "volatility", "features": {"rv_21": 0.1}}', 422, "lacks"),
        ('{"model": "volatility", "features": {"rv_21": "0.1"}}', 422, "number"),
        ('{"model": "volatility", "features": {"rv_21": NaN}}', 422, "finite"),
        ('{"model": "volatility", "features": {"rv_21": Infinity}}', 422, "finite"),
    ],
)
def test_bad_bodies_get_a_4xx_with_a_message(client, body, status, fragment):
    response = client.post("/predict", data=body, content_type="application/json")
    assert response.status_code == status, response.get_json()
    error = response.get_json()
    _schema_check(error, "ErrorResponse")
    assert fragment.lower() in error["error"].lower()
    assert "Traceback" not in response.get_data(as_text=True)


def _bad_contract(served_models, **change) -> dict:
    contract = _contract(served_models.options, -1, "P")
    contract.update(change)
    return {k: v for k, v in contract.items() if v is not None}


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"strike": -5.0}, "contracts[0].strike", "greater than 0"),
        ({"strike": 0}, "contracts[0].strike", "greater than 0"),
        ({"underlying": -1.0}, "contracts[0].underlying", "greater than 0"),
        ({"underlying": 8.4e8}, "contracts[0].underlying", "more than 3-fold in a day"),
        ({"underlying": 0.5}, "contracts[0].underlying", "more than 3-fold in a day"),
        ({"strike": "350"}, "contracts[0].strike", "number"),
        ({"strike": True}, "contracts[0].strike", "number"),
        ({"option_type": "call"}, "contracts[0].option_type", "'C' or 'P'"),
        ({"expiration": "2019-01-18"}, "contracts[0].expiration", "expired"),
        ({"expiration": "18/01/2030"}, "contracts[0].expiration", "date"),
        ({"as_of": "2035-06-01"}, "contracts[0].as_of", "outside the data"),
        ({"as_of": None}, "contracts[0].as_of", "Field required"),
        ({"bid": 1.0}, "contracts[0].bid", "Extra inputs"),
        ({"strike": 123.456}, "contracts[0]", "no usable quote"),
        (
            {"history": [{"date": "2020-01-01", "mid": 1.0}]},
            "contracts[0].history[0].date",
            "trading day",
        ),
        (
            {"history": [{"date": "2020-01-02", "mid": -1.0}]},
            "contracts[0].history[0].mid",
            "greater than 0",
        ),
        (
            {"history": [{"date": "2020-01-02", "mid": 1.0, "iv": 45.0}]},
            "contracts[0].history[0].iv",
            "less than or equal",
        ),
        ({"history": []}, "contracts[0].history", "empty"),
    ],
)
def test_bad_contracts_get_a_422_naming_the_field(client, served_models, change, field, fragment):
    contract = _bad_contract(served_models, **change)
    response = client.post("/predict", json={"model": "options", "contracts": [contract]})
    assert response.status_code == 422, response.get_json()
    error = response.get_json()
    assert error["field"] == field
    assert fragment.lower() in error["error"].lower()


def test_a_day_that_is_not_a_trading_day_inside_the_data_is_refused(client, served_models):
    predictor = served_models.options
    calendar = [d.astype("datetime64[D]").item() for d in predictor.calendar]
    gap = next(a.fromordinal(a.toordinal() + 1) for a, b in zip(calendar, calendar[1:], strict=False)
               if (b - a).days > 1)  # fmt: skip
    contract = _bad_contract(served_models, as_of=gap.isoformat())
    error = client.post("/predict", json={"model": "options", "contracts": [contract]}).get_json()
    assert error["status"] == 422 and "not a trading day" in error["error"]


def test_too_many_contracts_and_oversized_bodies_are_refused(client, served_models):
    contract = _contract(served_models.options)
    many = {"model": "options", "contracts": [contract] * (MAX_CONTRACTS + 1)}
    response = client.post("/predict", json=many)
    assert response.status_code == 422 and "at most" in response.get_json()["error"]
    huge = json.dumps({"model": "volatility", "as_of": "x" * MAX_BODY_BYTES})
    response = client.post("/predict", data=huge, content_type="application/json")
    assert response.status_code == 413
    assert "larger than" in response.get_json()["error"]


def test_unknown_routes_and_methods_answer_json(client):
    response = client.get("/nowhere")
    assert response.status_code == 404 and "openapi" in response.get_json()["error"]
    response = client.get("/predict")
    assert response.status_code == 405 and response.get_json()["status"] == 405
    response = client.post("/health")
    assert response.status_code == 405


@pytest.mark.parametrize(
    "query",
    [
        "kind=forecast_vs_realized",
        "kind=forecast_vs_realized&models=har,garch",
        "kind=error_by_bucket",
    ],
)
def test_plot_returns_a_png(client, query):
    response = client.get(f"/plot?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "image/png"
    assert response.data[:8] == b"\x89PNG\r\n\x1a\n" and len(response.data) > 10_000


def test_plot_of_a_contract_history(client, served_models):
    contract = _contract(served_models.options, -1, "C")
    query = (f"kind=option_history&expiration={contract['expiration']}"
             f"&strike={contract['strike']}&option_type=C")  # fmt: skip
    response = client.get(f"/plot?{query}")
    assert response.status_code == 200, response.get_json()
    assert response.data[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("", "kind"),
        ("kind=heatmap", "kind"),
        ("kind=option_history", "needs"),
        ("kind=option_history&expiration=2020-03-20&strike=-1&option_type=C", "greater than 0"),
        (
            "kind=option_history&expiration=2020-03-20&strike=123.45&option_type=C",
            "no usable quote",
        ),
        ("kind=forecast_vs_realized&start=2030-01-01", "no forecast"),
        ("kind=forecast_vs_realized&start=2012-05-01&end=2011-01-01", "after"),
        ("kind=forecast_vs_realized&models=nonsense", "unknown models"),
        ("kind=forecast_vs_realized&start=notadate", "date"),
        ("kind=error_by_bucket&kind=option_history", "more than once"),
        ("kind=error_by_bucket&color=red", "Extra inputs"),
    ],
)
def test_bad_plot_queries_get_a_422(client, query, fragment):
    response = client.get(f"/plot?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert fragment.lower() in response.get_json()["error"].lower()


def test_openapi_document_describes_every_endpoint_and_its_examples_validate(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/health", "/predict", "/plot", "/openapi.json"}
    schemas = document["components"]["schemas"]
    for name in (
        "PredictRequest",
        "OptionsRequest",
        "VolatilityRequest",
        "OptionsResponse",
        "VolatilityResponse",
        "HealthResponse",
        "ErrorResponse",
        "OptionContract",
    ):
        assert name in schemas
    examples = document["paths"]["/predict"]["post"]["requestBody"]["content"][
        "application/json"]["examples"]  # fmt: skip
    for example in examples.values():
        _schema_check(example["value"], "PredictRequest")
    kinds = next(p for p in document["paths"]["/plot"]["get"]["parameters"] if p["name"] == "kind")
    assert set(kinds["schema"]["enum"]) == {
        "forecast_vs_realized",
        "option_history",
        "error_by_bucket",
    }


@pytest.mark.parametrize("name", ["parkinson_21", "garman_klass_21", "rv_21", "vix_rv_ratio"])
def test_negative_volatility_features_are_refused(client, served_models, name):
    predictor = served_models.volatility
    features = predictor.features_on(predictor.last_date)
    if name not in features:
        pytest.skip(f"the model does not take {name}")
    response = client.post(
        "/predict", json={"model": "volatility", "features": {**features, name: -0.2}}
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == f"features.{name}"
    assert "cannot be negative" in response.get_json()["error"]


@pytest.mark.parametrize(("name", "value"), [("vix_close", 1e300), ("rv_1", 1e308),
                                             ("log_return", -3.0), ("rq_ratio_22", 50.0)])  # fmt: skip
def test_implausible_volatility_features_are_refused(client, served_models, name, value):
    predictor = served_models.volatility
    features = predictor.features_on(predictor.last_date)
    response = client.post(
        "/predict", json={"model": "volatility", "features": {**features, name: value}}
    )
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["field"] == f"features.{name}"
    assert "outside its plausible range" in body["error"]


def test_the_limits_are_stated_in_the_openapi_schema(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert (
        "vix_close [0, 200]"
        in schemas["VolatilityRequest"]["properties"]["features"]["description"]
    )
    assert (
        "within a factor of 3"
        in schemas["OptionContract"]["properties"]["underlying"]["description"]
    )
    assert "parkinson_21" in str(schemas["VolatilityRequest"]["properties"]["features"])


def test_saved_at_is_the_training_time_not_the_copy_time(served_root, tmp_path):
    import shutil
    import time

    root = tmp_path / "data"
    time.sleep(1.1)
    shutil.copytree(served_root, root)  # a plain copy: new mtimes
    card = json.loads((root / "models" / "gru_model.json").read_text())
    served = ServedModels.load(root)
    assert served.status["options"].saved_at == card["file"]["saved_at"]
    mtime = (root / "models" / "gru_model.pt").stat().st_mtime
    assert card["file"]["saved_at"] < dt.datetime.fromtimestamp(mtime, dt.timezone.utc).isoformat()


def test_without_artifacts_the_api_says_what_to_materialize(tmp_path):
    client = create_app(ServedModels.load(tmp_path)).test_client()
    health = client.get("/health")
    assert health.status_code == 503
    body = health.get_json()
    assert str(tmp_path) not in json.dumps(body)  # paths relative to the data root
    assert "models/gru_model.pt (asset gru_model)" in body["models"]["options"]["error"]
    assert body["status"] == "unavailable"
    assert "gru_model" in body["models"]["options"]["error"]
    assert "materialize" in body["models"]["volatility"]["error"]
    response = client.post("/predict", json={"model": "volatility", "as_of": "2012-01-03"})
    assert response.status_code == 503
    assert "volatility_model" in response.get_json()["error"]
    response = client.get("/plot?kind=error_by_bucket")
    assert response.status_code == 503 and "option_evaluation" in response.get_json()["error"]
    assert str(tmp_path) not in response.get_data(as_text=True)


def test_each_request_is_logged_with_its_status_and_latency(client, caplog):
    caplog.set_level("INFO", logger="optvol.serve")
    client.get("/health")
    client.post("/predict", data="{", content_type="application/json")
    lines = [r.getMessage() for r in caplog.records if r.name == "optvol.serve"]
    assert any(line.startswith("GET /health 200 ") and line.endswith(" ms") for line in lines)
    assert any(line.startswith("POST /predict 400 ") for line in lines)


def test_health_counts_requests_and_errors(served_models):
    client = create_app(served_models).test_client()
    client.get("/health")
    client.post("/predict", data="{", content_type="application/json")
    client.get("/nowhere")
    body = client.get("/health").get_json()
    assert body["requests"] == 3 and body["errors"] == 2


def test_a_counter_left_locked_by_a_dead_worker_does_not_block_requests(
    served_models, monkeypatch, caplog
):
    import threading

    import optvol.serve.app as app_module

    monkeypatch.setattr(app_module, "COUNT_LOCK_TIMEOUT_S", 0.05)
    app = create_app(served_models)
    stats = app.extensions["optvol.stats"]
    client = app.test_client()
    client.get("/health")
    # Held by another thread, as by a worker killed inside count(); the thread stays alive
    # until the end, as a dead thread's id could be reused by the request's thread.
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        lock = stats._shared.get_lock()
        lock.acquire()
        held.set()
        done.wait()
        lock.release()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    answered = []
    request = threading.Thread(target=lambda: answered.append(client.get("/health").status_code))
    request.start()
    request.join(timeout=30)
    done.set()
    holder.join()
    assert answered == [200], "the request waited on the stuck counter"
    assert "request not counted" in caplog.text
    assert client.get("/health").get_json()["requests"] == 1


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda card: card.update(file="x"), "file: input should be a valid dictionary"),
        (lambda card: card.update(architecture="x"), "architecture: input should be a valid"),
        (lambda card: card.pop("scalers"), "scalers is missing"),
        (lambda card: card.update(format=2), "model card of format 2; this optvol reads"),
    ],
    ids=["file", "architecture", "missing", "format"],
)
def test_a_malformed_model_card_refuses_that_model_only_with_one_message(
    served_root, tmp_path, change, problem
):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(served_root, root)
    card_path = root / "models" / "gru_model.json"
    card = json.loads(card_path.read_text())
    change(card)
    card_path.write_text(json.dumps(card))
    served = ServedModels.load(root)
    assert served.loaded() == ["volatility"]
    error = served.status["options"].error
    assert error.startswith("models/gru_model.json") and problem in error
    assert error.endswith("re-materialize gru_model") and "\n" not in error
    health = create_app(served).test_client().get("/health").get_json()
    assert health["models"]["volatility"]["loaded"] is True
    assert health["models"]["options"]["error"] == error


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda text: text[: len(text) // 2], "not JSON"),
        (lambda text: "", "is empty"),
        (lambda text: text.replace('"format": 1', '"format": 0'), "of format 0"),
    ],
    ids=["truncated", "empty", "format"],
)
def test_a_malformed_evaluation_is_answered_with_its_one_message(
    served_root, tmp_path, damage, problem
):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(served_root, root)
    path = root / "metrics" / "evaluation.json"
    path.write_text(damage(path.read_text()))
    served = ServedModels.load(root)
    assert served.loaded() == ["options", "volatility"]  # the models are still served
    response = create_app(served).test_client().get("/plot?kind=error_by_bucket")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert "metrics/evaluation.json" in error and problem in error
    assert error.endswith("re-materialize option_evaluation")


def _set(path: list, value):
    def change(card: dict) -> None:
        entry = card
        for key in path[:-1]:
            entry = entry[key]
        entry[path[-1]] = value

    return change


def _foreign_weights(payload: bytes):
    """Replace the weights by ``payload`` and make the card's sha256 match it."""

    def change(card: dict, root) -> None:
        import hashlib

        (root / "models" / "gru_model.pt").write_bytes(payload)
        card["file"]["sha256"] = hashlib.sha256(payload).hexdigest()
        card["file"]["bytes"] = len(payload)

    return change


def _torch_bytes(state: dict) -> bytes:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


PROBE_CARDS = {
    "split_dates empty": ("gru_model", _set(["split_dates"], [])),
    "split_dates null": ("gru_model", _set(["split_dates"], None)),
    "hidden_size changed": ("gru_model", _set(["architecture", "hidden_size"], 48)),
    "max_correction NaN": ("gru_model", _set(["architecture", "max_correction"], float("nan"))),
    "clock share above 1": ("gru_model", _set(["clock", "share"], 2.0)),
    "history scaler too short": ("gru_model", _set(["scalers", "history", "mean"], [0.0] * 3)),
    "volatility models null": ("volatility_model", _set(["models"], None)),
    "volatility models empty": ("volatility_model", _set(["models"], [])),
}


@pytest.mark.parametrize("case", [*PROBE_CARDS, "foreign state_dict", "not torch"])
def test_the_probes_malformed_cards_refuse_their_model_and_serve_the_other(
    served_root, tmp_path, case
):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(served_root, root)
    asset, change = PROBE_CARDS.get(case, ("gru_model", None))
    card_path = root / "models" / f"{asset}.json"
    card = json.loads(card_path.read_text())
    if case == "foreign state_dict":
        _foreign_weights(_torch_bytes({"layer.weight": __import__("torch").zeros(3, 3)}))(
            card, root
        )
    elif case == "not torch":
        _foreign_weights(b"not a torch file at all")(card, root)
    else:
        change(card)
    card_path.write_text(json.dumps(card))
    served = ServedModels.load(root)
    broken = "options" if asset == "gru_model" else "volatility"
    other = "volatility" if broken == "options" else "options"
    assert served.loaded() == [other]
    assert served.status[broken].error
    client = create_app(served).test_client()
    health = client.get("/health").get_json()
    assert health["models"][other]["loaded"] is True
    assert health["models"][broken]["loaded"] is False
