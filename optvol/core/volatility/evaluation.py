"""Scores of the walk-forward forecasts: every model and baseline on the same dates.

Two windows are scored. ``all_models``: the dates on which every volatility model and
baseline has a forecast, which is where VIX exists. ``without_vix``: the longer span on
which the models that need no VIX (HAR, GARCH, no-change) all have one. Within a window
every model is scored on exactly the same rows.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from optvol.core.common.provenance import recorded_provenance
from optvol.core.volatility.adaptive import ADAPTIVE, RULE
from optvol.core.volatility.card import VolatilityCard
from optvol.core.volatility.episodes import episode_scores, worst_year_ratio, yearly_tests
from optvol.core.volatility.evaluation_file import VolatilityEvaluationFile
from optvol.core.volatility.features import HORIZON, TARGET_RETURN, TARGET_RV
from optvol.core.volatility.metrics import (
    diebold_mariano,
    qlike_losses,
    return_scores,
    volatility_scores,
)
from optvol.core.volatility.models import VIX_COLUMNS, ModelSpec
from optvol.core.volatility.selection import COMBINATION, RESTRICTED_RETURN, RETURN_FAMILY
from optvol.core.volatility.summary import summarize_market_features
from optvol.core.volatility.timing import timing_value
from optvol.core.volatility.walk_forward import RETURN_BASELINE, VOLATILITY_BASELINES, WalkForward

log = logging.getLogger(__name__)

VOLATILITY_MODELS = (
    ADAPTIVE,
    COMBINATION,
    "ridge",
    "gbm",
    "harq",
    "lhar_x",
    "lhar_x_qlike",
    "ridge_no_vix",
    "gbm_no_vix",
    "har",
    "har_x",
    "garch",
    "vix",
    "no_change",
)
BASELINES = VOLATILITY_BASELINES
RETURN_MODELS = (RESTRICTED_RETURN, RETURN_FAMILY, RETURN_BASELINE)
PLOT_FILES = {
    "forecast_vs_realized": "volatility_forecast_vs_realized.png",
    "qlike_by_year": "volatility_qlike_by_year.png",
    "return_scatter": "volatility_return_scatter.png",
    "qlike_by_year_without_vix": "volatility_qlike_by_year_without_vix.png",
    "data_distributions": "volatility_data_distributions.png",
}
DESCRIPTIONS = {
    "garch": "GARCH(1,1) with Student-t errors and a constant mean (Bollerslev 1986, 1987), "
    "refit monthly on every return up to the refit day",
    "vix": "VIX as the forecast of 21-day volatility",
    "no_change": "The random-walk forecast: the last 21 days' realized volatility",
    RETURN_BASELINE: "The historical mean of realized 21-day returns (Campbell & Thompson 2008)",
    ADAPTIVE: "The walk-forward's own choice at each refit, from past out-of-sample QLIKE: "
    "the combination, or a member significantly better over the last two years",
    RESTRICTED_RETURN: "The return ridge restricted as Campbell & Thompson (2008) propose: "
    "shrunk toward the historical mean by the factor chosen on validation folds, floored at 0",
}


def _combination_description(card: VolatilityCard) -> str:
    weights = sorted(card.combination.weights.items())
    weights = ", ".join(f"{m} {w:.2f}" for m, w in weights if w)
    return (
        "Forecast combination of every fitted volatility model and VIX, its weights set at each "
        f"refit from past out-of-sample QLIKE: {RULE} (latest: {weights})"
    )


def _needs_vix(name: str, specs: dict[str, ModelSpec], card: VolatilityCard | None = None) -> bool:
    if name in (COMBINATION, ADAPTIVE) and card is not None:
        weights = card.combination.weights
        return any(_needs_vix(member, specs) for member, weight in weights.items() if weight)
    return name == "vix" or (name in specs and bool(set(VIX_COLUMNS) & set(specs[name].columns)))


def _scored_rows(forecasts: pd.DataFrame, models: list[str]) -> np.ndarray:
    ok = forecasts[TARGET_RV].gt(0)
    for name in models:
        ok &= forecasts[f"{name}_vol"].notna() & forecasts[f"{name}_var"].gt(0)
    return np.flatnonzero(ok.to_numpy())


def _span(dates: pd.Series) -> dict:
    return {"first_date": f"{dates.iloc[0]:%Y-%m-%d}", "last_date": f"{dates.iloc[-1]:%Y-%m-%d}",
            "dates": int(len(dates))}  # fmt: skip


def score_window(forecasts: pd.DataFrame, models: list[str]) -> dict | None:
    """Scores of ``models`` on the rows where all of them have a forecast: overall, QLIKE
    by calendar year, and Diebold-Mariano tests of each model's QLIKE against HAR's."""
    rows = _scored_rows(forecasts, models)
    if not len(rows):
        return None
    window = forecasts.iloc[rows]
    realized = window[TARGET_RV].to_numpy()
    years = window["date"].dt.year.astype(str).to_numpy()
    losses = {m: qlike_losses(realized**2, window[f"{m}_var"].to_numpy()) for m in models}
    by_year = {
        m: {year: float(losses[m][years == year].mean()) for year in sorted(set(years))}
        for m in models
    }
    tests = {
        m: diebold_mariano(losses[m], losses["har"], lags=HORIZON - 1)
        for m in models
        if m != "har" and "har" in models
    }
    return {
        "episodes": episode_scores(window, models),
        "diebold_mariano_by_year": yearly_tests(losses, years, ("har", "vix")),
        **_span(window["date"]),
        "models": list(models),
        "mean_realized_vol": float(realized.mean()),
        "scores": {
            m: volatility_scores(
                realized, window[f"{m}_vol"].to_numpy(), window[f"{m}_var"].to_numpy()
            )
            for m in models
        },  # fmt: skip
        "qlike_by_year": by_year,
        "rows_by_year": {year: int((years == year).sum()) for year in sorted(set(years))},
        "qlike_vs_har_diebold_mariano": tests,
    }


def compare_with_baselines(window: dict, chosen: str) -> dict:
    """The chosen model's QLIKE, RMSE and R^2 against HAR's, VIX's and the best other
    baseline's, and its worst calendar year against HAR and VIX."""
    scores = window["scores"]
    by_year = window["qlike_by_year"]
    worst = {
        f"worst_year_ratio_to_{b}": worst_year_ratio(by_year, chosen, b, window["rows_by_year"])
        for b in ("har", "vix")
        if b in by_year
    }
    # A chosen model that is itself a baseline (HAR-X) is compared with the others.
    others = [b for b in BASELINES if b in scores and b != chosen]
    best = min(others, key=lambda b: scores[b]["qlike"])
    model, har = scores[chosen], scores["har"]
    return {
        "chosen_model": chosen,
        "qlike": model["qlike"],
        "har_qlike": har["qlike"],
        "qlike_ratio_to_har": model["qlike"] / har["qlike"],
        "rmse_ratio_to_har": model["rmse_vol"] / har["rmse_vol"],
        "r2_log_rv": model["r2_log_rv"],
        "har_r2_log_rv": har["r2_log_rv"],
        "beats_har": model["qlike"] < har["qlike"],
        "har_diebold_mariano_p_value": window["qlike_vs_har_diebold_mariano"][chosen]["p_value"],
        **_ratio_to("vix", scores, model),
        "best_baseline": best,
        "best_baseline_qlike": scores[best]["qlike"],
        "qlike_ratio_to_best_baseline": model["qlike"] / scores[best]["qlike"],
        "beats_best_baseline": model["qlike"] < scores[best]["qlike"],
        **{key: value["ratio"] for key, value in worst.items()},
        "worst_years": {key: value["year"] for key, value in worst.items()},
    }


