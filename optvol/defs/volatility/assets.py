"""Volatility pipeline assets: ingest and clean the S&P 500 / VIX / macro history, train
the volatility and return models, and evaluate them walk-forward against HAR, GARCH, VIX
and no-change."""

from pathlib import Path

import dagster as dg
import pandas as pd

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.paths import MARKET_INPUT_FILE, PLOTS_DIR
from optvol.core.volatility.adaptive import AdaptiveConfig
from optvol.core.volatility.artifact import (
    SelectionConfig,
    VolatilityModel,
    train_volatility_model,
)
from optvol.core.volatility.evaluation import evaluate_volatility, write_volatility_plots
from optvol.core.volatility.evaluation_file import VolatilityEvaluationFile
from optvol.core.volatility.market import clean_market, read_market_file
from optvol.core.volatility.report import RESULTS_SECTION, build_volatility_report
from optvol.core.volatility.selection import RESTRICTED_RETURN
from optvol.core.volatility.validation import market_feature_outcomes, refuse_implausible_values
from optvol.core.volatility.walk_forward import WalkForwardConfig
from optvol.defs.shared.assets import MODEL_STEP, pipeline_asset
from optvol.defs.shared.checks import refuse_failed_blocking
from optvol.defs.shared.metadata import evaluation_metadata, plot_metadata, scores_table
from optvol.defs.shared.reporting import materialize_report
from optvol.defs.shared.resources import DataRoot
from optvol.defs.shared.retry import INGEST_RETRY_POLICY, read_with_retries
from optvol.defs.volatility.config import (
    MarketCleaningConfig,
    MarketIngestConfig,
    VolatilityModelConfig,
)
from optvol.defs.volatility.types import MarketFeaturesDataFrame

asset = pipeline_asset("volatility")


@asset(kinds={"pandas", "parquet"}, retry_policy=INGEST_RETRY_POLICY)
def raw_market(
    context: dg.AssetExecutionContext, config: MarketIngestConfig, data_root: DataRoot
) -> pd.DataFrame:
    """The daily market file (S&P 500 OHLC, VIX, macro series), typed, values as they came,
    with the source file and row."""
    path = Path(config.input_file) if config.input_file else data_root.path / MARKET_INPUT_FILE
    if path.exists():
        context.log.info("Found input %s (%d bytes)", path, path.stat().st_size)
    frame = read_with_retries(context, lambda: read_market_file(path))
    if config.implausible_values == "fail":
        try:
            refuse_implausible_values(frame)
        except OptvolInputError as err:
            raise dg.Failure(
                description=f"{err}: not written; the stored raw_market is kept",
                allow_retries=False,
            ) from None
    context.add_output_metadata({"input_file": dg.MetadataValue.path(str(path))})
    return frame


@asset(kinds={"pandas", "parquet"}, dagster_type=MarketFeaturesDataFrame)
def market_features(
    context: dg.AssetExecutionContext, config: MarketCleaningConfig, raw_market: pd.DataFrame
) -> pd.DataFrame:
    """Trading days with an S&P 500 close, sorted and unique; macro series as of each day
    after their release lag; the features of the volatility task (log returns, RV over
    1/5/21/22/63 days, Parkinson and Garman-Klass range vol, VIX, VRP, VIX/RV21, yearly
    macro changes), each from data up to its day only; and the targets, realized vol and
    log return over the next 21 trading days (``target_*``). Its blocking checks run on
    the table before it is written: one that fails leaves the stored table as it was."""
    frame, report = clean_market(
        raw_market, config.release_lag_months, dict(config.release_lag_overrides)
    )
    refuse_failed_blocking("market_features", market_feature_outcomes(frame))
    context.add_output_metadata(
        {
            "date_range": f"{frame['date'].min():%Y-%m-%d} .. {frame['date'].max():%Y-%m-%d}",
            "cleaning": dg.MetadataValue.json(report.as_dict()),
            "rows_with_vix": report.rows_with_vix,
            "rows_with_targets": report.rows_with_targets,
        }
    )
    return frame


