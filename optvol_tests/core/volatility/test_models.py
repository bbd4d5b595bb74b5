"""Design matrix, model specs, validation folds, hyperparameter choice, smearing; the
walk-forward (no target it could not have known, GARCH as arch computes it); the saved
model."""

from __future__ import annotations

import hashlib
import json
import logging

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from optvol.core.common.errors import OptvolInputError
from optvol.core.volatility.artifact import (
    VolatilityModel,
    train_volatility_model,
)
from optvol.core.volatility.baselines import GarchForecaster, historical_mean_return
from optvol.core.volatility.features import TARGET_RETURN, TARGET_RV, quarticity_ratio
from optvol.core.volatility.market import macro_columns
from optvol.core.volatility.models import (
    HAR_COLUMNS,
    HARQ_TERM,
    VIX_COLUMNS,
    VOL_FLOOR,
    candidate_estimators,
    design_matrix,
    fit_model,
    model_specs,
    usable_rows,
    validation_folds,
)
from optvol.core.volatility.walk_forward import (
    WalkForwardConfig,
    known_at,
    refit_positions,
    walk_forward,
)
from optvol_tests.core.volatility.conftest import SELECTION


@pytest.fixture(scope="module")
def design(features) -> pd.DataFrame:
    return design_matrix(features, macro_columns(features))


def test_design_matrix_takes_logs_floors_them_and_keeps_vix_in_decimal(features, design):
    t = 400
    assert design["log_rv_21"].iloc[t] == pytest.approx(np.log(features["rv_21"].iloc[t]))
    assert design["log_vix"].iloc[t] == pytest.approx(np.log(features["vix_close"].iloc[t] / 100))
    zero_move = features.assign(rv_1=0.0)
    assert (design_matrix(zero_move, [])["log_rv_1"] == np.log(VOL_FLOOR)).all()
    assert "core_cpi" not in design and "core_cpi_chg_1y" in design


def test_specs_add_no_vix_variants_only_when_vix_covers_part_of_the_history(design):
    specs = model_specs(design)
    assert set(specs) == {"har", "har_x", "harq", "lhar_x", "lhar_x_qlike", "ridge", "gbm",
                          "return_ridge", "ridge_no_vix", "gbm_no_vix"}  # fmt: skip
    assert specs["har"].columns == HAR_COLUMNS
    assert specs["har_x"].columns == (*HAR_COLUMNS, "log_vix")
    assert specs["harq"].columns == (*HAR_COLUMNS, "log_vix", HARQ_TERM)
    assert HARQ_TERM not in specs["ridge"].columns and HARQ_TERM not in specs["gbm"].columns
    assert not set(VIX_COLUMNS) & set(specs["ridge_no_vix"].columns)
    assert set(VIX_COLUMNS) <= set(specs["ridge"].columns)
    # a few days without VIX do not make the variants worth fitting
    few_gaps = design.copy()
    few_gaps.loc[few_gaps.index[:400], list(VIX_COLUMNS)] = (
        few_gaps[list(VIX_COLUMNS)].iloc[401].to_numpy()
    )
    few_gaps.loc[few_gaps.index[350:360], list(VIX_COLUMNS)] = np.nan
    assert "ridge_no_vix" not in model_specs(few_gaps) and "har_x" in model_specs(few_gaps)
    no_vix_at_all = design.assign(**{c: np.nan for c in VIX_COLUMNS})
    specs = model_specs(no_vix_at_all)
    assert set(specs) == {"har", "ridge", "gbm", "return_ridge"}
    assert not set(VIX_COLUMNS) & set(specs["ridge"].columns)


def test_quarticity_ratio_is_one_for_even_returns_and_grows_with_one_large_day():
    even = pd.Series(np.r_[np.nan, np.tile([0.01, -0.01], 30)])
    ratio = quarticity_ratio(even)
    assert ratio.iloc[:22].isna().all()
    assert ratio.iloc[22:].to_numpy() == pytest.approx(np.sqrt(22 / 3 / 22))
    spiked = even.copy()
    spiked.iloc[40] = 0.08
    spiked_ratio = quarticity_ratio(spiked)
    assert (spiked_ratio.iloc[40:62] > 3 * ratio.iloc[40:62]).all()
    pd.testing.assert_series_equal(spiked_ratio.iloc[:40], ratio.iloc[:40])  # past only


def test_usable_rows_need_every_input_and_the_target(features, design):
    specs = model_specs(design)
    ridge = usable_rows(design, features[TARGET_RV], specs["ridge"])
    har = usable_rows(design, features[TARGET_RV], specs["har"])
    assert features["vix_close"].iloc[ridge].notna().all()
    assert features[TARGET_RV].iloc[har].notna().all()
    assert len(har) > len(ridge) and ridge[0] >= 400