def _ratio_to(baseline: str, scores: dict, model: dict) -> dict:
    """The chosen model's QLIKE against ``baseline``'s, when the window scores it."""
    if baseline not in scores:
        return {}
    theirs = scores[baseline]["qlike"]
    return {
        f"{baseline}_qlike": theirs,
        f"qlike_ratio_to_{baseline}": model["qlike"] / theirs,
        f"beats_{baseline}": model["qlike"] < theirs,
    }


def score_returns(forecasts: pd.DataFrame) -> dict | None:
    """Return forecasts against the realized 21-day log return, on the rows where the
    model and the historical mean both exist."""
    columns = [f"{m}_return" for m in RETURN_MODELS]
    ok = forecasts[[TARGET_RETURN, *columns]].notna().all(axis=1).to_numpy()
    if not ok.any():
        return None
    window = forecasts.loc[ok]
    realized = window[TARGET_RETURN].to_numpy()
    benchmark = window[f"{RETURN_BASELINE}_return"].to_numpy()
    return {
        **_span(window["date"]),
        "models": list(RETURN_MODELS),
        "mean_realized_return": float(realized.mean()),
        "share_positive": float(np.mean(realized > 0)),
        "scores": {
            m: return_scores(realized, window[f"{m}_return"].to_numpy(), benchmark)
            for m in RETURN_MODELS
        },  # fmt: skip
    }


