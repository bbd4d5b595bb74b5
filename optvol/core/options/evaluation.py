"""Score the option GRU and every baseline on the same out-of-sample rows, with tests,
intervals and the one-day hedging errors, and draw the plots.

By default the rows are those of a walk-forward over every sample date after the first
training window (:mod:`optvol.core.options.walk_forward`): the GRU refitted every
``refit_every_days`` on the dates before, each baseline refitted alike. With
``evaluation="split"`` they are the saved model's own test split. The ratios of the GRU's
RMSE to the practitioner's and to the best baseline's come with Diebold-Mariano tests on
the daily mean squared errors (Newey-West variance) and 90% day-block bootstrap
intervals: the rows of a day share its move, so the days are the sample.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optvol.core.common.forecast_tests import (
    block_bootstrap_rmse_ratio,
    diebold_mariano,
    newey_west_lags,
)
from optvol.core.common.provenance import recorded_provenance
from optvol.core.options.dynamics import iv_dynamics
from optvol.core.options.evaluation_file import OptionEvaluationFile
from optvol.core.options.gru.artifact import TrainedGRU
from optvol.core.options.gru.card import GruCard
from optvol.core.options.gru.config import resolve_device
from optvol.core.options.hedging import hedging_gains
from optvol.core.options.metrics import best_model, evaluate_models
from optvol.core.options.samples import (
    BASELINE_DESCRIPTIONS,
    BASELINES,
    GRU,
    PRACTITIONER,
    build_samples,
)
from optvol.core.options.summary import summarize_option_quotes
from optvol.core.options.walk_forward import WalkForward, single_split, walk_forward

log = logging.getLogger(__name__)

# The evaluation's charts, by name: files under the plots directory.
PLOT_FILES = {
    "rmse": "rmse.png",
    "predicted_vs_actual": "predicted_vs_actual.png",
    "loss": "training_loss.png",
    "error_over_time": "test_error_over_time.png",
    "data_distributions": "option_data_distributions.png",
    "iv_dynamics": "iv_dynamics.png",
    "hedging": "hedging_gain.png",
}

# Model-card entries of the option GRU that describe it (not its weights or scalers).
_GRU_CARD_KEYS = (
    "model",
    "target",
    "anchor",
    "clock",
    "architecture",
    "training",
    "samples",
    "features",
    "metrics",
    "sample_counts",
    "split_dates",
    "device",
    "versions",
)
_HISTORY_KEYS = ("epoch", "train_loss", "val_loss", "seconds", "samples_per_second")
BOOTSTRAP_LEVEL = 0.90


@dataclass
class OptionEvaluation:
    """The evaluation document (``metrics``, what ``metrics/evaluation.json`` holds), the
    out-of-sample rows with every prediction, the near-the-money pairs of the implied-vol
    dynamics and the training history of the last fit."""

    metrics: OptionEvaluationFile
    rows: pd.DataFrame
    predictions: dict[str, np.ndarray]
    near_money_pairs: pd.DataFrame  # dIV and return of near-the-money pairs, for the scatter
    history: list[dict]


def daily_squared_errors(
    rows: pd.DataFrame, predictions: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each date's row count and, per model, its sum of squared errors (date order)."""
    code, _ = pd.factorize(pd.to_datetime(rows["quote_date"]), sort=True)
    mid = rows["mid"].to_numpy(float)
    counts = np.bincount(code).astype(float)
    sse = {
        name: np.bincount(code, weights=(np.asarray(p, float) - mid) ** 2, minlength=len(counts))
        for name, p in predictions.items()
    }
    return counts, sse


def _against(name: str, counts: np.ndarray, sse: dict[str, np.ndarray]) -> dict:
    """The GRU's RMSE ratio to ``name``'s, its interval and the Diebold-Mariano test of
    the days' summed squared errors (so that its sign is the ratio's: the pooled RMSE
    weighs a day by its rows, as the sums do)."""
    ratio = float(np.sqrt(sse[GRU].sum() / sse[name].sum())) if sse[name].sum() else None
    test = diebold_mariano(sse[GRU], sse[name], newey_west_lags(len(counts)))
    interval = block_bootstrap_rmse_ratio(sse[GRU], sse[name], counts, level=BOOTSTRAP_LEVEL)
    return {"ratio": ratio, "interval": interval, "dm": test}


