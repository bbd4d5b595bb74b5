"""
The option report (``reports/report.md`` and ``.pdf``), written from the evaluation
document ``metrics/evaluation.json`` alone: no metric is recomputed here.

It states the data and where it came from, the summary statistics of the cleaned
quotes, the task and its no-leakage rule, how the models are judged (the walk-forward's
refits, or the split), the model and its hyperparameters, every model's out-of-sample
scores (overall, by call/put, by moneyness x days to expiry) with the tests and
intervals of the GRU's ratios, the one-day hedging gains, the plots, and a plain reading
of the numbers, including where the GRU loses.
"""

from __future__ import annotations

from pathlib import Path

from optvol.core.options.evaluation import PLOT_FILES
from optvol.core.options.evaluation_file import (
    BucketScores,
    Comparison,
    OptionEvaluationFile,
    PriceErrors,
    Regression,
)
from optvol.core.options.metrics import DTE_BUCKETS, MONEYNESS_BUCKETS
from optvol.core.options.samples import GRU
from optvol.core.reports.common import (
    NOT_AVAILABLE,
    date_range,
    decimals,
    distribution_table,
    key_value_table,
    missing_values_blocks,
    origin_sentence,
    percent,
    source_blocks,
    steps_table,
    thousands,
)
from optvol.core.reports.document import Block, Bullets, Figure, Paragraph, Report, Section, Table

TITLE = "optvol: SPY option pricing report"
SECTION_TITLES = (
    "Summary",
    "Data",
    "Summary statistics of the cleaned data",
    "How the implied vols move",
    "Task and the no-leakage rule",
    "How the models are judged",
    "Model and hyperparameters",
    "Results on the test dates",
    "One-day hedging",
    "Where the GRU wins and where it loses",
)
# Printed precision of each metric (the tests compare cells with the JSON at these).
METRICS = (
    ("rmse", "RMSE $", 4),
    ("mae", "MAE $", 4),
    ("rmse_over_strike", "RMSE/K", 6),
    ("median_ape_pct", "MdAPE %", 2),
)
RESULTS_SECTION = "Results on the test dates"
DISTRIBUTION_STATS = ("rows", "mean", "p05", "p25", "p50", "p75", "p95")


def build_option_report(evaluation: OptionEvaluationFile, plots_dir: str | Path) -> Report:
    """The option report of ``evaluation`` (the ``option_evaluation`` document, validated
    when it was read: see :meth:`OptionEvaluationFile.read`), with the plots the evaluation
    wrote into ``plots_dir``."""
    plots_dir = Path(plots_dir)
    models = evaluation.models
    sections = (
        Section(SECTION_TITLES[0], tuple(_summary(evaluation))),
        Section(SECTION_TITLES[1], tuple(_data_and_origin(evaluation))),
        Section(SECTION_TITLES[2], tuple(_statistics(evaluation, plots_dir))),
        Section(SECTION_TITLES[3], tuple(_dynamics(evaluation, plots_dir))),
        Section(SECTION_TITLES[4], tuple(_task_and_no_leakage(evaluation))),
        Section(SECTION_TITLES[5], tuple(_splits(evaluation))),
        Section(SECTION_TITLES[6], tuple(_model_and_hyperparameters(evaluation, plots_dir))),
        Section(SECTION_TITLES[7], tuple(_results(evaluation, models, plots_dir))),
        Section(SECTION_TITLES[8], tuple(_hedging(evaluation, plots_dir))),
        Section(SECTION_TITLES[9], tuple(_wins_and_losses(evaluation, models))),
    )
    subtitle = (
        f"The GRU against the Black-Scholes baselines on {thousands(evaluation.rows)} test "
        f"option sides, {date_range(evaluation.first_date, evaluation.last_date)}. "
        f"Data fingerprint {evaluation.data_fingerprint[:12]}."
    )
    return Report(TITLE, subtitle, sections)


def _figure(plots_dir: Path, name: str, caption: str) -> Figure:
    return Figure(plots_dir / PLOT_FILES[name], caption)


