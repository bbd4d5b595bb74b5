"""Score the option GRU and every baseline on the same test rows, and draw the plots.

The test split is touched here only: the samples are rebuilt from ``option_quotes``
with the model card's settings, the fingerprint proves they are the samples the
model was trained on, and every model prices every test row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optvol.core.common.provenance import recorded_provenance
from optvol.core.options.dynamics import iv_dynamics
from optvol.core.options.gru.artifact import TrainedGRU
from optvol.core.options.gru.training import resolve_device
from optvol.core.options.metrics import best_model, evaluate_models
from optvol.core.options.plots import (
    PLOT_FILES,
    plot_error_over_time,
    plot_iv_dynamics,
    plot_loss_curves,
    plot_option_data_distributions,
    plot_predicted_vs_actual,
    plot_rmse_by_bucket,
)
from optvol.core.options.samples import (
    ANCHOR,
    BASELINE_DESCRIPTIONS,
    BASELINES,
    GRU,
    PRACTITIONER,
    build_samples,
)
from optvol.core.options.summary import summarize_option_quotes

log = logging.getLogger(__name__)

# Model-card entries of the option GRU that describe it (not its weights or scalers).
_GRU_CARD_KEYS = (
    "model",
    "target",
    "architecture",
    "training",
    "samples",
    "features",
    "metrics",
    "sample_counts",
    "device",
    "versions",
)
_HISTORY_KEYS = ("epoch", "train_loss", "val_loss", "seconds", "samples_per_second")


@dataclass
class OptionEvaluation:
    """The metrics (``metrics``, JSON-ready), the test rows with every prediction, and the
    near-the-money pairs of the implied-vol dynamics."""

    metrics: dict
    rows: pd.DataFrame
    predictions: dict[str, np.ndarray]
    near_money_pairs: pd.DataFrame  # dIV and return of near-the-money pairs, for the scatter


def compare_with_baselines(metrics: dict) -> dict:
    """The GRU's overall test RMSE against the best baseline's, and the ratio."""
    best = best_model(metrics, BASELINES)
    gru_rmse = metrics["overall"][GRU]["rmse"]
    best_rmse = metrics["overall"][best]["rmse"]
    practitioner_rmse = metrics["overall"][PRACTITIONER]["rmse"]
    anchor_rmse = metrics["overall"][ANCHOR]["rmse"]
    return {
        "best_baseline": best,
        "gru_rmse": gru_rmse,
        "best_baseline_rmse": best_rmse,
        "rmse_ratio_to_best_baseline": gru_rmse / best_rmse if best_rmse else None,
        "gru_beats_best_baseline": bool(gru_rmse < best_rmse),
        "practitioner_baseline": PRACTITIONER,
        "rmse_ratio_to_practitioner": gru_rmse / practitioner_rmse if practitioner_rmse else None,
        "anchor_baseline": ANCHOR,
        "rmse_ratio_to_anchor": gru_rmse / anchor_rmse if anchor_rmse else None,
    }


def _test_split(
    quotes: pd.DataFrame, model: TrainedGRU, device: str
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict]:
    """The test rows, every model's prices of them and what the metrics cite of the
    samples (test calendar, split dates, fingerprint). The samples live only in here, so
    they are freed before the caller summarises the whole quotes table."""
    samples = build_samples(quotes, model.sample_config())
    test = samples.indices("test")
    rows = samples.rows.iloc[test].reset_index(drop=True)
    predictions = {GRU: model.predict(samples, test, resolve_device(device))}
    predictions.update({name: rows[name].to_numpy() for name in BASELINES})
    calendar = samples.calendar
    test_days = (calendar >= rows["quote_date"].min()) & (calendar <= rows["quote_date"].max())
    cited = {
        "test_calendar_dates": [str(d)[:10] for d in calendar[test_days]],
        "split_dates": samples.split_dates,
        "data_fingerprint": samples.fingerprint,
        "leverage_betas": samples.leverage_betas.to_dict(),
    }
    return rows, predictions, cited


def evaluate_option_models(
    quotes: pd.DataFrame, model: TrainedGRU, device: str = "auto"
) -> OptionEvaluation:
    """Price every test sample with the GRU and each baseline and score them alike. The
    GRU runs on ``device`` (``"auto"``: CUDA when present, as in training)."""
    rows, predictions, cited = _test_split(quotes, model, device)
    metrics = evaluate_models(rows, predictions)
    metrics.update(cited)
    metrics["comparison"] = compare_with_baselines(metrics)
    metrics["model_descriptions"] = {
        GRU: "GRU over the contract's last L days and today's static features, correcting "
        f"the implied vol of {ANCHOR} by a bounded amount, shrunk toward it as validation "
        "supports; priced with Black-Scholes",
        **BASELINE_DESCRIPTIONS,
    }
    metrics["data"] = option_data_record(quotes)
    dynamics = iv_dynamics(quotes, model.sample_config())
    metrics["dynamics"] = dynamics.to_dict()
    metrics["model"] = gru_model_record(model.card)
    for name in predictions:
        overall = metrics["overall"][name]
        log.info(
            "Test %-24s RMSE %.4f  MAE %.4f  RMSE/K %.6f  MdAPE %s%%",
            name,
            overall["rmse"],
            overall["mae"],
            overall["rmse_over_strike"],
            "n/a" if overall["median_ape_pct"] is None else f"{overall['median_ape_pct']:.2f}",
        )
    comparison = metrics["comparison"]
    log.info(
        "GRU test RMSE %.4f vs best baseline %s %.4f: ratio %.3f (%s)",
        comparison["gru_rmse"],
        comparison["best_baseline"],
        comparison["best_baseline_rmse"],
        comparison["rmse_ratio_to_best_baseline"],
        "GRU wins" if comparison["gru_beats_best_baseline"] else "GRU loses",
    )
    return OptionEvaluation(metrics, rows, predictions, dynamics.near_money_pairs)


def write_evaluation_plots(
    evaluation: OptionEvaluation, history: list[dict], quotes: pd.DataFrame, directory: str | Path
) -> dict[str, Path]:
    """Write the evaluation plots (PNG) and the distributions of the clean ``quotes`` into
    ``directory``; return their paths."""
    directory = Path(directory)
    paths = {name: directory / file for name, file in PLOT_FILES.items()}
    plot_rmse_by_bucket(evaluation.metrics, paths["rmse"])
    plot_predicted_vs_actual(
        evaluation.rows["mid"].to_numpy(), evaluation.predictions, paths["predicted_vs_actual"]
    )
    loss_unit = f"MSE of price / strike ({ANCHOR} on train = 1)"
    plot_loss_curves(history, paths["loss"], ylabel=loss_unit)
    plot_error_over_time(evaluation.metrics, paths["error_over_time"])
    plot_option_data_distributions(quotes, paths["data_distributions"])
    plot_iv_dynamics(
        evaluation.near_money_pairs, evaluation.metrics["dynamics"]["near_money"],
        paths["iv_dynamics"],
    )  # fmt: skip
    for path in paths.values():
        log.info("Wrote plot %s", path)
    return paths


def option_data_record(quotes: pd.DataFrame) -> dict:
    """The ``data`` entry of the option evaluation: sources, cleaning, summary."""
    return {**recorded_provenance(quotes), "summary": summarize_option_quotes(quotes)}


def gru_model_record(card: dict) -> dict:
    """The ``model`` entry of the option evaluation, from the GRU's model card."""
    record = {key: card.get(key) for key in _GRU_CARD_KEYS}
    record["history"] = [
        {key: epoch.get(key) for key in _HISTORY_KEYS} for epoch in card.get("history", [])
    ]
    return record
