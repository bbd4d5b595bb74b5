"""The choice of the volatility model among candidates and their combination, and the
Campbell-Thompson restriction of the return forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optvol.core.volatility.artifact import _model_record
from optvol.core.volatility.combination import (
    ForecastCombination,
    best_weights,
    combine,
    simplex_grid,
)
from optvol.core.volatility.models import design_matrix, fit_model, usable_rows
from optvol.core.volatility.selection import (
    COMBINATION,
    PARSIMONY_ORDER,
    PARSIMONY_P_VALUE,
    SHRINKAGE_GRID,
    _most_parsimonious,
    restricted_return,
)
from optvol.core.volatility.walk_forward import WalkForwardConfig


def test_simplex_grid_holds_every_convex_weight_vector_of_its_step():
    grid = simplex_grid(3, step=0.25)
    assert len(grid) == 15  # C(4 + 2, 2)
    assert np.allclose(grid.sum(axis=1), 1.0) and (grid >= 0).all()
    assert len({tuple(row) for row in grid}) == len(grid)
    assert simplex_grid(1).tolist() == [[1.0]]


def test_best_weights_put_everything_on_an_exact_member_and_mix_two_halves():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.01, 0.09, 500)
    exact = np.column_stack([truth * 1.6, truth, truth * 0.5])
    weights, loss = best_weights(truth, exact)
    assert weights.tolist() == [0.0, 1.0, 0.0] and loss == pytest.approx(0.0, abs=1e-12)
    # one member too high, the other too low by as much: the mix that is exact
    weights, _ = best_weights(truth, np.column_stack([truth * 1.5, truth * 0.5]))
    assert weights == pytest.approx([0.5, 0.5])
    with pytest.raises(ValueError, match="no validation row"):
        best_weights(truth, np.full((500, 2), np.nan))


def test_combine_is_the_weighted_forecast_rescaled_where_a_member_is_missing():
    a = pd.DataFrame({"vol": [0.1, 0.2, np.nan, np.nan], "var": [0.01, 0.04, np.nan, np.nan]})
    b = pd.DataFrame({"vol": [0.3, 0.4, 0.5, np.nan], "var": [0.09, 0.16, 0.25, np.nan]})
    out = combine({"a": a, "b": b}, {"a": 0.25, "b": 0.75})
    assert out["var"].iloc[:3].tolist() == pytest.approx([0.07, 0.13, 0.25])
    assert out.iloc[3].isna().all()
    # a member without weight does not matter, even where it is missing
    assert combine({"a": a, "b": b}, {"a": 0.0, "b": 1.0})["vol"].iloc[:3].notna().all()


def test_the_simplest_candidate_not_significantly_worse_is_chosen():
    rng = np.random.default_rng(3)
    noise = rng.gamma(0.5, 0.4, 400)
    # gbm a little lower than har_x on noisy losses: not a significant difference
    gap = rng.normal(0.0, 0.3, 400)
    losses = {"gbm": noise, "har_x": noise + gap - gap.mean() + 0.005}
    chosen, lowest, p_values = _most_parsimonious(losses)
    assert lowest == "gbm" and p_values["har_x"] >= PARSIMONY_P_VALUE and chosen == "har_x"
    # gbm clearly lower on every row: it is chosen
    losses = {"gbm": noise, "har_x": noise + 0.3}
    chosen, lowest, p_values = _most_parsimonious(losses)
    assert chosen == lowest == "gbm" and p_values["har_x"] < 0.01


def test_restricted_return_is_floored_and_shrunk_toward_the_mean():
    raw, mean = np.array([0.04, -0.03, 0.01]), np.array([0.005, 0.005, 0.005])
    assert restricted_return(raw, mean, 0.0).tolist() == pytest.approx([0.005] * 3)
    assert restricted_return(raw, mean, 1.0).tolist() == pytest.approx([0.04, 0.0, 0.01])
    assert restricted_return(raw, mean, 0.5).tolist() == pytest.approx([0.0225, 0.0, 0.0075])


def test_the_model_is_chosen_on_validation_qlike_among_candidates_and_the_combination(trained):
    card = trained.card
    candidates = card.candidates
    assert set(candidates.validation_qlike) == {"ridge", "gbm", "har_x", "harq", COMBINATION}
    chosen = candidates.chosen
    qlike = candidates.validation_qlike
    assert candidates.lowest_validation_qlike == min(qlike, key=qlike.get)
    # the most parsimonious candidate not significantly worse than the lowest
    p_values = candidates.p_value_vs_lowest
    for name in PARSIMONY_ORDER[: PARSIMONY_ORDER.index(chosen)]:
        assert p_values[name] is not None and p_values[name] < PARSIMONY_P_VALUE, name
    assert chosen == candidates.lowest_validation_qlike or p_values[chosen] >= 0.1
    weights = card.combination.prior_weights
    assert set(weights) == {"har_x", "harq", "ridge", "vix"}
    assert sum(weights.values()) == pytest.approx(1.0) and min(weights.values()) >= 0
    # the common window: every fold validates after the first rows with VIX
    assert all(f.validation_start > "2011" for f in candidates.folds)


def test_the_return_restriction_is_chosen_on_validation_folds(trained):
    restriction = trained.card.return_restriction
    assert restriction.shrinkage in SHRINKAGE_GRID and restriction.floor == 0.0
    mse = restriction.validation_mse
    assert mse[f"{restriction.shrinkage:g}"] == min(mse.values())
    # the synthetic returns have no predictable part: the ridge alone loses to the mean
    assert restriction.validation_r2_vs_historical_mean["1"] < 0


def test_a_combined_model_forecasts_as_its_weighted_members(features, trained):
    design_members = {m: w for m, w in trained.card.combination.weights.items() if w}
    design = design_matrix(features, trained.macro)
    members = {}
    for name in design_members:
        if name == "vix":
            continue
        spec = trained.specs()[name]
        rows = usable_rows(design, features[spec.target], spec)
        estimator = trained.chosen_estimators()[name]
        members[name] = fit_model(spec, estimator, design, features[spec.target], rows)
    combination = ForecastCombination(members, design_members)
    forecast = combination.predict(design)
    late = design["log_vix"].notna() & pd.concat(
        [m.predict(design)["var"] for m in members.values()], axis=1
    ).notna().all(axis=1)
    assert late.sum() >= 250  # every row from VIX on
    expected = sum(
        w * (np.exp(design["log_vix"]) ** 2 if m == "vix" else members[m].predict(design)["var"])
        for m, w in design_members.items()
    )
    np.testing.assert_allclose(forecast.loc[late, "var"], expected[late])


def test_the_walk_forward_scores_the_combination_and_the_restricted_return(features, trained):
    walk = trained.walk_forward(features, WalkForwardConfig(min_train_rows=126))
    forecasts = walk.forecasts
    assert len(walk.decisions) == len(walk.refits)
    for decision in walk.decisions:
        weights = {m: w for m, w in decision.weights.items() if w}
        month = forecasts["refit_date"] == pd.Timestamp(decision.date)
        rows = forecasts.loc[month]
        present = pd.DataFrame({m: rows[f"{m}_var"] for m in weights}).notna()
        share = present.mul(pd.Series(weights)).sum(axis=1)
        expected = sum(w * rows[f"{m}_var"].fillna(0.0) for m, w in weights.items()) / share
        np.testing.assert_allclose(rows["combination_var"], expected.where(share > 0), rtol=1e-9)
    restricted = forecasts["return_restricted_return"].dropna()
    assert len(restricted) > 100 and (restricted >= 0).all()
    assert set(walk.fit_seconds) >= {"har", "har_x", "harq", "ridge", "garch"}


def test_a_combination_of_vix_alone_forecasts_and_is_recorded(features, trained):
    design = design_matrix(features, trained.macro)
    vix_only = ForecastCombination({}, {"vix": 1.0})
    forecast = vix_only.predict(design)
    np.testing.assert_allclose(forecast["vol"], features["vix_close"] / 100)
    span = ("2011-09-01", "2011-12-30")
    record = _model_record(vix_only, {}, design, features, {}, span)
    assert record["members"] == {} and record["training_window"] == list(span)
    assert record["training_rows"] == int(
        (features["vix_close"].notna() & features["target_rv_21"].gt(0)).sum()
    )