def _ranking(overall: dict[str, PriceErrors]) -> list[str]:
    return sorted(overall, key=lambda m: (overall[m].rmse, m))


def _summary(evaluation: OptionEvaluationFile) -> list[Block]:
    comparison = evaluation.comparison
    best = comparison.best_baseline
    verdict = _verdict(comparison)
    ranking = _ranking(evaluation.overall)
    overall = evaluation.overall
    level = percent(comparison.interval_level, 0)
    best_interval = _interval(comparison.rmse_ratio_to_best_baseline_interval)
    blocks: list[Block] = [
        Paragraph(
            f"On the {thousands(evaluation.dates)} test dates "
            f"({date_range(evaluation.first_date, evaluation.last_date)}) "
            f"{_how_judged(evaluation)}, every model priced the same "
            f"{thousands(evaluation.rows)} option sides. The GRU's RMSE is "
            f"${decimals(comparison.gru_rmse)} against "
            f"${decimals(comparison.best_baseline_rmse)} for the best baseline, {best}: ratio "
            f"{decimals(comparison.rmse_ratio_to_best_baseline, 3)} ({level} day-block "
            f"bootstrap interval {best_interval}, Diebold-Mariano p = "
            f"{decimals(comparison.dm_p_value_vs_best_baseline, 3)}): {verdict}."
            f" Against {comparison.practitioner_baseline} the ratio is "
            f"{decimals(comparison.rmse_ratio_to_practitioner, 3)} (interval "
            f"{_interval(comparison.rmse_ratio_to_practitioner_interval)}, p = "
            f"{decimals(comparison.dm_p_value_vs_practitioner, 3)})."
        ),
        Paragraph(
            "Ranked by RMSE: "
            + ", ".join(f"{m} {decimals(overall[m].rmse)}" for m in ranking)
            + ". On MAE the GRU's "
            + f"${decimals(overall[GRU].mae)} compares with {best}'s "
            + f"${decimals(overall[best].mae)}; on the median absolute % error, "
            + f"{decimals(overall[GRU].median_ape_pct, 2)}% with "
            + f"{decimals(overall[best].median_ape_pct, 2)}%."
        ),
    ]
    wins, losses = _bucket_outcomes(evaluation, best)
    blocks.append(
        Paragraph(
            f"By moneyness and days to expiry, the GRU's RMSE is below {best}'s in "
            f"{len(wins)} of {len(wins) + len(losses)} buckets; the section 'Where the GRU "
            "wins and where it loses' lists them."
        )
    )
    origin = origin_sentence(evaluation.data.get("sources"), "option chain")
    if origin:
        blocks.append(Paragraph(origin))
    return blocks


# A difference of daily losses is called significant at this Diebold-Mariano p-value.
SIGNIFICANCE = 0.05


def _verdict(comparison: Comparison) -> str:
    """Whether the GRU beats the best baseline, and whether the days say so with
    confidence."""
    p_value = comparison.dm_p_value_vs_best_baseline
    significant = p_value is not None and p_value < SIGNIFICANCE
    if comparison.gru_beats_best_baseline:
        return "the GRU beats it" + ("" if significant else ", though not significantly")
    return "the GRU does not beat it" + (", significantly so" if significant else "")


def _interval(values: list[float] | None) -> str:
    return NOT_AVAILABLE if not values else f"{decimals(values[0], 3)}-{decimals(values[1], 3)}"


def _how_judged(evaluation: OptionEvaluationFile) -> str:
    walk = evaluation.walk_forward
    if evaluation.evaluation == "walk_forward":
        return f"of a walk-forward with {thousands(walk.refits)} refits"
    return "of one chronological split"


