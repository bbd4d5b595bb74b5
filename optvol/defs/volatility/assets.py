"""Volatility pipeline assets: ingest and clean the S&P 500 / VIX / macro history, train
the volatility and return models, and evaluate them walk-forward against HAR, GARCH, VIX
and no-change."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.paths import MARKET_INPUT_FILE, PLOTS_DIR
from optvol.core.downloads.market import read_provenance
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
from optvol.core.volatility.validation import (
    market_feature_outcomes,
    raw_market_outcomes,
    refuse_implausible_values,
)
from optvol.core.volatility.walk_forward import WalkForwardConfig
from optvol.defs.shared.assets import CLEAN_STEP, MODEL_STEP, pipeline_asset
from optvol.defs.shared.checks import check_results, written_if_blocking_checks_pass
from optvol.defs.shared.metadata import evaluation_metadata, plot_metadata, scores_table
from optvol.defs.shared.reporting import materialize_report
from optvol.defs.shared.retry import INGEST_RETRY_POLICY, read_with_retries
from optvol.defs.shared.settings import Settings
from optvol.defs.volatility.checks import (
    EVALUATION_CHECKS,
    MARKET_FEATURE_CHECKS,
    RAW_MARKET_CHECKS,
    VOLATILITY_EVALUATION_CHECKS,
)
from optvol.defs.volatility.config import (
    MarketCleaningConfig,
    MarketIngestConfig,
    VolatilityModelConfig,
)

asset = pipeline_asset("volatility")


@asset(kinds={"pandas", "parquet"}, retry_policy=INGEST_RETRY_POLICY, check_specs=RAW_MARKET_CHECKS)
def raw_market(
    context: dg.AssetExecutionContext, config: MarketIngestConfig, settings: Settings
) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
    """The daily market file (S&P 500 OHLC, VIX, macro series), typed, values as they came,
    with the source file and row."""
    path = Path(config.input_file) if config.input_file else settings.data_path / MARKET_INPUT_FILE
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
    metadata = {"input_file": dg.MetadataValue.path(str(path))}
    if (downloaded := read_provenance(path)) is not None:  # `optvol download market` wrote it
        metadata["downloaded_from"] = dg.MetadataValue.json(downloaded["sources"])
    yield dg.Output(frame, metadata=metadata)
    yield from check_results(RAW_MARKET_CHECKS, raw_market_outcomes(frame))


@asset(kinds={"pandas", "parquet"}, check_specs=MARKET_FEATURE_CHECKS, **CLEAN_STEP)
def market_features(
    context: dg.AssetExecutionContext, config: MarketCleaningConfig, raw_market: pd.DataFrame
) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
    """Trading days with an S&P 500 close, sorted and unique; macro series as of each day
    after their release lag; the features of the volatility task (log returns, RV over
    1/5/21/22/63 days, Parkinson and Garman-Klass range vol, VIX, VRP, VIX/RV21, yearly
    macro changes), each from data up to its day only; and the targets, realized vol and
    log return over the next 21 trading days (``target_*``). Its blocking checks run on
    the table before it is written: one that fails leaves the stored table as it was
    and fails the step, its results recorded."""
    frame, report = clean_market(
        raw_market, config.release_lag_months, dict(config.release_lag_overrides)
    )
    metadata = {
        "date_range": f"{frame['date'].min():%Y-%m-%d} .. {frame['date'].max():%Y-%m-%d}",
        "cleaning": dg.MetadataValue.json(report.as_dict()),
        "rows_with_vix": report.rows_with_vix,
        "rows_with_targets": report.rows_with_targets,
    }
    yield from written_if_blocking_checks_pass(
        "market_features",
        dg.Output(frame, metadata=metadata),
        MARKET_FEATURE_CHECKS,
        market_feature_outcomes(frame),
    )


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
    selection, walk, adaptive = (
        config.build(kind) for kind in (SelectionConfig, WalkForwardConfig, AdaptiveConfig)
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


@asset(
    kinds={"scikitlearn", "matplotlib"},
    io_manager_key="json_io_manager",
    check_specs=VOLATILITY_EVALUATION_CHECKS,
    **MODEL_STEP,
)
def volatility_evaluation(
    context: dg.AssetExecutionContext,
    settings: Settings,
    market_features: pd.DataFrame,
    volatility_model: VolatilityModel,
) -> Iterator[dg.Output[VolatilityEvaluationFile] | dg.AssetCheckResult]:
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
    plots = write_volatility_plots(evaluation, market_features, settings.data_path / PLOTS_DIR)
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
    yield dg.Output(evaluation, metadata={**metadata, **plot_metadata(plots)})
    for check in EVALUATION_CHECKS:
        yield check(evaluation)


@asset(kinds={"markdown", "pdf"})
def volatility_report(
    context: dg.AssetExecutionContext,
    settings: Settings,
    volatility_evaluation: VolatilityEvaluationFile,
) -> dg.MaterializeResult:
    """The analysis report, reports/analysis_report.pdf and .md, written from
    volatility_evaluation alone: the data and its origin, return and RV distributions and
    VIX against RV, the task and its no-leakage rule, the walk-forward windows, the models
    and hyperparameters, every model's scores against HAR, GARCH, VIX and no-change
    (overall and by year), the return forecasts, the plots, and a plain reading of the
    numbers, including where the chosen model loses."""
    report = build_volatility_report(volatility_evaluation, settings.data_path / PLOTS_DIR)
    return materialize_report(context, report, RESULTS_SECTION, settings)
