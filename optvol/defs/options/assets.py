"""Options pipeline assets: ingest and clean the SPY option chains, train the GRU and
evaluate it against the Black-Scholes baselines."""

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa

from optvol.core.common.input_files import find_input_files
from optvol.core.common.parquet import with_notes
from optvol.core.common.partitioned import LazyTables
from optvol.core.common.paths import OPTIONS_INPUT_DIR, PLOTS_DIR
from optvol.core.common.validation import CheckOutcome
from optvol.core.options.evaluation import evaluate_option_models, write_evaluation_plots
from optvol.core.options.evaluation_file import OptionEvaluationFile
from optvol.core.options.gru.artifact import TrainedGRU
from optvol.core.options.ingest.clean import clean_option_quotes
from optvol.core.options.ingest.read import read_option_months
from optvol.core.options.ingest.schema import RAW_OPTION_SCHEMA
from optvol.core.options.report import RESULTS_SECTION, build_option_report
from optvol.core.options.samples import build_samples
from optvol.core.options.validation import option_quote_outcomes, raw_option_outcomes
from optvol.core.options.walk_forward import train_option_model
from optvol.defs.options.checks import (
    EVALUATION_CHECKS,
    OPTION_EVALUATION_CHECKS,
    OPTION_QUOTE_CHECKS,
    RAW_OPTION_CHECKS,
)
from optvol.defs.options.config import GruModelConfig, OptionIngestConfig
from optvol.defs.options.partitions import QUOTE_MONTHS
from optvol.defs.shared.assets import CLEAN_STEP, MODEL_STEP, pipeline_asset
from optvol.defs.shared.checks import refuse_failed_blocking, results_month_by_month
from optvol.defs.shared.metadata import dynamics_metadata, evaluation_metadata, plot_metadata
from optvol.defs.shared.reporting import materialize_report
from optvol.defs.shared.retry import INGEST_RETRY_POLICY, read_with_retries
from optvol.defs.shared.settings import Settings

asset = pipeline_asset("options")


def _empty_month() -> pa.Table:
    return with_notes(RAW_OPTION_SCHEMA.empty_table(), {"sources": []})


@asset(
    kinds={"pyarrow", "parquet"},
    retry_policy=INGEST_RETRY_POLICY,
    partitions_def=QUOTE_MONTHS,
    check_specs=RAW_OPTION_CHECKS,
)
def raw_option_quotes(
    context: dg.AssetExecutionContext, config: OptionIngestConfig, settings: Settings
) -> Iterator[dg.Output[dict] | dg.AssetCheckResult]:
    """The quotes of the run's months from every option chain file of the input
    directory, one row per option side, values as they came, typed, with the source file
    and row of each quote: one table per quote month (each file is read once, whatever
    the number of months). A month without quotes is an empty table, with a warning."""
    input_dir = (
        Path(config.input_dir) if config.input_dir else settings.data_path / OPTIONS_INPUT_DIR
    )
    spec = config.long_format.to_spec() if config.long_format else None
    months = context.partition_keys

    def read() -> tuple[dict, list]:
        files = find_input_files(input_dir)
        for path in files:
            context.log.info("Found input %s (%d bytes)", path, path.stat().st_size)
        return read_option_months(files, spec, months)

    tables, reports = read_with_retries(context, read)
    empty = [month for month in months if month not in tables]
    if empty:
        context.log.warning("No quotes dated in %s in %s", ", ".join(empty), input_dir)
    files_table = pd.DataFrame([vars(r) for r in reports]).to_markdown(index=False)
    tables = {month: tables.pop(month) if month in tables else _empty_month() for month in months}
    outcomes = {
        month: raw_option_outcomes(t) if t.num_rows else None for month, t in tables.items()
    }
    yield dg.Output(
        tables,
        metadata={
            "input_dir": dg.MetadataValue.path(str(input_dir)),
            "files": dg.MetadataValue.md(files_table),
            "input_rows": sum(r.input_rows for r in reports),
            "months_without_quotes": dg.MetadataValue.json(empty),
        },
    )
    yield from results_month_by_month(RAW_OPTION_CHECKS, outcomes)


@asset(
    kinds={"pandas", "parquet"},
    partitions_def=QUOTE_MONTHS,
    check_specs=OPTION_QUOTE_CHECKS,
    **CLEAN_STEP,
)
def option_quotes(
    context: dg.AssetExecutionContext, raw_option_quotes: LazyTables
) -> Iterator[dg.Output[LazyTables] | dg.AssetCheckResult]:
    """Clean quotes of each of the run's months, one row per (quote_date, expiration,
    strike, option_type): canonical dtypes, duplicates removed, mid/spread/days to
    expiry/moneyness, and flags for unusable quotes (``usable`` is False where any flag is
    set). Months are cleaned as they are written, two at a time, so a range of months
    needs the memory of two; each must pass its blocking checks (exact dtypes, no missing
    key, value rules) before it is written, so a month that fails keeps its stored
    version and fails the step, naming the checks."""
    outcomes: dict[str, dict[str, CheckOutcome] | None] = {}

    def clean_month(month: str) -> pd.DataFrame:
        frame, report = clean_option_quotes(raw_option_quotes[month])
        checked = option_quote_outcomes(frame)
        refuse_failed_blocking(f"option_quotes {month}", checked)
        outcomes[month] = checked if len(frame) else None
        context.log.info(
            "Cleaned %s: %d rows in, %d out, %d usable, %d duplicates",
            month, report.rows_in, report.rows_out, report.usable_rows, report.duplicate_rows,
        )  # fmt: skip
        return frame

    # The IO manager cleans and checks each month as it writes it; the results follow.
    yield dg.Output(LazyTables({month: partial(clean_month, month) for month in raw_option_quotes}))
    for month in raw_option_quotes:
        if month not in outcomes:  # an IO manager that kept the mapping without writing it
            clean_month(month)
    in_order = {month: outcomes[month] for month in raw_option_quotes}
    yield from results_month_by_month(OPTION_QUOTE_CHECKS, in_order)