def _data_and_origin(evaluation: OptionEvaluationFile) -> list[Block]:
    data = evaluation.data
    summary = data.get("summary", {})
    blocks = source_blocks(data.get("sources"), "option chain")
    blocks.append(
        Paragraph(
            f"The cleaned table (option_quotes) holds {thousands(summary.get('rows'))} option "
            f"sides on {thousands(summary.get('quote_dates'))} quote dates, "
            f"{date_range(summary.get('first_date'), summary.get('last_date'))}; "
            f"{thousands(summary.get('usable_rows'))} are usable quotes of "
            f"{thousands(summary.get('contracts'))} contracts."
        )
    )
    cleaning = data.get("cleaning")
    if cleaning:
        flags = cleaning.get("flags", {})
        steps = [
            ("option sides read", cleaning["rows_in"]),
            (
                "dropped: no valid key (date, expiry, strike, call/put)",
                cleaning["rows_invalid_key"],
            ),
            ("dropped: duplicate keys (the quote read last kept)", cleaning["duplicate_rows"]),
            ("  of which with differing values", cleaning["conflicting_duplicates"]),
            ("rows out (kept, with flags)", cleaning["rows_out"]),
            *((f"flagged: {name.removeprefix('flag_')}", n) for name, n in flags.items()),
            ("usable (no flag raised)", cleaning["usable_rows"]),
        ]
        blocks.append(steps_table(steps, "Cleaning, step by step"))
        blocks.append(
            Paragraph(
                "Flagged quotes stay in the table with their flags so that a reader can see "
                "what was wrong with them; the models use usable quotes only. A quote can "
                "raise more than one flag."
            )
        )
    return blocks


def _counts_table(
    counts: dict, order: tuple[str, ...] | None, first: str, caption: str, columns: dict[str, str]
) -> Table:
    """Counts by group (in ``order``, else sorted) with ``columns`` {key: header}."""
    names = [n for n in order if n in counts] if order else sorted(counts)
    rows = tuple((name, *(thousands(counts[name][key]) for key in columns)) for name in names)
    headers = tuple(columns.values())
    return Table((first, *headers), rows, caption=caption, numeric=frozenset(headers))


def _statistics(evaluation: OptionEvaluationFile, plots_dir: Path) -> list[Block]:
    summary = evaluation.data.get("summary")
    if not summary:
        return [Paragraph("The evaluation records no summary of the cleaned data.")]
    sides = {"calls": "calls", "puts": "puts", "rows": "all"}
    blocks: list[Block] = [
        _counts_table(summary["by_year"], None, "year", "Option sides by quote year",
                      {"rows": "rows", "usable_rows": "usable", "quote_dates": "quote dates"}),
        _counts_table(summary["by_expiry_bucket"], DTE_BUCKETS, "days to expiry",
                      "Usable option sides by days to expiry", sides),
        _counts_table(summary["by_moneyness_bucket"], MONEYNESS_BUCKETS, "moneyness",
                      "Usable option sides by moneyness (signed log-moneyness: deep OTM < -10% "
                      "<= OTM < -2% <= ATM <= 2% < ITM <= 10% < deep ITM)", sides),
    ]  # fmt: skip
    blocks += missing_values_blocks(summary["missing_values"], summary["rows"], "cleaned table")
    distributions = {}
    for key, label in (("spread", "spread $"), ("relative_spread", "spread / mid"), ("iv", "IV")):
        for side in ("call", "put"):
            distributions[f"{side} {label}"] = summary[key][side]
    blocks.append(
        distribution_table(
            distributions,
            DISTRIBUTION_STATS,
            "Bid-ask spreads and implied vols of usable quotes (p05..p95: percentiles)",
        )
    )
    blocks.append(
        _figure(
            plots_dir, "data_distributions", "Implied vols and relative spreads of usable quotes"
        )
    )
    return blocks


def _regression_row(label: str, fit: Regression) -> tuple[str, ...]:
    return (label, decimals(fit.slope, 3), decimals(fit.r2, 3),
            decimals(fit.residual_sd, 4), thousands(fit.n))  # fmt: skip


def _signed(slope: float | None) -> str:
    """The vol change, in vol points, of a 1% fall: ``-slope`` with its sign."""
    return "n/a" if slope is None else f"{-slope:+.2f}"


_REGRESSION_COLUMNS = ("slope", "R²", "residual sd", "pairs")