def compare_with_baselines(metrics: dict, rows: pd.DataFrame, predictions: dict) -> dict:
    """The GRU's RMSE against the practitioner's and the best baseline's: ratios, their
    day-block bootstrap intervals and Diebold-Mariano tests on the daily sums of squared
    errors; and its ratio to every baseline."""
    best = best_model(metrics, BASELINES)
    overall = metrics["overall"]
    counts, sse = daily_squared_errors(rows, predictions)
    practitioner, against_best = _against(PRACTITIONER, counts, sse), _against(best, counts, sse)
    gru_rmse = overall[GRU]["rmse"]
    return {
        "best_baseline": best,
        "gru_rmse": gru_rmse,
        "best_baseline_rmse": overall[best]["rmse"],
        "rmse_ratio_to_best_baseline": against_best["ratio"],
        "rmse_ratio_to_best_baseline_interval": against_best["interval"],
        "dm_p_value_vs_best_baseline": against_best["dm"]["p_value"],
        "dm_statistic_vs_best_baseline": against_best["dm"]["statistic"],
        "gru_beats_best_baseline": bool(gru_rmse < overall[best]["rmse"]),
        "practitioner_baseline": PRACTITIONER,
        "rmse_ratio_to_practitioner": practitioner["ratio"],
        "rmse_ratio_to_practitioner_interval": practitioner["interval"],
        "dm_p_value_vs_practitioner": practitioner["dm"]["p_value"],
        "dm_statistic_vs_practitioner": practitioner["dm"]["statistic"],
        "rmse_ratio_by_baseline": {
            name: gru_rmse / overall[name]["rmse"] if overall[name]["rmse"] else None
            for name in BASELINES
        },
        "interval_level": BOOTSTRAP_LEVEL,
        "test_days": int(len(counts)),
    }


def out_of_sample(quotes: pd.DataFrame, model: TrainedGRU, device: str = "auto") -> WalkForward:
    """The out-of-sample rows of the model's evaluation (walk-forward or its test split),
    every model's price of them and their hedge pairs."""
    config = model.sample_config()
    samples = build_samples(quotes, config, fitted=model.fitted_baselines())
    model.check_samples(samples)
    device = str(resolve_device(device))
    if config.evaluation == "split":
        return single_split(samples, model, device)
    return walk_forward(samples, model.training_config(), device)


def evaluate_option_models(
    quotes: pd.DataFrame, model: TrainedGRU, device: str = "auto"
) -> OptionEvaluation:
    """Price every out-of-sample row with the GRU and each baseline and score them alike
    (see the module). The GRU runs on ``device`` (``"auto"``: CUDA when present, as in
    training)."""
    return score_out_of_sample(quotes, out_of_sample(quotes, model, device), model.card)


def score_out_of_sample(
    quotes: pd.DataFrame, result: WalkForward, card: GruCard
) -> OptionEvaluation:
    """The evaluation document of the out-of-sample ``result`` of the model with the card
    ``card`` over the clean ``quotes``."""
    rows = result.rows
    predictions = {GRU: result.gru, **{name: rows[name].to_numpy() for name in BASELINES}}
    metrics = evaluate_models(rows, predictions)
    config = card.samples
    metrics["evaluation"] = config.evaluation
    metrics["walk_forward"] = result.record()
    metrics["test_calendar_dates"] = sorted({str(d)[:10] for d in rows["quote_date"]})
    metrics["split_dates"] = card.split_dates
    metrics["data_fingerprint"] = card.data_fingerprint
    metrics["fitted_baselines"] = card.fitted_baselines
    metrics["comparison"] = compare_with_baselines(metrics, rows, predictions)
    metrics["hedging"] = hedging_gains(result.hedge)
    metrics["model_descriptions"] = {
        GRU: "GRU over the contract's last L days and its dimensionless state at t-1, "
        "correcting the implied vol of its anchor baseline (chosen on the earlier "
        "out-of-sample days, repriced on trading sessions as far as the training days show) "
        "by a bounded amount linear in the return into t, shrunk toward it as validation "
        "supports; priced with Black-Scholes",
        **BASELINE_DESCRIPTIONS,
    }
    metrics["data"] = option_data_record(quotes)
    dynamics = iv_dynamics(quotes, config)
    metrics["dynamics"] = dynamics.to_dict()
    metrics["model"] = gru_model_record(card)
    document = OptionEvaluationFile.build(metrics)
    _log_scores(document, predictions)
    return OptionEvaluation(document, rows, predictions, dynamics.near_money_pairs,
                            result.history)  # fmt: skip