def test_validation_folds_expand_and_embargo_the_overlapping_targets():
    rows = np.arange(100, 400)
    folds = validation_folds(rows, 3, embargo=21)
    assert len(folds) == 3
    for train, validate in folds:
        assert train[0] == 100 and train[-1] == validate[0] - 22
    starts = [validate[0] for _, validate in folds]
    assert starts == sorted(starts) and folds[0][1][0] == 250
    assert np.concatenate([v for _, v in folds]).tolist() == list(range(250, 400))


def test_selection_chooses_the_lowest_validation_error_and_is_recorded(trained):
    for name, selection in trained.card.selection.items():
        scores = selection.validation_mse
        assert selection.chosen == min(scores, key=scores.get), name
        assert set(scores) == set(candidate_estimators(trained.specs()[name].family))
    # the first window's choice is the walk-forward's prior; the served one is its latest
    assert trained.card.chosen_volatility_model == trained.card.adaptive.latest["chosen"]


def test_selection_uses_only_the_first_training_window(features):
    """Data after the first min_train_rows usable rows cannot change the choice."""
    first = train_volatility_model(features, SELECTION)
    changed = features.copy()
    late = changed.index >= 600
    changed.loc[late, TARGET_RV] = changed.loc[late, TARGET_RV] * 3
    second = train_volatility_model(changed, SELECTION)
    assert first.card.selection == second.card.selection


def test_smearing_makes_the_mean_forecast_unbiased_in_sample(features, design):
    spec = model_specs(design)["har"]
    rows = usable_rows(design, features[TARGET_RV], spec)
    model = fit_model(spec, candidate_estimators("har")["ols"], design, features[TARGET_RV], rows)
    forecast = model.predict(design.iloc[rows])
    realized = features[TARGET_RV].iloc[rows]
    assert model.smear_vol > 1 and model.smear_var > model.smear_vol
    # exp of a log forecast is a median; smearing brings the mean back to the realized one.
    for kind, actual, smear in (("vol", realized, model.smear_vol),
                                ("var", realized**2, model.smear_var)):  # fmt: skip
        smeared_error = abs(forecast[kind].mean() / actual.mean() - 1)
        median_error = abs(forecast[kind].mean() / smear / actual.mean() - 1)
        assert smeared_error < 0.05 and smeared_error < median_error / 2, kind


def test_refit_positions_are_the_first_trading_day_of_each_month(features):
    dates = features["date"]
    positions = refit_positions(dates, 100, 1)
    assert positions[0] >= 100
    assert (dates.iloc[positions].dt.month.diff().dropna() != 0).all()
    assert all(dates.iloc[p - 1].month != dates.iloc[p].month for p in positions)
    every_third = refit_positions(dates, 100, 3)
    assert list(every_third) == list(positions[::3])


def test_known_at_blanks_the_targets_not_yet_realized(features):
    known = known_at(features, 300)
    assert len(known) == 301
    assert known[TARGET_RV].iloc[:280].notna().all() and known[TARGET_RV].iloc[280:].isna().all()


@pytest.fixture(scope="module")
def walk(features, design, trained):
    return trained.walk_forward(features, WalkForwardConfig(min_train_rows=126))


def test_walk_forward_forecasts_every_origin_of_every_model(walk, features):
    forecasts = walk.forecasts
    scored = forecasts[TARGET_RV].notna()
    # HAR needs 22 days of returns before its first row: it starts a month after GARCH.
    assert forecasts.loc[scored, "garch_vol"].notna().all()
    after_first_month = scored & (forecasts["refit_date"] > forecasts["refit_date"].iloc[0])
    for name in ("har", "no_change"):
        assert forecasts.loc[after_first_month, f"{name}_vol"].notna().all(), name
    late = scored & forecasts["date"].ge(features["date"].iloc[400 + 126 + 21 + 23])
    for name in ("ridge", "gbm", "vix", "ridge_no_vix", "har_x", "harq", "combination"):
        assert forecasts.loc[late, f"{name}_vol"].notna().all(), name
    for name in ("return_ridge", "return_restricted"):
        assert forecasts.loc[late, f"{name}_return"].notna().all(), name
    assert (forecasts.loc[late, "return_restricted_return"] >= 0).all()
    assert walk.refits[0] == f"{forecasts['refit_date'].iloc[0]:%Y-%m-%d}"