def _dynamics(evaluation: OptionEvaluationFile, plots_dir: Path) -> list[Block]:
    dynamics = evaluation.dynamics
    near, band = dynamics.near_money, dynamics.near_money_band
    numeric = frozenset(_REGRESSION_COLUMNS)
    headline = [
        _regression_row(
            f"near the money (|ln K/S| <= {band['max_abs_log_moneyness']:g}, "
            f"{band['min_dte']}-{band['max_dte']} days)", near,
        ),
        _regression_row("every pair, 8 days or more", dynamics.all_pairs_over_7_days),
        *(_regression_row(f"surface at ln K/S = {k}, 30 days", fit)
          for k, fit in sorted(dynamics.fixed_moneyness_30d.items(),
                               key=lambda item: float(item[0]))),
        _regression_row("surface skew, 30 days", dynamics.skew_change_on_return),
    ]  # fmt: skip
    buckets = [
        (b.dte, b.moneyness, decimals(b.slope, 3), decimals(b.r2, 3),
         decimals(b.residual_sd, 4), thousands(b.n))
        for b in dynamics.buckets if b.n
    ]  # fmt: skip
    blocks: list[Block] = [
        Paragraph(
            "For every contract with a usable quote on two consecutive trading days, the "
            "change of its implied vol (solved from the mids) regressed on the underlying's "
            "log return into the second day. Near the money the slope is "
            f"{decimals(near.slope, 3)}: on average a 1% fall of the underlying changes such "
            f"a contract's vol by {_signed(near.slope)} vol points, and the same-day return "
            "explains "
            f"{percent(near.r2, 0)} of the daily changes. This is what a model that knows "
            "S_t can learn beyond yesterday's vol; the leverage_bs baseline prices with one "
            "such slope per bucket, fitted on the training dates and shrunk toward the "
            "buckets' common slope where few days measure it."
        ),
        Table(
            ("regression", *_REGRESSION_COLUMNS),
            tuple(headline),
            caption="Change of implied vol on the underlying's log return",
            numeric=numeric,
        ),  # fmt: skip
        Table(
            ("days to expiry", "K/S at t-1", *_REGRESSION_COLUMNS),
            tuple(buckets),
            caption="By bucket of moneyness at t-1 and days to expiry at t",
            numeric=numeric,
        ),  # fmt: skip
        Paragraph(
            "The lag-1 autocorrelation of the daily changes of the 30-day at-the-money vol "
            f"is {decimals(dynamics.atm_change_autocorrelation, 3)} (below 0: part of a "
            "day's move is noise that reverts); the median relative bid-ask spread is "
            f"{percent(dynamics.median_relative_spread, 2)} "
            f"({percent(dynamics.near_money_relative_spread, 2)} near the money)."
        ),
        _figure(
            plots_dir,
            "iv_dynamics",
            "Change of implied vol against the return, near the money, with the least-squares line",
        ),  # fmt: skip
    ]
    return blocks


def _task_and_no_leakage(evaluation: OptionEvaluationFile) -> list[Block]:
    samples = evaluation.model.get("samples") or {}
    length = samples.get("sequence_length", "L")
    return [
        Paragraph(
            "For each option side (expiry, strike, call or put) on quote date t that also "
            "had a usable quote on the previous trading date, predict its mid price "
            "(bid + ask) / 2 at t. Known at prediction time: the contract's terms, today's "
            "underlying price S_t, the rate, and everything up to and including t-1 (the "
            f"contract's own last {length} days of mids, IVs and greeks, and the "
            "underlying's returns)."
        ),
        Paragraph(
            "The no-leakage rule: no field of the same day's option quote (bid, ask, last, "
            "IV, greeks, volume, size) is an input; they are the answer in disguise. Every "
            "baseline obeys the same rule and prices exactly the same rows. Dates are split "
            "whole and in order, scalers and the leverage_bs slopes are fitted on training "
            "dates only, and the test dates are touched once, by this evaluation."
        ),
    ]


