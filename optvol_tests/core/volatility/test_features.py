"""Features and targets of the volatility task: formulas, and no feature at t uses data
after t."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optvol.core.volatility.features import (
    TARGET_COLUMNS,
    add_features,
    add_targets,
    expected_null_counts,
    feature_columns,
    garman_klass_variance,
    look_ahead_columns,
    parkinson_variance,
    realized_vol,
    recomputed_mismatches,
    recorded_range,
)
from optvol.core.volatility.market import clean_market, macro_columns
from optvol_tests.builders import long_history_frame, volatile_market_frame


def clean(raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw.assign(date=pd.to_datetime(raw["date"]))
    return clean_market(raw)[0]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return volatile_market_frame(n_days=600, vix_from=200)


@pytest.fixture(scope="module")
def features(raw) -> pd.DataFrame:
    return clean(raw)


def test_realized_vol_is_the_annualised_root_mean_square():
    returns = pd.Series([0.01, -0.02, 0.03, 0.0, 0.01])
    rv = realized_vol(returns, 3)
    assert rv.iloc[:2].isna().all()
    assert rv.iloc[2] == pytest.approx(np.sqrt(252 / 3 * (0.01**2 + 0.02**2 + 0.03**2)))
    assert rv.iloc[4] == pytest.approx(np.sqrt(252 / 3 * (0.03**2 + 0.01**2)))


def test_range_variances_follow_parkinson_and_garman_klass():
    high, low = pd.Series([105.0]), pd.Series([100.0])
    open_, close = pd.Series([101.0]), pd.Series([104.0])
    hl = np.log(1.05)
    assert parkinson_variance(high, low).iloc[0] == pytest.approx(hl**2 / (4 * np.log(2)))
    expected = 0.5 * hl**2 - (2 * np.log(2) - 1) * np.log(104 / 101) ** 2
    assert garman_klass_variance(open_, high, low, close).iloc[0] == pytest.approx(expected)
    # A day whose open-close move spans the whole range gives a negative raw value: floored.
    assert garman_klass_variance(low, high, low, high).iloc[0] >= 0


def test_features_and_targets_by_hand(features):
    t = 300
    r = features["log_return"]
    close = features["spx_close"]
    assert r.iloc[t] == pytest.approx(np.log(close.iloc[t] / close.iloc[t - 1]))
    for window in (5, 21, 63):
        expected = np.sqrt(252 / window * (r.iloc[t - window + 1 : t + 1] ** 2).sum())
        assert features[f"rv_{window}"].iloc[t] == pytest.approx(expected)
    assert features["rv_1"].iloc[t] == pytest.approx(np.sqrt(252) * abs(r.iloc[t]))
    vix = features["vix_close"].iloc[t] / 100
    rv21 = features["rv_21"].iloc[t]
    assert features["vrp"].iloc[t] == pytest.approx(vix**2 - rv21**2)
    assert features["vix_rv_ratio"].iloc[t] == pytest.approx(vix / rv21)
    future = r.iloc[t + 1 : t + 22]
    assert features["target_rv_21"].iloc[t] == pytest.approx(np.sqrt(252 / 21 * (future**2).sum()))
    assert features["target_return_21"].iloc[t] == pytest.approx(future.sum())
    assert features["return_21"].iloc[t] == pytest.approx(r.iloc[t - 20 : t + 1].sum())
    cpi = features["core_cpi"]
    assert features["core_cpi_chg_1y"].iloc[t] == pytest.approx(cpi.iloc[t] - cpi.iloc[t - 252])


def test_targets_are_empty_on_the_last_21_days_only(features):
    for column in TARGET_COLUMNS:
        missing = features[column].isna().to_numpy()
        assert missing[-21:].all() and not missing[-22]


def test_vix_features_are_empty_where_vix_is_and_nowhere_else(features):
    no_vix = features["vix_close"].isna()
    assert no_vix.sum() == 200
    for column in ("vrp", "vix_rv_ratio"):
        assert features.loc[no_vix, column].isna().all()
        assert features.loc[~no_vix & features["rv_21"].notna(), column].notna().all()


def test_expected_null_counts_match_a_clean_table(features):
    expected = expected_null_counts(features, macro_columns(features))
    actual = {c: int(features[c].isna().sum()) for c in expected}
    assert expected == actual
    assert expected["rv_63"] == 63 and expected["target_rv_21"] == 21


def test_expected_null_counts_see_an_unexplained_gap(features):
    broken = features.copy()
    broken.loc[400, "rv_5"] = np.nan
    expected = expected_null_counts(broken, macro_columns(broken))
    assert expected["rv_5"] != int(broken["rv_5"].isna().sum())


def test_no_feature_is_a_target():
    columns = feature_columns(["core_cpi"])
    assert look_ahead_columns(columns) == []
    assert look_ahead_columns([*columns, *TARGET_COLUMNS]) == list(TARGET_COLUMNS)


@pytest.mark.parametrize("t", [210, 330, 480])
def test_changing_only_data_after_t_changes_no_feature_at_t(raw, features, t):
    """Every input after day t is shifted by one day (each later row takes the next row's
    values) and perturbed; the table is rebuilt from raw. Every feature up to t must be
    bit-identical, while the targets at t, which look ahead, change."""
    day = features["date"].iloc[t]
    after = raw["date"] > day
    shifted = raw.copy()
    columns = [c for c in raw.columns if c != "date"]
    shifted.loc[after, columns] = raw.loc[after, columns].shift(-1).to_numpy()
    shifted.loc[after, columns] = shifted.loc[after, columns] * 1.013
    rebuilt = clean(shifted.loc[shifted["spx_close"].notna() | ~after])
    macro = macro_columns(features)
    inputs = feature_columns(macro)
    before = features.loc[features["date"] <= day, inputs].reset_index(drop=True)
    again = rebuilt.loc[rebuilt["date"] <= day, inputs].reset_index(drop=True)
    pd.testing.assert_frame_equal(before, again, check_exact=True)
    assert features["target_rv_21"].iloc[t] != rebuilt["target_rv_21"].iloc[t]
    assert features["target_return_21"].iloc[t] != rebuilt["target_return_21"].iloc[t]


def test_the_recompute_check_passes_on_the_table_and_catches_a_future_feature(features):
    macro = macro_columns(features)
    assert recomputed_mismatches(features, macro) == {}
    leaky = features.copy()
    leaky["rv_5"] = leaky["rv_5"].shift(-1)
    failures = recomputed_mismatches(leaky, macro)
    assert failures and all("rv_5" in columns for columns in failures.values())


def test_add_features_and_targets_do_not_touch_their_input(features):
    base = features[["date", "spx_open", "spx_high", "spx_low", "spx_close", "vix_close",
                     "core_cpi", "baa_yield"]].copy()  # fmt: skip
    snapshot = base.copy()
    add_targets(add_features(base, ["core_cpi", "baa_yield"]))
    pd.testing.assert_frame_equal(base, snapshot)


def test_a_day_without_a_recorded_range_leaves_the_range_vols_missing(raw):
    flat = raw.copy()
    day = flat.index[flat["spx_close"].notna()][300]
    flat.loc[day, ["spx_open", "spx_high", "spx_low"]] = flat.loc[day, "spx_close"]
    features = clean(flat)
    row = int(np.flatnonzero(features["date"] == flat.loc[day, "date"])[0])
    for name in ("parkinson_21", "garman_klass_21"):
        assert features[name].iloc[row : row + 21].isna().all()
        assert features[name].iloc[[row - 1, row + 21]].notna().all()
    expected = expected_null_counts(features, macro_columns(features))
    assert expected["parkinson_21"] == int(features["parkinson_21"].isna().sum()) == 20 + 21


def test_one_range_rule_serves_the_features_and_the_expected_nulls():
    # Early years with high = low = close, later days without an open: Parkinson reads the
    # high and low alone, so a missing open costs Garman-Klass its windows and not it.
    features = clean(long_history_frame(flat_days=400, missing_open=(450, 460, 700)))
    parkinson = recorded_range(features, "parkinson_21")
    garman_klass = recorded_range(features, "garman_klass_21")
    assert not parkinson.iloc[:400].any() and parkinson.iloc[400:].all()
    assert int((parkinson & ~garman_klass).sum()) == 3
    expected = expected_null_counts(features, macro_columns(features))
    for name in ("parkinson_21", "garman_klass_21"):
        assert expected[name] == int(features[name].isna().sum()), name
    assert expected["parkinson_21"] == 400 + 20
    assert expected["garman_klass_21"] == 400 + 20 + 21 + 10 + 21  # 450 and 460 overlap
    row = 700
    assert np.isnan(features["garman_klass_21"].iloc[row])
    assert np.isfinite(features["parkinson_21"].iloc[row])