def test_forecasts_do_not_change_when_targets_after_the_refit_do(features, design, trained, walk):
    """Rewrite every target the model of one month could not have known; that month's
    forecasts must not move."""
    refit_day = pd.Timestamp(walk.refits[-3])
    refit = int(np.flatnonzero(features["date"] == refit_day)[0])
    changed = features.copy()
    later = changed.index > refit - 21
    changed.loc[later, [TARGET_RV, TARGET_RETURN]] *= 1.7
    again = walk_forward(changed.iloc[: refit + 21], design.iloc[: refit + 21], trained.specs(),
                         trained.chosen_estimators(), WalkForwardConfig(min_train_rows=126),
                         prior=(trained.card.candidates.chosen,
                                trained.card.combination.prior_weights,
                                trained.card.candidates.folds[-1].validation_end))  # fmt: skip
    month = walk.forecasts["refit_date"] == refit_day
    # The historical mean moves daily with returns realized since the refit; not compared.
    columns = [c for c in walk.forecasts if c.endswith(("_vol", "_var"))] + ["return_ridge_return"]
    rerun = again.forecasts.loc[again.forecasts["refit_date"] == refit_day, columns]
    original = walk.forecasts.loc[month, columns].iloc[: len(rerun)]
    assert len(rerun) >= 15 and original["ridge_vol"].notna().all()
    pd.testing.assert_frame_equal(original.reset_index(drop=True), rerun.reset_index(drop=True))


def test_garch_forecast_is_the_sum_of_arch_h_step_variances(features):
    returns = features["log_return"]
    forecaster = GarchForecaster(returns, 126)
    origins = np.arange(400, 405)
    out = forecaster.forecast(400, origins)
    model = arch_model(returns.iloc[1:401] * 100, mean="Constant", vol="GARCH", p=1, q=1,
                       dist="t", rescale=False)  # fmt: skip
    fitted = model.fit(disp="off")
    expected = fitted.forecast(horizon=21, reindex=False).variance.sum(axis=1).iloc[-1]
    assert out["var"].iloc[0] == pytest.approx(expected / 1e4 * 252 / 21, rel=1e-3)
    assert out["vol"].notna().all() and (out["vol"].diff().iloc[1:] != 0).all()
    assert GarchForecaster(returns, 10_000).forecast(400, origins)["vol"].isna().all()


def test_historical_mean_uses_only_realized_returns(features):
    mean = historical_mean_return(features)
    t = 300
    assert mean.iloc[t] == pytest.approx(features[TARGET_RETURN].iloc[: t - 21 + 1].mean())
    assert mean.iloc[:21].isna().all()


def test_saved_model_round_trips_and_refuses_a_changed_file(trained, features, tmp_path):
    paths = trained.save(tmp_path / "volatility_model")
    assert [p.name for p in paths] == ["volatility_model.joblib", "volatility_model.json"]
    card = json.loads(paths[1].read_text())
    assert card["file"]["sha256"] == hashlib.sha256(paths[0].read_bytes()).hexdigest()
    loaded = VolatilityModel.load(tmp_path / "volatility_model")
    pd.testing.assert_frame_equal(loaded.predict(features), trained.predict(features))
    assert set(loaded.predict(features)) == {
        "vol",
        "var",
        "har_vol",
        "har_var",
        "return_ridge",
        "return",
    }
    data = bytearray(paths[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    paths[0].write_bytes(bytes(data))
    with pytest.raises(OptvolInputError, match="sha256"):
        VolatilityModel.load(tmp_path / "volatility_model")


def test_a_model_saved_before_its_classes_moved_is_refused_with_what_to_do(
    trained, tmp_path, monkeypatch
):
    # Before the restructure the fitted models were optvol.core.volatility_models.FittedModel:
    # save one that names that module, as such a file does.
    import sys
    import types

    from optvol.core.volatility.models import FittedModel

    old_module = types.ModuleType("optvol.core.volatility_models")
    old_module.FittedModel = FittedModel
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, old_module.__name__, old_module)
        patch.setattr(FittedModel, "__module__", old_module.__name__)
        trained.save(tmp_path / "m")
    assert b"optvol.core.volatility_models" in (tmp_path / "m.joblib").read_bytes()
    with pytest.raises(OptvolInputError, match="re-materialize volatility_model") as raised:
        VolatilityModel.load(tmp_path / "m")
    assert "m.joblib was saved by another version of optvol" in str(raised.value)
    assert "optvol.core.volatility_models" in str(raised.value)


def test_loading_warns_when_scikit_learn_differs(trained, tmp_path, caplog, monkeypatch):
    trained.save(tmp_path / "m")
    import sklearn

    monkeypatch.setattr(sklearn, "__version__", "0.0.1")
    with caplog.at_level(logging.WARNING):
        VolatilityModel.load(tmp_path / "m")
    assert "scikit-learn" in caplog.text


def test_model_refuses_other_data_and_too_few_rows(trained, features):
    trained.check_data(features)
    with pytest.raises(OptvolInputError, match="re-materialize volatility_model"):
        trained.check_data(features.assign(spx_close=features["spx_close"] * 1.0001))
    with pytest.raises(OptvolInputError, match="min_train_rows=126"):
        train_volatility_model(features.iloc[:120], SELECTION)
    with pytest.raises(OptvolInputError, match="lacks columns"):
        trained.predict(features.drop(columns=["rv_63"]))