def _splits(evaluation: OptionEvaluationFile) -> list[Block]:
    if evaluation.evaluation == "walk_forward":
        return _walk_forward(evaluation)
    split_dates = evaluation.split_dates
    counts = evaluation.model.get("sample_counts") or {}
    counts = {"test_samples": evaluation.rows, **counts}
    rows = tuple(
        (name, split_dates[name][0], split_dates[name][1], thousands(counts.get(f"{name}_samples")))
        for name in ("train", "validation", "test")
    )
    samples = evaluation.model.get("samples") or {}
    rule = (
        f"explicit dates (train_end {samples['train_end']}, validation_end "
        f"{samples['validation_end']})"
        if samples.get("train_end")
        else f"fractions of the sample dates ({percent(samples.get('train_fraction'), 0)} "
        f"train, {percent(samples.get('validation_fraction'), 0)} validation, the rest test)"
    )
    return [
        Table(
            ("split", "first date", "last date", "samples"),
            rows,
            caption=f"One chronological split by whole dates: {rule}",
            numeric=frozenset({"samples"}),
        ),
        Paragraph(
            "Validation dates choose the anchor baseline, the epoch (early stopping) and the "
            "share of the network's correction kept; the test dates are scored once, here. "
            "Every model is scored on the same test rows. A walk-forward "
            "(evaluation='walk_forward', the default) judges the model on every date after "
            "its first training window instead."
        ),
    ]


def _validation_rule(samples: dict) -> str:
    days = samples.get("validation_days")
    return "fifth (5 to 63 dates)" if not days else thousands(days)


def _refit_rule(samples: dict) -> str:
    days = samples.get("refit_every_days")
    return "dates (about 12 refits, at least 5 dates apart)" if not days else thousands(days)


# The columns of the walk-forward's table of refits.
REFIT_COLUMNS = (
    "refit",
    "train",
    "validation",
    "test",
    "anchor",
    "business time",
    "kept",
    "test rows",
)


def _walk_forward(evaluation: OptionEvaluationFile) -> list[Block]:
    walk = evaluation.walk_forward
    samples = evaluation.model.get("samples") or {}
    rows = tuple(
        (
            str(r.refit + 1),
            date_range(*r.split_dates.train),
            date_range(*r.split_dates.validation),
            date_range(*r.split_dates.test),
            r.anchor.get("anchor", NOT_AVAILABLE),
            percent(r.business_time, 0),
            percent(r.shrinkage, 0),
            thousands(r.test_samples),
        )
        for r in walk.by_refit
    )
    return [
        Paragraph(
            f"An expanding window over the sample dates: the first "
            f"{thousands(samples.get('min_train_days'))} make the first window, whose last "
            f"{_validation_rule(samples)} validate; the next {_refit_rule(samples)} are "
            "tested, then the window grows by them and every model is fitted again: the GRU "
            "(starting from the previous fit's weights), its scalers, and the slopes of "
            "leverage_bs and hull_white_bs. "
            f"{thousands(walk.test_days)} test days from {walk.first_test_date} to "
            f"{walk.last_test_date}, each tested once by a fit that never saw it; every "
            "model is scored on the same stitched rows."
        ),
        Table(
            REFIT_COLUMNS,
            rows,
            caption="The refits: the baseline the GRU corrects (chosen on the earlier "
            "out-of-sample days), the share of the business-time vol change its anchor "
            "takes (chosen on the training days) and the share of its correction kept "
            "(chosen on the validation days)",
            numeric=frozenset({"refit", "test rows"}),
        ),
        Paragraph(
            "The rows of a day share its move, so the days, not the rows, are the sample: "
            "the ratios' intervals resample blocks of whole days and the Diebold-Mariano "
            "tests compare daily mean squared errors with a Newey-West variance."
        ),
    ]