def _log_scores(evaluation: OptionEvaluationFile, predictions: dict) -> None:
    for name in predictions:
        overall = evaluation.overall[name]
        log.info(
            "Out of sample %-24s RMSE %.4f  MAE %.4f  RMSE/K %.6f  MdAPE %s%%",
            name,
            overall.rmse,
            overall.mae,
            overall.rmse_over_strike,
            "n/a" if overall.median_ape_pct is None else f"{overall.median_ape_pct:.2f}",
        )
    comparison = evaluation.comparison
    log.info(
        "GRU RMSE %.4f over %d test days: %.3f x %s (90%% interval %s, DM p %.3g), %.3f x "
        "the best baseline %s (interval %s, DM p %.3g): %s",
        comparison.gru_rmse,
        comparison.test_days,
        comparison.rmse_ratio_to_practitioner,
        comparison.practitioner_baseline,
        comparison.rmse_ratio_to_practitioner_interval,
        comparison.dm_p_value_vs_practitioner,
        comparison.rmse_ratio_to_best_baseline,
        comparison.best_baseline,
        comparison.rmse_ratio_to_best_baseline_interval,
        comparison.dm_p_value_vs_best_baseline,
        "GRU wins" if comparison.gru_beats_best_baseline else "GRU loses",
    )
    gains = evaluation.hedging.gain_vs_bs_delta
    log.info("One-day hedging gain over the Black-Scholes delta: %s",
             {name: None if g is None else round(g, 4) for name, g in gains.items()})  # fmt: skip


def write_evaluation_plots(
    evaluation: OptionEvaluation, quotes: pd.DataFrame, directory: str | Path
) -> dict[str, Path]:
    """Write the evaluation plots (PNG) and the distributions of the clean ``quotes`` into
    ``directory``; return their paths."""
    from optvol.core.options.plots import (
        plot_error_over_time,
        plot_hedging_gains,
        plot_iv_dynamics,
        plot_loss_curves,
        plot_option_data_distributions,
        plot_predicted_vs_actual,
        plot_rmse_by_bucket,
    )

    directory = Path(directory)
    paths = {name: directory / file for name, file in PLOT_FILES.items()}
    plot_rmse_by_bucket(evaluation.metrics, paths["rmse"])
    plot_predicted_vs_actual(
        evaluation.rows["mid"].to_numpy(), evaluation.predictions, paths["predicted_vs_actual"]
    )
    loss_unit = "MSE of price / strike (the anchor on train = 1)"
    plot_loss_curves(evaluation.history, paths["loss"], ylabel=loss_unit)
    plot_hedging_gains(evaluation.metrics.hedging, paths["hedging"])
    plot_error_over_time(evaluation.metrics, paths["error_over_time"])
    plot_option_data_distributions(quotes, paths["data_distributions"])
    plot_iv_dynamics(
        evaluation.near_money_pairs, evaluation.metrics.dynamics.near_money,
        paths["iv_dynamics"],
    )  # fmt: skip
    for path in paths.values():
        log.info("Wrote plot %s", path)
    return paths


def option_data_record(quotes: pd.DataFrame) -> dict:
    """The ``data`` entry of the option evaluation: sources, cleaning, summary."""
    return {**recorded_provenance(quotes), "summary": summarize_option_quotes(quotes)}


def gru_model_record(card: GruCard) -> dict:
    """The ``model`` entry of the option evaluation, from the GRU's model card."""
    document = card.document()
    record = {key: document[key] for key in _GRU_CARD_KEYS if key in document}
    record["history"] = [{key: epoch.get(key) for key in _HISTORY_KEYS} for epoch in card.history]
    return record
