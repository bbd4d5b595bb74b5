"""Property-based fuzzing of POST /predict: whatever the body, the answer is a JSON
2xx or 4xx, never a 5xx and never a stack trace."""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optvol.serve.app import create_app

DATES = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    # Days of the served test data (first, last, the day after, expirations), so that
    # near-valid requests reach the predictors and not only the schema.
    st.sampled_from(
        [
            "2020-01-02",
            "2020-02-03",
            "2020-03-11",
            "2020-03-12",
            "2020-03-20",
            "2020-06-19",
            "2012-01-03",
            "2012-09-07",
        ]
    ),
    st.text(max_size=12),
    st.integers(),
)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1e-300, 1e308, 90.0, 95.0, 100.0, 105.0, 350.0]),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=10)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _contract():
    fields = {
        "expiration": DATES,
        "strike": NUMBERS,
        "option_type": st.sampled_from(["C", "P", "C", "P", "c", "call", "", None]),
        "as_of": DATES,
        "underlying": NUMBERS,
        "history": st.one_of(
            st.none(),
            st.lists(
                st.fixed_dictionaries({"date": DATES, "mid": NUMBERS}, optional={"iv": NUMBERS}),
                max_size=4,
            ),  # fmt: skip
        ),
        "junk": JSON_VALUES,
    }
    return st.fixed_dictionaries({}, optional=fields)


# Contracts with every field present and plausible values, to reach the predictor's own
# checks (trading days, expirations, quotes at t-1, surfaces, histories).
NEAR_VALID_CONTRACT = st.fixed_dictionaries(
    {
        "expiration": st.sampled_from(["2020-03-20", "2020-06-19", "2020-02-21", "2020-01-17"]),
        "strike": st.one_of(st.sampled_from([85.0, 90.0, 95.0, 100.0, 105.0, 110.0]),
                            st.floats(min_value=0.01, max_value=1e6)),
        "option_type": st.sampled_from(["C", "P"]),
        "as_of": st.dates(min_value=datetime.date(2019, 12, 1),
                          max_value=datetime.date(2020, 4, 1)).map(str),
        "underlying": st.floats(min_value=1e-6, max_value=1e9),
    },
    optional={
        "history": st.lists(
            st.fixed_dictionaries(
                {"date": st.dates(min_value=datetime.date(2019, 12, 20),
                                  max_value=datetime.date(2020, 3, 20)).map(str),
                 "mid": st.floats(min_value=1e-6, max_value=1e6)},
                optional={"iv": st.floats(min_value=1e-6, max_value=5.0)},
            ),
            max_size=25,
        )
    },
)  # fmt: skip
FEATURE_NAMES = ["log_return", "rv_1", "rv_5", "rv_21", "rv_22", "rv_63", "parkinson_21",
                 "garman_klass_21", "return_5", "return_21", "rq_ratio_22", "vix_close", "vrp", "vix_rv_ratio", "core_cpi",
                 "baa_yield", "core_cpi_chg_1y", "baa_yield_chg_1y"]  # fmt: skip

BODIES = st.one_of(
    st.fixed_dictionaries(
        {
            "model": st.just("options"),
            "contracts": st.lists(NEAR_VALID_CONTRACT, min_size=1, max_size=3),
        }
    ),
    st.fixed_dictionaries(
        {
            "model": st.just("volatility"),
            "features": st.fixed_dictionaries(
                {
                    name: st.one_of(st.floats(min_value=-1e6, max_value=1e6), st.none())
                    for name in FEATURE_NAMES
                }
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "model": st.just("volatility"),
            "as_of": st.dates(
                min_value=datetime.date(2009, 12, 1), max_value=datetime.date(2012, 10, 1)
            ).map(str),
        }
    ),
    JSON_VALUES,
    st.fixed_dictionaries(
        {"model": st.just("options")},
        optional={"contracts": st.one_of(st.lists(_contract(), max_size=3), JSON_VALUES)},
    ),
    st.fixed_dictionaries(
        {"model": st.sampled_from(["volatility", "options", "other"])},
        optional={
            "as_of": DATES,
            "features": st.one_of(
                st.dictionaries(
                    st.sampled_from(["rv_21", "rv_1", "vix_close", "log_return", "x"]), NUMBERS
                ),
                JSON_VALUES,
            ),
        },
    ),
)


@pytest.fixture(scope="module")
def client(served_models):
    return create_app(served_models).test_client()


def _send(client, raw: bytes):
    response = client.post("/predict", data=raw, content_type="application/json")
    assert response.status_code < 500, (raw[:300], response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert isinstance(body, dict)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    if response.status_code >= 400:
        assert body["status"] == response.status_code and body["error"]
    return response


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(body=BODIES)
def test_structured_bodies_never_get_a_5xx(client, body):
    _send(client, json.dumps(body, allow_nan=True).encode())


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_arbitrary_bytes_never_get_a_5xx(client, raw):
    _send(client, raw)