def _model_and_hyperparameters(evaluation: OptionEvaluationFile, plots_dir: Path) -> list[Block]:
    model = evaluation.model
    if not model:
        return [Paragraph("The evaluation records no model card.")]
    descriptions = evaluation.model_descriptions
    blocks: list[Block] = [
        Table(
            ("model", "what it prices with"),
            tuple((m, descriptions.get(m, "")) for m in evaluation.models),
            caption="The GRU and the baselines",
        ),
        Paragraph(f"Target: {model.get('target')}."),
    ]
    settings = []  # architecture, then training, then samples; by name within each
    for group in ("architecture", "training", "samples"):
        values = model.get(group) or {}
        settings += [(k, str(values[k])) for k in sorted(values) if values[k] is not None]
    blocks.append(key_value_table(settings, "Hyperparameters and settings"))
    features = model.get("features") or {}
    blocks.append(
        Bullets(tuple(f"{kind} features: {', '.join(features[kind])}" for kind in sorted(features)))
    )
    metrics = model.get("metrics") or {}
    versions = model.get("versions") or {}
    versions = ", ".join(f"{k} {versions[k]}" for k in sorted(versions))
    blocks.append(
        Paragraph(
            f"Training ran {thousands(metrics.get('epochs_run'))} epochs on "
            f"{model.get('device') or NOT_AVAILABLE} in "
            f"{decimals(metrics.get('training_seconds'), 1)} s; the best validation loss, "
            f"{decimals(metrics.get('best_validation_loss'))}, came at epoch "
            f"{thousands(metrics.get('best_epoch'))}, whose weights are kept ({versions})."
        )
    )
    shrinkage = metrics.get("shrinkage")
    anchor = (model.get("anchor") or {}).get("anchor", "the anchor")
    clock = model.get("clock")  # absent from a card written before it: calendar time
    clocked = f"{anchor} on its clock" if clock and clock["share"] else anchor
    if shrinkage:
        blocks.append(
            Paragraph(
                f"The saved model corrects the vol of {clocked}. Its correction is bounded at "
                f"{decimals(metrics.get('correction_bound'), 3)} (the 99th percentile of the "
                "training samples' gap between the target's vol and the anchor's), and "
                f"{_kept(shrinkage, clocked)} (0% makes the model {clocked} itself)."
            )
        )
    if clock:
        blocks.append(Paragraph(_clock(clock, anchor)))
    history = model.get("history") or []
    if history:
        blocks.append(
            Table(
                ("epoch", "train loss", "validation loss", "seconds"),
                tuple(
                    (
                        str(h["epoch"]),
                        decimals(h["train_loss"]),
                        decimals(h["val_loss"]),
                        decimals(h["seconds"], 1),
                    )
                    for h in history
                ),  # fmt: skip
                caption=f"Loss per epoch of the saved model (MSE of price/strike; {anchor} "
                "on train = 1)",
                numeric=frozenset({"epoch", "train loss", "validation loss", "seconds"}),
            )
        )
    blocks.append(_figure(plots_dir, "loss", "Training and validation loss per epoch"))
    return blocks


def _scores_table(scores: dict[str, PriceErrors], models: list[str], caption: str) -> Table:
    columns = tuple(label for _, label, _ in METRICS)
    rows = tuple(
        (
            m,
            *(decimals(getattr(scores[m], key), digits) for key, _, digits in METRICS),
            thousands(scores[m].rows),
        )
        for m in models
    )
    return Table(("model", *columns, "rows"), rows, caption=caption,
                 numeric=frozenset({*columns, "rows"}))  # fmt: skip


def _results(evaluation: OptionEvaluationFile, models: list[str], plots_dir: Path) -> list[Block]:
    blocks: list[Block] = [
        _scores_table(evaluation.overall, models, "Every model on the test rows"),
        Paragraph(
            "RMSE and MAE in dollars; RMSE/K is the RMSE of price / strike; MdAPE is the "
            "median absolute percentage error over mids of at least $0.50."
        ),
    ]
    for side in ("call", "put"):
        blocks.append(_scores_table(evaluation.by_type[side], models, f"{side.title()}s only"))
    columns = tuple(models)
    rows = []
    for bucket in _ordered_buckets(evaluation):
        scores = bucket.metrics
        best = min(models, key=lambda m: (scores[m].rmse, m))
        rows.append(
            (bucket.moneyness, bucket.dte, thousands(bucket.rows),
             *(decimals(scores[m].rmse) for m in models), best)
        )  # fmt: skip
    blocks.append(
        Table(
            ("moneyness", "DTE", "rows", *columns, "lowest"),
            tuple(rows),
            caption="RMSE ($) by moneyness x days to expiry (DTE), one column per model",
            numeric=frozenset({"rows", *columns}),
        )
    )
    blocks += [
        _figure(
            plots_dir, "rmse", "RMSE by moneyness, one panel per days to expiry, a bar per model"
        ),
        _figure(plots_dir, "predicted_vs_actual", "Predicted against actual mid, test rows"),
        _figure(plots_dir, "error_over_time", "RMSE per test date"),
    ]
    return blocks


