"""Every check fails on a crafted bad table and passes on good data; blocking checks stop
what is downstream."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from optvol.core.common import validation as rules
from optvol.core.options import validation as option_rules
from optvol.core.options.ingest.clean import clean_option_quotes
from optvol.core.options.ingest.read import read_option_files
from optvol.core.volatility import validation as market_rules
from optvol.core.volatility.market import clean_market, read_market_file
from optvol.definitions import load_definitions
from optvol_tests.builders import small_chain, write_market, write_optionsdx


@pytest.fixture
def raw_options(tmp_path) -> pa.Table:
    return read_option_files([write_optionsdx(tmp_path / "a.csv", small_chain())])[0]


@pytest.fixture
def quotes(raw_options) -> pd.DataFrame:
    return clean_option_quotes(raw_options)[0]


@pytest.fixture
def raw_market(tmp_path) -> pd.DataFrame:
    return read_market_file(write_market(tmp_path / "m.csv"))


@pytest.fixture
def features(raw_market) -> pd.DataFrame:
    return clean_market(raw_market)[0]


def _replace(table: pa.Table, column: str, values) -> pa.Table:
    index = table.schema.get_field_index(column)
    field = table.schema.field(index)
    return table.set_column(index, field, pa.array(values, type=field.type))


# --- good data passes every check -------------------------------------------------------


def test_good_tables_pass(raw_options, quotes, raw_market, features):
    outcomes = [
        rules.check_schema(raw_options, option_rules.RAW_OPTION_TYPES),
        rules.check_nulls(raw_options, option_rules.RAW_OPTION_NULLS),
        option_rules.check_raw_option_values(raw_options),
        rules.check_schema(quotes, option_rules.OPTION_QUOTES_TYPES),
        rules.check_nulls(quotes, option_rules.OPTION_QUOTES_NULLS),
        option_rules.check_option_quote_values(quotes),
        rules.check_schema(raw_market, market_rules.market_types(raw_market, features=False)),
        rules.check_nulls(raw_market, market_rules.RAW_MARKET_NULLS),
        market_rules.check_raw_market_values(raw_market),
        rules.check_schema(features, market_rules.market_types(features, features=True)),
        rules.check_nulls(features, market_rules.MARKET_FEATURE_NULLS),
        market_rules.check_market_feature_values(features),
    ]
    assert [o.description for o in outcomes if not o.passed] == []


# --- schema ---------------------------------------------------------------------------


def test_schema_missing_wrong_and_extra_columns(quotes, raw_options):
    bad = quotes.drop(columns="mid").assign(strike=quotes["strike"].astype("float32"), junk=1)
    outcome = rules.check_schema(bad, option_rules.OPTION_QUOTES_TYPES)
    assert not outcome.passed
    assert outcome.metadata["missing"] == ["mid"]
    assert "strike" in outcome.metadata["wrong_types"]
    assert outcome.metadata["unexpected"] == ["junk"]
    assert not rules.check_schema(
        raw_options.drop_columns(["bid"]), option_rules.RAW_OPTION_TYPES
    ).passed


def test_market_schema_requires_numeric_macro(features):
    bad = features.assign(core_cpi=features["core_cpi"].astype(str))
    assert not rules.check_schema(bad, market_rules.market_types(features, features=True)).passed


# --- nulls ----------------------------------------------------------------------------


def test_null_threshold(quotes, raw_options):
    bad = quotes.copy()
    bad.loc[bad.index[: len(bad) // 5], "bid"] = np.nan
    outcome = rules.check_nulls(bad, option_rules.OPTION_QUOTES_NULLS)
    assert not outcome.passed and "bid" in outcome.metadata["over_threshold"]
    strikes = raw_options.column("strike").to_pylist()
    strikes[0] = None
    assert not rules.check_nulls(
        _replace(raw_options, "strike", strikes), option_rules.RAW_OPTION_NULLS
    ).passed
    assert not rules.check_nulls(
        quotes.iloc[:0], option_rules.OPTION_QUOTES_NULLS
    ).passed  # empty table


def test_a_short_market_history_passes_with_its_expected_missing_return(features):
    from optvol.core.volatility.features import expected_null_counts
    from optvol.core.volatility.market import macro_columns

    short = features.iloc[:60].copy()  # the first day's return is missing: 1/60 > 1%
    nulls = market_rules.MARKET_FEATURE_NULLS
    assert not rules.check_nulls(short, nulls).passed
    expected = expected_null_counts(short, macro_columns(short))
    assert rules.check_nulls(short, nulls, expected).passed
    # Missing values beyond the expected ones still count.
    short.loc[short.index[5], "log_return"] = np.nan
    outcome = rules.check_nulls(short, nulls, expected)
    assert not outcome.passed and "log_return" in outcome.metadata["over_threshold"]


# --- values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "violation"),
    [
        ("strike", -1.0, "strike <= 0"),
        ("strike", float("inf"), "non-finite strike"),
        ("ask", float("inf"), "infinite price"),
        ("bid", -0.5, "bid < 0"),
        ("underlying_last", 0.0, "underlying_last <= 0"),
    ],
)
def test_raw_option_values(raw_options, column, value, violation):
    values = raw_options.column(column).to_pylist()
    values[2] = value
    outcome = option_rules.check_raw_option_values(_replace(raw_options, column, values))
    assert not outcome.passed and violation in outcome.metadata["violations"]


def test_raw_option_expiry_before_quote_date(raw_options):
    dates = raw_options.column("expiration").to_pylist()
    dates[0] = pd.Timestamp("2019-12-01").date()
    outcome = option_rules.check_raw_option_values(_replace(raw_options, "expiration", dates))
    assert "expiration < quote_date" in outcome.metadata["violations"]


@pytest.mark.parametrize(
    ("mutate", "violation"),
    [
        (
            lambda f: f.assign(strike=f["strike"].where(f.index != 3, 0.0)),
            "strike not finite and > 0",
        ),
        (
            lambda f: f.assign(strike=f["strike"].where(f.index != 3, np.inf)),
            "strike not finite and > 0",
        ),
        (
            lambda f: f.assign(ask=f["ask"].where(f.index != 3, -1.0)),
            "negative price on usable rows",
        ),
        (lambda f: f.assign(bid=f["bid"].where(f.index != 3, 99.0)), "bid > ask on usable rows"),
        (
            lambda f: f.assign(
                expiration=f["expiration"].where(f.index != 3, pd.Timestamp("2019-01-01"))
            ),
            "expiration < quote_date on usable rows",
        ),
        (lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True), "duplicate key"),
        (lambda f: f.iloc[::-1].reset_index(drop=True), "rows not sorted by key"),
        (
            lambda f: f.assign(mid=f["mid"].where(f.index != 3, np.inf)),
            "non-finite price on usable rows",
        ),
        (
            lambda f: f.assign(
                option_type=f["option_type"].cat.add_categories("X").where(f.index != 3, "X")
            ),
            "option_type not C or P",
        ),
    ],
)
def test_option_quote_values(quotes, mutate, violation):
    outcome = option_rules.check_option_quote_values(mutate(quotes.copy()))
    assert not outcome.passed and violation in outcome.metadata["violations"]


def test_unusable_rows_may_be_crossed(quotes):
    crossed = quotes.assign(bid=quotes["ask"] + 1, usable=False)
    assert option_rules.check_option_quote_values(crossed).passed


def test_nan_counts_as_missing_in_arrow_and_pandas(raw_options):
    bids = raw_options.column("bid").to_pylist()
    bids[: len(bids) // 4] = [float("nan")] * (len(bids) // 4)
    table = _replace(raw_options, "bid", bids)
    assert (
        rules.check_nulls(table, option_rules.RAW_OPTION_NULLS).metadata["null_counts"]["bid"]
        == len(bids) // 4
    )
    assert not rules.check_nulls(table, option_rules.RAW_OPTION_NULLS).passed
    assert not rules.check_nulls(table.to_pandas(), option_rules.RAW_OPTION_NULLS).passed


def test_cleaning_never_leaves_what_the_blocking_checks_refuse(tmp_path):
    """Whatever garbage a vendor row holds, cleaning drops or flags it so that the
    blocking checks pass: one bad row must not stop the pipeline."""
    rows = small_chain()
    garbage = {
        0: {"STRIKE": "inf"},
        1: {"STRIKE": "nan"},
        2: {"STRIKE": "-5.000000"},
        3: {"C_BID": "nan"},
        4: {"P_ASK": "inf"},
        5: {"C_ASK": "-1.000000"},
        6: {"EXPIRE_DATE": "2019-12-20"},
        7: {"UNDERLYING_LAST": "nan"},
        8: {"C_BID": "3.000000", "C_ASK": "2.000000"},
        9: {"UNDERLYING_LAST": "0.000000"},
    }
    for index, fields in garbage.items():
        rows[index].update(fields)
    raw, _ = read_option_files([write_optionsdx(tmp_path / "bad.csv", rows)])
    assert not option_rules.check_raw_option_values(raw).passed  # the raw check reports them
    frame, report = clean_option_quotes(raw)
    assert report.rows_invalid_key == 6  # three rows, call and put each
    for outcome in (
        rules.check_schema(frame, option_rules.OPTION_QUOTES_TYPES),
        # On 42 rows, ten bad ones exceed any share threshold; the keys must still be whole.
        rules.check_nulls(
            frame, dict.fromkeys(["quote_date", "expiration", "strike", "option_type"], 0.0)
        ),
        option_rules.check_option_quote_values(frame),
    ):
        assert outcome.passed, outcome.description
    flagged = frame.loc[~frame["usable"]]
    assert report.flags["flag_missing_quote"] >= 1 and report.flags["flag_bad_price"] >= 2
    assert report.flags["flag_expired"] == 2 and report.flags["flag_bad_underlying"] == 4
    assert len(flagged) == len(frame) - report.usable_rows
    assert np.isfinite(frame.loc[frame["usable"], ["bid", "ask", "mid", "moneyness"]]).all().all()


@pytest.mark.parametrize(
    ("mutate", "violation"),
    [
        (lambda f: f.assign(spx_low=f["spx_high"] * 2), "spx_high < spx_low"),
        (
            lambda f: f.assign(spx_close=f["spx_close"].where(f.index != 3, -1.0)),
            "non-positive price",
        ),
    ],
)
def test_market_values(raw_market, features, mutate, violation):
    assert (
        violation
        in market_rules.check_raw_market_values(mutate(raw_market.copy())).metadata["violations"]
    )
    assert (
        violation
        in market_rules.check_market_feature_values(mutate(features.copy())).metadata["violations"]
    )


def test_market_feature_dates_unique_and_sorted(features):
    repeated = pd.concat([features, features.iloc[[4]]], ignore_index=True)
    assert (
        "duplicate date"
        in market_rules.check_market_feature_values(repeated).metadata["violations"]
    )
    reversed_ = features.iloc[::-1].reset_index(drop=True)
    assert (
        "dates not sorted"
        in market_rules.check_market_feature_values(reversed_).metadata["violations"]
    )


def test_raw_market_missing_date(raw_market):
    bad = raw_market.assign(date=raw_market["date"].where(raw_market.index != 0))
    assert "missing date" in market_rules.check_raw_market_values(bad).metadata["violations"]


# --- in Dagster: blocking checks stop downstream assets ----------------------------------


def test_every_asset_has_schema_null_and_value_checks():
    graph = load_definitions().resolve_asset_graph()
    for asset in ("raw_option_quotes", "option_quotes", "raw_market", "market_features"):
        names = {key.name for key in graph.asset_check_keys if key.asset_key.path == [asset]}
        extra = {"no_look_ahead", "expected_nulls"} if asset == "market_features" else set()
        assert names == {"schema", "null_counts", "values", *extra}, asset


def _failure_of(result: dg.ExecuteInProcessResult, step: str) -> str:
    (failure,) = [e for e in result.all_events if e.is_step_failure and e.step_key == step]
    return failure.step_failure_data.error.message


def test_a_blocking_failure_keeps_the_stored_month_and_stops_downstream(small_data_root):
    from optvol.defs.options.assets import option_quotes, raw_option_quotes

    @dg.asset(deps=["option_quotes"])
    def model_input() -> None:
        """Stands in for training, which must not run on bad data."""

    def run() -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [raw_option_quotes, option_quotes, model_input],
            resources=load_definitions().resources,
            raise_on_error=False,
            partition_key="2020-01",
        )

    source = small_data_root / "raw" / "options" / "spy_eod_202001.txt"
    stored = small_data_root / "processed" / "option_quotes" / "2020-01.parquet"
    assert run().success
    good = stored.read_bytes()
    rows = small_chain()
    for row in rows:  # a delivery whose call quotes are all empty
        row.update(C_BID="", C_ASK="")
    write_optionsdx(source, rows)
    result = run()
    assert not result.success
    message = _failure_of(result, "option_quotes")
    assert "option_quotes 2020-01 fails its blocking checks (null_counts: null share" in message
    assert "not written; the stored option_quotes 2020-01 is kept" in message
    assert stored.read_bytes() == good
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"raw_option_quotes"}  # as it came; its checks only warn
    assert list(stored.parent.glob(".*.tmp")) == []
    raw_results = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert raw_results == {"schema": True, "null_counts": False, "values": True}


def test_a_bad_market_row_keeps_the_stored_features_and_says_where(small_data_root):
    from optvol.defs.volatility.assets import market_features, raw_market

    def run() -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [raw_market, market_features],
            resources=load_definitions().resources,
            raise_on_error=False,
        )

    stored = small_data_root / "processed" / "market_features.parquet"
    assert run().success
    good = stored.read_bytes()
    path = small_data_root / "raw" / "raw_market.csv"
    frame = pd.read_csv(path)
    frame.loc[50, "spx_high"] = frame.loc[50, "spx_low"] - 1
    frame.to_csv(path, index=False)
    result = run()
    assert not result.success
    message = _failure_of(result, "market_features")
    day = str(frame.loc[50, "date"])[:10]
    assert "values: violations: {'spx_high < spx_low': 1}" in message
    assert f"first at {{'spx_high < spx_low': '{day}'}}" in message
    assert stored.read_bytes() == good
    # The failed checks are recorded all the same, against the table that was refused.
    results = {
        (e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()
    }
    assert results[("market_features", "values")] is False
    assert results[("market_features", "schema")] is True
    assert results[("raw_market", "values")] is False  # the raw table's check only warns
    assert "market_features" not in {
        e.asset_key.path[-1] for e in result.get_asset_materialization_events()
    }


# --- the embedded sample passes every check ----------------------------------------------


@pytest.fixture(scope="module")
def demo_tables(demo_sample):
    raw_options, _ = read_option_files([demo_sample["options"]])
    market = read_market_file(demo_sample["market"])
    return raw_options, clean_option_quotes(raw_options)[0], market, clean_market(market)[0]


def test_embedded_sample_passes_every_check(demo_tables):
    raw_options, quotes, market, features = demo_tables
    test_good_tables_pass(raw_options, quotes, market, features)
    # About 150k optionsDX rows, two option sides each, a few percent flagged unusable.
    assert 270_000 <= len(quotes) <= 330_000
    assert 0.8 < quotes["usable"].mean() < 1.0


def test_the_option_tables_are_checked_in_their_own_steps_month_by_month(small_data_root):
    from optvol.defs.options.assets import option_quotes, raw_option_quotes

    result = dg.materialize(
        [raw_option_quotes, option_quotes],
        resources=load_definitions().resources,
        tags={"dagster/asset_partition_range_start": "2020-01",
              "dagster/asset_partition_range_end": "2020-02"},
    )  # fmt: skip
    assert result.success
    steps = {e.step_key for e in result.all_events if e.is_step_success}
    assert steps == {"raw_option_quotes", "option_quotes"}  # no separate check steps
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    assert len(evaluations) == 6
    assert {e.passed for e in evaluations.values()} == {True}
    values = evaluations[("option_quotes", "values")].metadata
    assert values["months_checked"].value == 1
    assert values["months_without_rows"].value == ["2020-02"]