@asset(kinds={"scikitlearn"}, io_manager_key="model_io_manager", **MODEL_STEP)
def volatility_model(
    context: dg.AssetExecutionContext,
    config: VolatilityModelConfig,
    market_features: pd.DataFrame,
) -> VolatilityModel:
    """The volatility model: an expanding walk-forward, refit monthly, of every model of ln
    RV21 ahead (HAR, HAR-X, HARQ-X, LHAR-X by OLS and by QLIKE, ridge, gradient boosting)
    and the baselines, with the combination of the models and VIX weighted, and the
    choice made, at each refit from past out-of-sample QLIKE; the last refit's choice
    fitted on every usable row (what is served); HAR-RV; and a ridge regression of the
    21-day return with its Campbell-Thompson restriction. Hyperparameters, the prior
    choice and the return shrinkage are chosen on expanding validation folds over the
    first training window. Saved as models/volatility_model.joblib (with the
    walk-forward; sha256 in the card) and a JSON card with features, training windows,
    validation scores and the latest weights."""
    selection = SelectionConfig(config.min_train_rows, config.validation_folds)
    walk = WalkForwardConfig(min_train_rows=config.min_train_rows, start=config.walk_forward_start)
    adaptive = AdaptiveConfig(
        half_life_days=config.weight_half_life_days, min_history_days=config.min_history_days
    )
    model = train_volatility_model(market_features, selection, walk, adaptive)
    card = model.card
    context.add_output_metadata(
        {
            "chosen_volatility_model": card.chosen_volatility_model,
            "hyperparameters": dg.MetadataValue.json(card.hyperparameters),
            "validation_mse": dg.MetadataValue.json(
                {name: s.validation_mse for name, s in card.selection.items()}
            ),
            "first_window_validation_qlike": dg.MetadataValue.json(
                card.candidates.validation_qlike
            ),
            "combination_weights": dg.MetadataValue.json(card.combination.weights),
            "walk_forward_refits": len(model.walk.refits),
            "return_shrinkage": dg.MetadataValue.float(card.return_restriction.shrinkage),
            "models": dg.MetadataValue.json(card.document()["models"]),
            "training_rows": card.models["volatility"].training_rows,
            "feature_columns": dg.MetadataValue.json(card.feature_columns),
            "data_fingerprint": card.data_fingerprint,
        }
    )
    return model


@asset(kinds={"scikitlearn", "matplotlib"}, io_manager_key="json_io_manager", **MODEL_STEP)
def volatility_evaluation(
    context: dg.AssetExecutionContext,
    data_root: DataRoot,
    market_features: pd.DataFrame,
    volatility_model: VolatilityModel,
) -> VolatilityEvaluationFile:
    """The scores of volatility_model's walk-forward (refit on the first trading day of
    every month) of the models, the combination, the adaptive choice and the HAR, HAR-X,
    GARCH(1,1)-t, VIX and no-change baselines (and the historical mean for returns):
    out-of-sample R^2 of ln RV, RMSE and QLIKE for every model on the same dates, by year
    with Diebold-Mariano tests against HAR and VIX, over named stress episodes;
    Campbell-Thompson R^2, hit rate and the certainty-equivalent value for returns
    (metrics/volatility_evaluation.json), with plots in plots/."""
    volatility_model.check_data(market_features)
    walk = volatility_model.walk
    if walk is None:
        raise OptvolInputError("volatility_model carries no walk-forward: re-materialize it")
    evaluation = evaluate_volatility(
        walk,
        volatility_model.specs(),
        volatility_model.card.chosen_volatility_model,
        volatility_model.card,
        market_features,
    )
    plots = write_volatility_plots(evaluation, market_features, data_root.path / PLOTS_DIR)
    comparison = evaluation.comparison
    compared = evaluation.volatility["all_models"]
    metadata = {
        **evaluation_metadata(compared.dates, compared.scores),
        "chosen_model": comparison.chosen_model,
        "qlike_ratio_to_har": dg.MetadataValue.float(comparison.qlike_ratio_to_har),
        "har_diebold_mariano_p_value": dg.MetadataValue.float(
            comparison.har_diebold_mariano_p_value or float("nan")
        ),
        **(
            {"qlike_ratio_to_vix": dg.MetadataValue.float(comparison.qlike_ratio_to_vix)}
            if comparison.qlike_ratio_to_vix is not None
            else {}
        ),
        "har_r2_log_rv": dg.MetadataValue.float(comparison.har_r2_log_rv),
        "best_baseline": comparison.best_baseline,
        "beats_best_baseline": comparison.beats_best_baseline,
        "walk_forward": dg.MetadataValue.json(evaluation.walk_forward.model_dump()),
    }
    for name, window in evaluation.volatility.items():
        metadata[f"scores_{name}"] = scores_table(window.scores)
        metadata[f"dates_{name}"] = (
            f"{window.first_date} .. {window.last_date} ({window.dates} dates)"
        )
    if evaluation.returns is not None:
        scores = evaluation.returns.scores
        metadata["scores_returns"] = scores_table(scores)
        metadata["return_r2_vs_historical_mean"] = dg.MetadataValue.float(
            scores[RESTRICTED_RETURN].r2_vs_historical_mean or float("nan")
        )
    context.add_output_metadata({**metadata, **plot_metadata(plots)})
    return evaluation


@asset(kinds={"markdown", "pdf"})
def volatility_report(
    context: dg.AssetExecutionContext,
    data_root: DataRoot,
    volatility_evaluation: VolatilityEvaluationFile,
) -> dg.MaterializeResult:
    """The analysis report, reports/analysis_report.pdf and .md, written from
    volatility_evaluation alone: the data and its origin, return and RV distributions and
    VIX against RV, the task and its no-leakage rule, the walk-forward windows, the models
    and hyperparameters, every model's scores against HAR, GARCH, VIX and no-change
    (overall and by year), the return forecasts, the plots, and a plain reading of the
    numbers, including where the chosen model loses."""
    report = build_volatility_report(volatility_evaluation, data_root.path / PLOTS_DIR)
    return materialize_report(context, report, RESULTS_SECTION, data_root)