def _hedging(evaluation: OptionEvaluationFile, plots_dir: Path) -> list[Block]:
    hedging = evaluation.hedging
    if not hedging.pairs:
        return [Paragraph("The evaluation records no hedge pairs.")]
    deltas = hedging.deltas
    overall = hedging.gain_vs_bs_delta
    rows = tuple(
        (b.type, f"{b.abs_delta[0]:g}-{b.abs_delta[1]:g}", thousands(b.pairs),
         *(percent(b.gain_vs_bs_delta[d], 1) for d in deltas))
        for b in hedging.by_bucket
    )  # fmt: skip
    rows += (("all", "", thousands(hedging.pairs), *(percent(overall[d], 1) for d in deltas)),)
    best = max((d for d in deltas if overall[d] is not None), key=overall.get, default=GRU)
    return [
        Paragraph(
            "Each test pair hedged at t-1 with a delta of the underlying: the error is "
            "e = dV - delta dS, the change of the mid less the hedge's gain. The gain of a "
            "delta is 1 - SSE/SSE_BS against the Black-Scholes delta at the contract's t-1 "
            "vol; hull_white_mv is Hull and White's minimum-variance delta; the others are "
            "each model's own delta, the derivative of its price for t in the underlying's "
            "price, at S_{t-1}."
        ),
        Table(
            ("type", "|delta|", "pairs", *deltas),
            rows,
            caption="One-day hedging gain over the Black-Scholes delta, by call/put and "
            "|delta| bucket",
            numeric=frozenset({"pairs", *deltas}),
        ),
        Paragraph(
            f"Over all {thousands(hedging.pairs)} pairs the GRU's delta gains "
            f"{percent(overall.get(GRU), 1)} over the Black-Scholes delta"
            + (
                ", the largest gain of the deltas compared."
                if best == GRU
                else f"; the largest gain is {best}'s, {percent(overall.get(best), 1)}."
            )
        ),
        _figure(plots_dir, "hedging", "One-day hedging gain by |delta| bucket"),
    ]


def _ordered_buckets(evaluation: OptionEvaluationFile) -> list[BucketScores]:
    """``by_bucket`` in moneyness-major order of the bucket constants."""

    def position(bucket: BucketScores) -> tuple[int, int]:
        return MONEYNESS_BUCKETS.index(bucket.moneyness), DTE_BUCKETS.index(bucket.dte)

    return sorted(evaluation.by_bucket, key=position)


def _bucket_outcomes(
    evaluation: OptionEvaluationFile, baseline: str
) -> tuple[list[BucketScores], list[BucketScores]]:
    """Buckets where the GRU's RMSE is below ``baseline``'s, and those where it is not."""
    wins, losses = [], []
    for bucket in _ordered_buckets(evaluation):
        scores = bucket.metrics
        (wins if scores[GRU].rmse < scores[baseline].rmse else losses).append(bucket)
    return wins, losses


def _label(bucket: BucketScores) -> str:
    return f"{bucket.moneyness} {bucket.dte}"


