"""A market history shaped like the real S&P 500 file since 1927 (no recorded range in the
early years, days without an open later) gets through raw_market and market_features
with every check passing, while the checks still catch real defects."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from optvol.core.common.paths import MARKET_INPUT_FILE
from optvol.definitions import resources_for
from optvol.defs.volatility.assets import market_features, raw_market
from optvol_tests.builders import long_history_frame, write_market

TABLES = [raw_market, market_features]


def materialize(root: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(TABLES, resources=resources_for(str(root)), raise_on_error=False)


def outcomes(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    return {
        f"{e.asset_key.path[-1]}.{e.check_name}": (e.passed, e.description or "")
        for e in result.get_asset_check_evaluations()
    }


def test_an_index_history_without_early_ranges_passes_every_check(tmp_path):
    write_market(tmp_path / MARKET_INPUT_FILE, long_history_frame())
    result = materialize(tmp_path)
    assert result.success
    checks = outcomes(result)
    assert len(checks) == 8  # 3 table checks each, no_look_ahead, expected_nulls
    assert all(passed for passed, _ in checks.values()), checks


def test_the_checks_still_catch_an_inverted_range_and_an_unexplained_gap(tmp_path):
    frame = long_history_frame()
    day = frame.index[frame["spx_close"].notna()][600]
    frame.loc[day, "spx_low"] = frame.loc[day, "spx_high"] * 1.01  # low above high
    write_market(tmp_path / MARKET_INPUT_FILE, frame)
    result = materialize(tmp_path)
    checks = outcomes(result)
    assert not checks["raw_market.values"][0]  # raw data: a warning
    # the blocking check fails on the features before they are written
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "market_features"
    message = failure.step_failure_data.error.message
    first = str(frame.loc[day, "date"])[:10]
    assert "values: violations: {'spx_high < spx_low': 1}" in message
    assert f"first at {{'spx_high < spx_low': '{first}'}}" in message
    assert not (tmp_path / "processed" / "market_features.parquet").exists()


@pytest.mark.parametrize("value", ["inf", "1e999", "9" * 400])
def test_an_infinite_vix_is_refused_before_the_features_are_written(tmp_path, value):
    path = tmp_path / MARKET_INPUT_FILE
    write_market(path, long_history_frame())
    assert materialize(tmp_path).success
    stored = tmp_path / "processed" / "market_features.parquet"
    before = stored.read_bytes()
    lines = path.read_text().splitlines()
    column = lines[0].split(",").index("vix_close")
    row = next(i for i, line in enumerate(lines[1:], 1) if line.split(",")[column])
    cells = lines[row].split(",")
    cells[column] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    result = materialize(tmp_path)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "market_features"
    message = failure.step_failure_data.error.message
    assert "'infinite vix_close': 1" in message
    assert f"'infinite vix_close': '{cells[0][:10]}'" in message
    assert stored.read_bytes() == before


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"spx_open": lambda high: high + 99999}, "spx_open outside [spx_low, spx_high]"),
        ({"spx_close": lambda high: high * 1.5}, "spx_close outside [spx_low, spx_high]"),
        ({"date": lambda high: pd.Timestamp("2099-01-02")}, "date in the future"),
    ],
)
def test_implausible_prices_and_future_dates_are_refused(tmp_path, change, rule):
    frame = long_history_frame()
    write_market(tmp_path / MARKET_INPUT_FILE, frame)
    assert materialize(tmp_path).success
    stored = tmp_path / "processed" / "market_features.parquet"
    before = stored.read_bytes()
    day = frame.index[frame["spx_close"].notna()][-1] if "date" in change else frame.index[600]
    for column, value in change.items():
        frame.loc[day, column] = value(frame.loc[day, "spx_high"])
    write_market(tmp_path / MARKET_INPUT_FILE, frame)
    result = materialize(tmp_path)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "market_features"
    assert f"'{rule}': 1" in failure.step_failure_data.error.message
    assert stored.read_bytes() == before


def test_an_implausible_vix_or_move_warns_on_raw_market_naming_the_day(tmp_path):
    frame = long_history_frame()
    vix_day = frame.index[frame["vix_close"].notna()][10]
    frame.loc[vix_day, "vix_close"] = 1500.0
    move_day = frame.index[frame["spx_close"].notna()][500]
    for column in ("spx_open", "spx_high", "spx_low", "spx_close"):
        frame.loc[move_day, column] *= 1.4  # a 34% jump and back, inside its own range
    write_market(tmp_path / MARKET_INPUT_FILE, frame)
    result = materialize(tmp_path)
    passed, description = outcomes(result)["raw_market.values"]
    assert not passed
    assert "'vix_close outside [5, 200]': 1" in description
    assert f"'vix_close outside [5, 200]': '{str(frame.loc[vix_day, 'date'])[:10]}'" in description
    assert "'one-day |ln close change| > 0.25': 2" in description


def test_an_implausible_value_fails_raw_market_where_configured_and_keeps_the_table(tmp_path):
    write_market(tmp_path / MARKET_INPUT_FILE, long_history_frame())
    assert materialize(tmp_path).success
    stored = tmp_path / "staging" / "raw_market.parquet"
    before = stored.read_bytes()
    frame = long_history_frame()
    vix_day = frame.index[frame["vix_close"].notna()][10]
    frame.loc[vix_day, "vix_close"] = 1500.0
    write_market(tmp_path / MARKET_INPUT_FILE, frame)
    result = dg.materialize(
        [raw_market], resources=resources_for(str(tmp_path)), raise_on_error=False,
        run_config={"ops": {"raw_market": {"config": {"implausible_values": "fail"}}}},
    )  # fmt: skip
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message
    day = str(frame.loc[vix_day, "date"])[:10]
    assert f"vix_close outside [5, 200]: 1 (first {day})" in message
    assert "the stored raw_market is kept" in message
    assert stored.read_bytes() == before