def _series(frame: pd.DataFrame, columns: dict[str, str]) -> dict[str, list]:
    """Columns of ``frame`` as JSON lists, NaN as null, rounded to 6 decimals."""
    out = {"date": [f"{d:%Y-%m-%d}" for d in frame["date"]]}
    for name, column in columns.items():
        values = frame[column].round(6).astype(object)
        out[name] = values.where(values.notna(), None).tolist()
    return out


def evaluate_volatility(
    walk: WalkForward,
    specs: dict[str, ModelSpec],
    chosen: str,
    card: VolatilityCard,
    features: pd.DataFrame,
) -> VolatilityEvaluationFile:
    """The evaluation document of ``volatility_evaluation``: the scores of ``walk``, the
    models (``specs``, ``card``) and the data (``features``, the cleaned table)."""
    forecasts = walk.forecasts
    present = [m for m in VOLATILITY_MODELS if forecasts.get(f"{m}_vol", pd.Series()).notna().any()]
    windows = {
        "all_models": score_window(forecasts, present),
        "without_vix": score_window(
            forecasts, [m for m in present if not _needs_vix(m, specs, card)]
        ),
    }
    windows = {name: window for name, window in windows.items() if window is not None}
    if "all_models" not in windows:
        raise ValueError("no date has a forecast of every model: nothing to compare")
    scored = forecasts.loc[forecasts[TARGET_RV].notna()]
    descriptions = {name: spec.description for name, spec in specs.items()} | DESCRIPTIONS
    descriptions[COMBINATION] = _combination_description(card)
    served = chosen
    # The walk-forward's own choice, refit by refit, is what a user of optvol would have got.
    chosen = ADAPTIVE if ADAPTIVE in present else served
    # The card's entries copied into the document, as the card's file holds them.
    recorded = card.document()
    weights = recorded["combination"]["weights"]
    hyperparameters = card.hyperparameters | {
        COMBINATION: weights,
        ADAPTIVE: recorded["adaptive"]["config"],
    }
    evaluation = {
        "chosen_model": chosen,
        "served_model": {"name": served, "combination_weights": weights},
        "adaptive": _adaptive_record(walk, recorded["adaptive"]["config"]),
        "models": {
            name: {
                "kind": "baseline" if name in (*BASELINES, RETURN_BASELINE) else "model",
                "description": descriptions[name],
                "needs_vix": _needs_vix(name, specs, card),
                "hyperparameters": hyperparameters.get(name),
            }
            for name in (*present, *RETURN_MODELS)
        },  # fmt: skip
        "data": recorded["data"]
        | {"fingerprint": card.data_fingerprint}
        | market_data_record(features),
        "model": volatility_model_record(card),
        "walk_forward": {
            "refits": len(walk.refits),
            "first_refit": walk.refits[0],
            "last_refit": walk.refits[-1],
            "fits": walk.fit_counts,
            "garch_fits_not_converged": walk.garch_failures,
            "seconds": round(walk.seconds, 1),
            "seconds_by_model": walk.fit_seconds,
        },
        "volatility": windows,
        "episodes": _episodes(windows),
        "comparison": compare_with_baselines(windows["all_models"], chosen),
        "returns": score_returns(forecasts),
        "return_timing": timing_value(forecasts, RESTRICTED_RETURN, RETURN_BASELINE, chosen),
        "series": {
            "volatility": _series(
                scored, {"realized": TARGET_RV} | {m: f"{m}_vol" for m in present}
            ),
            "returns": _series(
                scored, {"realized": TARGET_RETURN} | {m: f"{m}_return" for m in RETURN_MODELS}
            ),
        },  # fmt: skip
    }
    evaluation = VolatilityEvaluationFile.build(_finite_or_none(evaluation))
    comparison = evaluation.comparison
    log.info("%s: QLIKE %.4f vs HAR %.4f (ratio %.3f, Diebold-Mariano p %s); R2 ln RV %.3f "
             "vs HAR %.3f; best baseline %s", chosen, comparison.qlike,
             comparison.har_qlike, comparison.qlike_ratio_to_har,
             comparison.har_diebold_mariano_p_value, comparison.r2_log_rv,
             comparison.har_r2_log_rv, comparison.best_baseline)  # fmt: skip
    if evaluation.returns is not None:
        restricted = evaluation.returns.scores[RESTRICTED_RETURN]
        log.info("Returns: the restricted forecast's out-of-sample R2 against the historical "
                 "mean is %s", restricted.r2_vs_historical_mean)  # fmt: skip
    return evaluation


def _episodes(windows: dict) -> dict:
    """Every episode's scores, from the window with every model where it covers as many
    of the episode's dates as any window, else from the longer window without VIX
    (October 1987 predates VIX)."""
    out: dict[str, dict] = {}
    for name in ("all_models", "without_vix"):
        for episode, scores in windows.get(name, {}).get("episodes", {}).items():
            if episode not in out or scores["dates"] > out[episode]["dates"]:
                out[episode] = {"window": name, **scores}
    return dict(sorted(out.items()))