@asset(kinds={"pytorch"}, io_manager_key="model_io_manager", **MODEL_STEP)
def gru_model(
    context: dg.AssetExecutionContext, config: GruModelConfig, option_quotes: pd.DataFrame
) -> TrainedGRU:
    """The option GRU that is saved and served: a GRU over each contract's last L days
    joined with the state of day t-1, correcting the implied vol of its anchor baseline
    by a bounded amount linear in the return into t; trained on every date but the last
    validation days (the first dates with evaluation='split'), early-stopped on those.
    Saved as a state_dict (models/gru_model.pt) and a card with config, features,
    scalers, anchor, split dates, data fingerprint and metrics."""
    samples = build_samples(option_quotes, config.sample_config())
    model = train_option_model(samples, config.training_config())
    card = model.card
    metrics = card.metrics
    context.add_output_metadata(
        {
            "best_epoch": metrics.best_epoch,
            "epochs_run": metrics.epochs_run,
            "best_validation_loss": dg.MetadataValue.float(metrics.best_validation_loss),
            "training_seconds": dg.MetadataValue.float(round(metrics.training_seconds, 1)),
            "samples_per_second": dg.MetadataValue.float(round(metrics.samples_per_second, 1)),
            "device": card.device,
            "anchor": model.anchor,
            "split_dates": dg.MetadataValue.json(samples.split_dates),
            "sample_counts": dg.MetadataValue.json(card.sample_counts),
            "training_samples": card.sample_counts["train_samples"],
            "hyperparameters": dg.MetadataValue.json(card.training.to_dict()),
            "history": dg.MetadataValue.md(
                pd.DataFrame(card.history).to_markdown(index=False, floatfmt=".4f")
            ),
            "data_fingerprint": samples.fingerprint,
        }
    )
    return model


@asset(
    kinds={"pytorch", "matplotlib"},
    io_manager_key="json_io_manager",
    check_specs=OPTION_EVALUATION_CHECKS,
    **MODEL_STEP,
)
def option_evaluation(
    context: dg.AssetExecutionContext,
    settings: Settings,
    option_quotes: pd.DataFrame,
    gru_model: TrainedGRU,
) -> Iterator[dg.Output[OptionEvaluationFile] | dg.AssetCheckResult]:
    """Out-of-sample scores of the GRU and every baseline on exactly the same rows, by a
    walk-forward that refits every model every refit_every_days dates (or on the saved
    model's test split with evaluation='split'): RMSE, MAE, RMSE/strike and median
    absolute % error (mids >= $0.50), overall, by call/put, by moneyness x days to expiry
    and by day, the GRU's ratios with day-block bootstrap intervals and Diebold-Mariano
    tests, and the one-day hedging gains (metrics/evaluation.json), with plots in plots/."""
    evaluation = evaluate_option_models(option_quotes, gru_model)
    plots = write_evaluation_plots(evaluation, option_quotes, settings.data_path / PLOTS_DIR)
    metrics = evaluation.metrics
    comparison, walk = metrics.comparison, metrics.walk_forward
    context.add_output_metadata(
        {
            **evaluation_metadata(metrics.rows, metrics.overall),
            "evaluation": metrics.evaluation,
            "test_days": walk.test_days,
            "refits": walk.refits,
            "gru_test_rmse": dg.MetadataValue.float(comparison.gru_rmse),
            "best_baseline": comparison.best_baseline,
            "best_baseline_test_rmse": dg.MetadataValue.float(comparison.best_baseline_rmse),
            "rmse_ratio_to_best_baseline": dg.MetadataValue.float(
                comparison.rmse_ratio_to_best_baseline
            ),
            "rmse_ratio_to_practitioner": dg.MetadataValue.float(
                comparison.rmse_ratio_to_practitioner
            ),
            "dm_p_value_vs_best_baseline": dg.MetadataValue.float(
                _or_nan(comparison.dm_p_value_vs_best_baseline)
            ),
            "dm_p_value_vs_practitioner": dg.MetadataValue.float(
                _or_nan(comparison.dm_p_value_vs_practitioner)
            ),
            "hedging_gain_vs_bs_delta": dg.MetadataValue.json(metrics.hedging.gain_vs_bs_delta),
            **dynamics_metadata(metrics.dynamics),
            **plot_metadata(plots),
        },
        output_name="result",  # the asset's output, beside its checks'
    )
    yield dg.Output(metrics)
    for check in EVALUATION_CHECKS:
        yield check(metrics)


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else value


@asset(kinds={"markdown", "pdf"})
def option_report(
    context: dg.AssetExecutionContext, settings: Settings, option_evaluation: OptionEvaluationFile
) -> dg.MaterializeResult:
    """The option report, reports/report.md and reports/report.pdf, written from
    option_evaluation alone: the data and its origin, summary statistics of the cleaned
    quotes, the task and its no-leakage rule, the split, the GRU's hyperparameters, every
    model's test scores (overall, by call/put, by moneyness x expiry), the plots, and a
    plain reading of the numbers, including where the GRU loses."""
    report = build_option_report(option_evaluation, settings.data_path / PLOTS_DIR)
    return materialize_report(context, report, RESULTS_SECTION, settings)
