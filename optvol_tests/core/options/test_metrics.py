"""Tests for optvol.core.options.metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from optvol.core.options.metrics import (
    DTE_BUCKETS,
    MIN_MID_FOR_PCT,
    MONEYNESS_BUCKETS,
    best_model,
    dte_bucket,
    evaluate_models,
    moneyness_bucket,
    price_errors,
    signed_log_moneyness,
)


def assert_plain_json(value):
    """Every leaf is a plain Python scalar (not a numpy one) and the whole survives JSON."""
    if isinstance(value, dict):
        assert all(type(k) is str for k in value)
        for v in value.values():
            assert_plain_json(v)
    elif isinstance(value, list):
        for v in value:
            assert_plain_json(v)
    else:
        assert type(value) in (int, float, str, type(None)), (value, type(value))
    json.dumps(value, allow_nan=False)


# --- buckets -------------------------------------------------------------------------------------


def test_constants():
    assert MONEYNESS_BUCKETS == ("deep_otm", "otm", "atm", "itm", "deep_itm")
    assert DTE_BUCKETS == ("<=7", "8-30", "31-90", ">90")
    assert MIN_MID_FOR_PCT == 0.50


@pytest.mark.parametrize(
    ("m", "bucket"),
    [
        (-1.0, "deep_otm"),
        (-0.1000001, "deep_otm"),
        (-0.10, "otm"),
        (-0.0200001, "otm"),
        (-0.02, "atm"),
        (0.0, "atm"),
        (0.02, "atm"),
        (0.0200001, "itm"),
        (0.10, "itm"),
        (0.1000001, "deep_itm"),
        (2.0, "deep_itm"),
    ],
)
def test_moneyness_bucket_edges(m, bucket):
    assert moneyness_bucket(np.array([m])).tolist() == [bucket]


def test_moneyness_bucket_keeps_shape_and_rejects_nan():
    assert moneyness_bucket(np.zeros((2, 3))).shape == (2, 3)
    assert moneyness_bucket(np.array([])).shape == (0,)
    with pytest.raises(ValueError, match="finite"):
        moneyness_bucket(np.array([0.0, np.nan]))


def test_signed_log_moneyness_calls_and_puts_mirror():
    s = np.array([100.0, 100.0, 100.0])
    k = np.array([80.0, 100.0, 105.0])
    calls = signed_log_moneyness(s, k, True)
    puts = signed_log_moneyness(s, k, False)
    np.testing.assert_allclose(calls, np.log(s / k))
    np.testing.assert_array_equal(puts, -calls)
    # A call struck below spot is in the money; the put at that strike is out of it.
    assert moneyness_bucket(calls).tolist() == ["deep_itm", "atm", "otm"]
    assert moneyness_bucket(puts).tolist() == ["deep_otm", "atm", "itm"]


def test_signed_log_moneyness_per_row_side():
    m = signed_log_moneyness([100.0, 100.0], [90.0, 90.0], np.array([True, False]))
    assert m[0] == pytest.approx(math.log(100 / 90))
    assert m[1] == pytest.approx(math.log(90 / 100))


@pytest.mark.parametrize(("s", "k"), [(0.0, 100.0), (100.0, -1.0), (np.nan, 100.0)])
def test_signed_log_moneyness_rejects_bad_prices(s, k):
    with pytest.raises(ValueError, match="finite and positive"):
        signed_log_moneyness([s], [k], [True])


def test_dte_bucket_edges():
    days = np.array([0, 7, 8, 30, 31, 90, 91, 1000], dtype=np.int16)
    assert dte_bucket(days).tolist() == [
        "<=7", "<=7", "8-30", "8-30", "31-90", "31-90", ">90", ">90",
    ]  # fmt: skip


@pytest.mark.parametrize("bad", [-1, np.nan, np.inf])
def test_dte_bucket_rejects_bad_days(bad):
    with pytest.raises(ValueError, match="days to expiry"):
        dte_bucket(np.array([5.0, bad]))


# --- price_errors --------------------------------------------------------------------------------


def test_price_errors_hand_computed():
    actual = [1.0, 2.0, 0.4, 4.0]
    predicted = [1.2, 1.0, 0.1, 4.4]
    strike = [10.0, 20.0, 3.0, 40.0]
    # errors 0.2, -1, -0.3, 0.4; relative to strike 0.02, -0.05, -0.1, 0.01
    got = price_errors(actual, predicted, strike)
    assert got["rows"] == 4
    assert got["rmse"] == pytest.approx(math.sqrt((0.04 + 1 + 0.09 + 0.16) / 4))
    assert got["mae"] == pytest.approx((0.2 + 1 + 0.3 + 0.4) / 4)
    assert got["rmse_over_strike"] == pytest.approx(
        math.sqrt((0.0004 + 0.0025 + 0.01 + 0.0001) / 4)
    )
    # APE on mids >= 0.50 only: 0.2, 0.5, 0.1 -> median 0.2. The 0.40 mid (APE 0.75)
    # would move the median to 0.35.
    assert got["median_ape_pct"] == pytest.approx(20.0)
    assert got["rows_ape"] == 3
    assert_plain_json(got)


def test_mid_filter_includes_exactly_fifty_cents():
    got = price_errors([0.50, 0.49], [0.60, 0.60], [10.0, 10.0])
    assert got["rows_ape"] == 1
    assert got["median_ape_pct"] == pytest.approx(20.0)


def test_no_mid_above_threshold_gives_no_ape():
    got = price_errors([0.10, 0.20], [0.10, 0.30], [5.0, 5.0])
    assert got["rows_ape"] == 0
    assert got["median_ape_pct"] is None
    assert got["rmse"] == pytest.approx(math.sqrt(0.01 / 2))


def test_perfect_prediction_is_zero():
    got = price_errors([1.0, 3.0], [1.0, 3.0], [10.0, 30.0])
    assert got == {
        "rows": 2, "rmse": 0.0, "mae": 0.0, "rmse_over_strike": 0.0,
        "median_ape_pct": 0.0, "rows_ape": 2,
    }  # fmt: skip


def test_price_errors_empty():
    got = price_errors([], [], [])
    assert got == {
        "rows": 0, "rmse": None, "mae": None, "rmse_over_strike": None,
        "median_ape_pct": None, "rows_ape": 0,
    }  # fmt: skip
    assert_plain_json(got)


def test_price_errors_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="one length"):
        price_errors([1.0, 2.0], [1.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="one length"):
        price_errors([1.0, 2.0], [1.0, 2.0], [10.0])
    with pytest.raises(ValueError, match="1-D"):
        price_errors([[1.0]], [[1.0]], [[10.0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_price_errors_rejects_non_finite_predictions_naming_the_model(bad):
    with pytest.raises(ValueError, match=r"model 'gru': 1 of 2 predictions are not finite"):
        price_errors([1.0, 2.0], [1.0, bad], [10.0, 10.0], name="gru")
    with pytest.raises(ValueError, match=r"^1 of 2 predictions"):
        price_errors([1.0, 2.0], [1.0, bad], [10.0, 10.0])


def test_price_errors_rejects_bad_actuals_and_strikes():
    with pytest.raises(ValueError, match="actual prices"):
        price_errors([1.0, np.nan], [1.0, 2.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="strikes"):
        price_errors([1.0, 2.0], [1.0, 2.0], [10.0, 0.0])


# --- evaluate_models -----------------------------------------------------------------------------


@pytest.fixture
def rows() -> pd.DataFrame:
    # Dates out of order and a non-default index: alignment must be positional.
    return pd.DataFrame(
        {
            "quote_date": pd.to_datetime(
                ["2024-01-03", "2024-01-02", "2024-01-02", "2024-01-02", "2024-01-03"]
            ),
            "option_type": pd.Categorical(["P", "C", "P", "C", "C"]),
            "strike": [80.0, 100.0, 100.0, 80.0, 105.0],
            "underlying": [100.0, 100.0, 100.0, 100.0, 100.0],
            "dte_days": np.array([200, 5, 5, 45, 20], dtype=np.int16),
            "mid": [0.3, 2.0, 1.0, 21.0, 0.8],
        },
        index=[10, 11, 12, 13, 14],
    )


# Row buckets: deep_otm/>90, atm/<=7, atm/<=7, deep_itm/31-90, otm/8-30.
ERRORS_A = np.array([0.0, 0.1, -0.2, 1.0, 0.3])


@pytest.fixture
def predictions(rows) -> dict[str, np.ndarray]:
    mid = rows["mid"].to_numpy()
    return {"a": mid + ERRORS_A, "b": mid.copy()}


def test_evaluate_models_hand_computed(rows, predictions):
    ev = evaluate_models(rows, predictions)
    assert_plain_json(ev)
    assert ev["rows"] == 5
    assert ev["models"] == ["a", "b"]
    assert (ev["first_date"], ev["last_date"], ev["dates"]) == ("2024-01-02", "2024-01-03", 2)
    assert ev["overall"]["a"]["rmse"] == pytest.approx(math.sqrt(1.14 / 5))
    assert ev["overall"]["a"]["mae"] == pytest.approx(1.6 / 5)
    assert ev["overall"]["b"]["rmse"] == 0.0
    assert ev["by_type"]["call"]["a"]["rows"] == 3
    assert ev["by_type"]["call"]["a"]["rmse"] == pytest.approx(math.sqrt(1.1 / 3))
    assert ev["by_type"]["put"]["a"]["rmse"] == pytest.approx(math.sqrt(0.04 / 2))
    assert [(b["moneyness"], b["dte"], b["rows"]) for b in ev["by_bucket"]] == [
        ("deep_otm", ">90", 1),
        ("otm", "8-30", 1),
        ("atm", "<=7", 2),
        ("deep_itm", "31-90", 1),
    ]
    atm = ev["by_bucket"][2]["metrics"]["a"]
    assert atm["rmse"] == pytest.approx(math.sqrt(0.05 / 2))
    assert atm["median_ape_pct"] == pytest.approx(12.5)  # APEs 0.05 and 0.2
    assert ev["by_date"]["date"] == ["2024-01-02", "2024-01-03"]
    np.testing.assert_allclose(
        ev["by_date"]["rmse"]["a"], [math.sqrt(1.05 / 3), math.sqrt(0.09 / 2)]
    )
    assert ev["by_date"]["rmse"]["b"] == [0.0, 0.0]


def test_evaluate_models_accepts_plain_string_types(rows, predictions):
    categorical = evaluate_models(rows, predictions)
    plain = evaluate_models(rows.astype({"option_type": str}), predictions)
    assert plain == categorical


def test_every_model_is_scored_on_the_same_rows():
    rng = np.random.default_rng(7)
    n = 2000
    s = 100 * np.exp(rng.normal(0, 0.01, n))
    rows = pd.DataFrame(
        {
            "quote_date": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 9, n), "D"),
            "option_type": rng.choice(["C", "P"], n),
            "strike": s * np.exp(rng.normal(0, 0.12, n)),
            "underlying": s,
            "dte_days": rng.integers(0, 200, n),
            "mid": rng.uniform(0.05, 20, n),
        }
    )
    preds = {
        name: rows["mid"].to_numpy() + rng.normal(0, sd, n) for name, sd in [("x", 0.1), ("y", 1.0)]
    }
    ev = evaluate_models(rows, preds)

    assert {m["rows"] for m in ev["overall"].values()} == {n}
    assert sum(b["rows"] for b in ev["by_bucket"]) == n
    for kind in ("call", "put"):
        assert len({m["rows"] for m in ev["by_type"][kind].values()}) == 1
    assert sum(ev["by_type"][k]["x"]["rows"] for k in ("call", "put")) == n

    # Each bucket equals price_errors on a mask computed the slow, obvious way.
    is_call = (rows["option_type"] == "C").to_numpy()
    mb = moneyness_bucket(signed_log_moneyness(rows["underlying"], rows["strike"], is_call))
    db = dte_bucket(rows["dte_days"])
    order = [(m, d) for m in MONEYNESS_BUCKETS for d in DTE_BUCKETS]
    assert [(b["moneyness"], b["dte"]) for b in ev["by_bucket"]] == [
        key for key in order if ((mb == key[0]) & (db == key[1])).any()
    ]
    mid, strike = rows["mid"].to_numpy(), rows["strike"].to_numpy()
    for bucket in ev["by_bucket"]:
        mask = (mb == bucket["moneyness"]) & (db == bucket["dte"])
        assert bucket["rows"] == mask.sum()
        for name, p in preds.items():
            expected = price_errors(mid[mask], p[mask], strike[mask])
            assert bucket["metrics"][name] == pytest.approx(expected)

    sq = pd.DataFrame({"d": rows["quote_date"], **{k: (p - mid) ** 2 for k, p in preds.items()}})
    by_date = np.sqrt(sq.groupby("d").mean())
    assert ev["by_date"]["date"] == [d.date().isoformat() for d in by_date.index]
    for name in preds:
        np.testing.assert_allclose(ev["by_date"]["rmse"][name], by_date[name])


def test_evaluate_models_empty_rows(rows):
    ev = evaluate_models(rows.iloc[:0], {"a": np.array([]), "b": []})
    assert_plain_json(ev)
    assert ev["rows"] == 0
    assert ev["models"] == ["a", "b"]
    assert (ev["first_date"], ev["last_date"], ev["dates"]) == (None, None, 0)
    assert ev["overall"]["a"] == price_errors([], [], [])
    assert ev["by_type"]["call"]["b"]["rows"] == 0
    assert ev["by_bucket"] == []
    assert ev["by_date"] == {"date": [], "rmse": {"a": [], "b": []}}


def test_evaluate_models_rejects_wrong_length_naming_the_model(rows, predictions):
    predictions["b"] = predictions["b"][:-1]
    with pytest.raises(ValueError, match="model 'b'"):
        evaluate_models(rows, predictions)


def test_evaluate_models_rejects_nan_instead_of_dropping_rows(rows, predictions):
    predictions["a"][2] = np.nan
    with pytest.raises(ValueError, match="model 'a': 1 of 5 predictions are not finite"):
        evaluate_models(rows, predictions)


def test_evaluate_models_rejects_bad_frames(rows, predictions):
    with pytest.raises(ValueError, match=r"lack columns \['underlying'\]"):
        evaluate_models(rows.drop(columns="underlying"), predictions)
    with pytest.raises(ValueError, match="no model predictions"):
        evaluate_models(rows, {})
    with pytest.raises(ValueError, match="option_type must be 'C' or 'P'"):
        evaluate_models(rows.assign(option_type=["C", "P", "X", "C", "C"]), predictions)
    with pytest.raises(ValueError, match="missing quote dates"):
        evaluate_models(
            rows.assign(quote_date=rows["quote_date"].where(rows["mid"] > 1)), predictions
        )


# --- best_model ----------------------------------------------------------------------------------


def test_best_model(rows, predictions):
    mid = rows["mid"].to_numpy()
    predictions["c"] = mid + 0.5
    ev = evaluate_models(rows, predictions)
    assert best_model(ev, ["a", "b", "c"]) == "b"
    assert best_model(ev, ["a", "c"]) == "a"
    assert best_model(ev, ["a", "c"], metric="mae") == "a"  # MAE a = 0.32 < 0.5
    # c's constant $0.50 error is smaller relative to the strike than a's $1 on K=80.
    assert best_model(ev, ["a", "c"], metric="rmse_over_strike") == "c"


def test_best_model_ties_go_to_the_first_candidate(rows):
    mid = rows["mid"].to_numpy()
    ev = evaluate_models(rows, {"p": mid + 0.25, "q": mid + 0.25})
    assert best_model(ev, ["p", "q"]) == "p"
    assert best_model(ev, ["q", "p"]) == "q"


def test_best_model_rejects_bad_requests(rows, predictions):
    ev = evaluate_models(rows, predictions)
    with pytest.raises(ValueError, match="unknown candidate"):
        best_model(ev, ["a", "zzz"])
    with pytest.raises(ValueError, match="metric must be one of"):
        best_model(ev, ["a"], metric="rows")
    with pytest.raises(ValueError, match="no candidate"):
        best_model(ev, [])
    empty = evaluate_models(rows.iloc[:0], {"a": []})
    with pytest.raises(ValueError, match="no candidate"):
        best_model(empty, ["a"])