def _adaptive_record(walk: WalkForward, config: dict) -> dict | None:
    """The rule, its settings (``config``), and the choice and weights made at every refit
    and after the last one (the served model's)."""
    if walk.latest is None:
        return None
    return {
        "rule": RULE,
        "config": config,
        "latest": walk.latest.as_dict(),
        "choices": {
            name: sum(d.chosen == name for d in walk.decisions)
            for name in dict.fromkeys(d.chosen for d in walk.decisions)
        },
        "refits": [
            {"date": d.date, "chosen": d.chosen, "weights": d.weights} for d in walk.decisions
        ],
    }


def _finite_or_none(value):
    """``value`` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def forecast_series(evaluation: VolatilityEvaluationFile) -> tuple[pd.DataFrame, list[str]]:
    """The walk-forward's volatility forecasts over the ``all_models`` window (``date``,
    ``realized`` and one float column per model) and the models its chart shows: the
    chosen one and the baselines."""
    window = evaluation.volatility["all_models"]
    volatility = pd.DataFrame(evaluation.series.volatility).astype({"date": "datetime64[ns]"})
    volatility = volatility.loc[volatility["date"].between(window.first_date, window.last_date)]
    models = [c for c in volatility.columns if c != "date"]
    shown = [evaluation.chosen_model, *(b for b in BASELINES if b in window.models)]
    return volatility.astype({m: float for m in models}).reset_index(drop=True), shown


def write_volatility_plots(
    evaluation: VolatilityEvaluationFile, features: pd.DataFrame, plots_dir: str | Path
) -> dict[str, Path]:
    """The PNGs of the evaluation under ``plots_dir``: forecast vs realized (the chosen
    model and the baselines, over the ``all_models`` window), QLIKE by year (over each
    window), the return forecasts against the realized returns, and the distributions
    of the cleaned ``features`` (returns, RV, VIX against RV)."""
    from optvol.core.volatility.plots import (
        plot_forecast_vs_realized,
        plot_market_data_distributions,
        plot_qlike_by_year,
        plot_return_scatter,
    )

    plots_dir = Path(plots_dir)
    window = evaluation.volatility["all_models"]
    volatility, shown = forecast_series(evaluation)
    returns = pd.DataFrame(evaluation.series.returns).astype({"date": "datetime64[ns]"})
    returns = returns.dropna()
    paths = {
        "forecast_vs_realized": plot_forecast_vs_realized(
            volatility, shown, plots_dir / PLOT_FILES["forecast_vs_realized"],
        ),
        "qlike_by_year": plot_qlike_by_year(
            window.qlike_by_year, plots_dir / PLOT_FILES["qlike_by_year"]
        ),
        "return_scatter": plot_return_scatter(
            returns.astype({m: float for m in RETURN_MODELS}), list(RETURN_MODELS),
            plots_dir / PLOT_FILES["return_scatter"],
        ),
    }  # fmt: skip
    if "without_vix" in evaluation.volatility:
        paths["qlike_by_year_without_vix"] = plot_qlike_by_year(
            evaluation.volatility["without_vix"].qlike_by_year,
            plots_dir / PLOT_FILES["qlike_by_year_without_vix"],
        )
    paths["data_distributions"] = plot_market_data_distributions(
        features, plots_dir / PLOT_FILES["data_distributions"]
    )
    for name, path in paths.items():
        log.info("Wrote plot %s: %s", name, path)
    return paths


def market_data_record(features: pd.DataFrame) -> dict:
    """The data entry of the volatility evaluation: sources, cleaning, summary."""
    return {**recorded_provenance(features), "summary": summarize_market_features(features)}


def volatility_model_record(card: VolatilityCard) -> dict:
    """The ``model`` entry of the volatility evaluation, from the model card (its entries
    as the card's file holds them)."""
    recorded = card.document()
    return {
        "chosen": card.chosen_volatility_model,
        "horizon_days": card.horizon_days,
        "feature_columns": card.feature_columns,
        "macro_columns": card.macro_columns,
        "selection_config": card.selection_config,
        "selection": {
            name: {
                "chosen": selection.chosen,
                "validation_mse": selection.validation_mse,
                "folds": len(selection.folds),
            }
            for name, selection in card.selection.items()
        },
        "candidates": recorded["candidates"],
        "return_restriction": recorded["return_restriction"],
        "fitted": recorded["models"],
        "versions": card.versions,
    }