def _wins_and_losses(evaluation: OptionEvaluationFile, models: list[str]) -> list[Block]:
    best = evaluation.comparison.best_baseline
    wins, losses = _bucket_outcomes(evaluation, best)
    overall = evaluation.overall
    by_type = evaluation.by_type
    sides = []
    for side in ("call", "put"):
        gru, baseline = by_type[side][GRU].rmse, by_type[side][best].rmse
        if gru is None or baseline is None:
            sides.append(f"no {side}s among the test rows")
            continue
        outcome = "wins" if gru < baseline else "loses"
        sides.append(f"{side}s: GRU {decimals(gru)} vs {best} {decimals(baseline)} ({outcome})")
    beaten = [m for m in models if m != GRU and overall[GRU].rmse < overall[m].rmse]
    not_beaten = [m for m in models if m != GRU and m not in beaten]

    def ratio(bucket: BucketScores) -> float | None:
        baseline = bucket.metrics[best].rmse
        return bucket.metrics[GRU].rmse / baseline if baseline else None

    rows = tuple(
        (b.moneyness, b.dte, thousands(b.rows), decimals(b.metrics[GRU].rmse),
         decimals(b.metrics[best].rmse), decimals(ratio(b), 3),
         "wins" if b in wins else "loses")
        for b in _ordered_buckets(evaluation)
    )  # fmt: skip
    worst = sorted((b for b in losses if ratio(b) is not None), key=ratio, reverse=True)[:3]
    lost_rows = sum(b.rows for b in losses)
    blocks: list[Block] = [
        Paragraph(
            f"Overall the GRU's RMSE is lower than that of {', '.join(beaten) or 'no baseline'}"
            + (f"; it is not lower than that of {', '.join(not_beaten)}" if not_beaten else "")
            + f". Against the best baseline, {best}, by option type: "
            + "; ".join(sides)
            + "."
        ),
        Table(
            ("moneyness", "DTE", "rows", "GRU RMSE", f"{best} RMSE", "ratio", "GRU"),
            rows,
            caption=f"The GRU against {best}, bucket by bucket (ratio below 1: the GRU wins)",
            numeric=frozenset({"rows", "GRU RMSE", f"{best} RMSE", "ratio"}),
        ),
        Paragraph(
            f"The GRU wins in {len(wins)} of {len(wins) + len(losses)} buckets and loses in "
            f"{len(losses)}, which hold {thousands(lost_rows)} of the "
            f"{thousands(evaluation.rows)} test rows."
            + (
                " Its largest shortfalls: "
                + ", ".join(f"{_label(b)} (ratio {decimals(ratio(b), 3)})" for b in worst)
                + "."
                if worst
                else ""
            )
        ),
    ]
    return blocks


def _clock(clock: dict, anchor: str) -> str:
    """On which clock the anchor reprices yesterday's vol, and why."""
    share = percent(clock["share"], 0)
    rule = (
        "the share whose prices fit the training days best, significantly better than "
        "calendar time's"
        if clock["share"]
        else "the share that fitted the training days best did not beat calendar time with "
        "the anchor rule's evidence"
    )
    return (
        f"Before the correction, {anchor}'s vol moves by {share} of the business-time change "
        "of the contract's t-1 vol, the change of a calendar-time vol that keeps its variance "
        "per trading session (100% counts a weekend as one session, 0% as three calendar "
        f"days, as every baseline does): {rule}."
    )


def _kept(shrinkage: dict, anchor: str) -> str:
    """The share of the correction kept and why: the validation blocks' choice, and what
    the evidence test made of it (not said for a card written before the test, which
    records no ``candidate``)."""
    kept = percent(shrinkage["shrinkage"], 0)
    blocks = len(shrinkage["validation_blocks"])
    rule = (
        f"the share with the lowest validation loss among those no worse than {anchor} in "
        f"each of {blocks} blocks of validation dates"
    )
    if "candidate" not in shrinkage:
        return f"{kept} of it is kept: {rule}"
    candidate = shrinkage["candidate"]
    if not candidate:
        return f"{kept} of it is kept: no share was better than {anchor} in every block"
    if shrinkage["shrinkage"]:
        return (
            f"{kept} of it is kept: {rule}, whose prices beat {anchor}'s significantly "
            "over the validation days"
        )
    return (
        f"{percent(candidate, 0)} was {rule}, but its prices did not beat {anchor}'s with "
        "the evidence the anchor rule asks over the validation days (enough days, a lower "
        f"RMSE and a Diebold-Mariano test), so {kept} of it is kept"
    )
