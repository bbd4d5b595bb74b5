"""
The volatility analysis report (``reports/analysis_report.pdf`` and ``.md``), written
from the evaluation document ``metrics/volatility_evaluation.json`` alone: no metric is
recomputed here.

It states the data and where it came from, summary statistics of the cleaned market
table (return and RV distributions, VIX against RV), the task and its no-leakage rule,
the walk-forward and its windows, the models and hyperparameters, every model's
out-of-sample scores (overall and by year) against HAR, GARCH, VIX and no-change, the
return forecasts against the historical mean, the plots, and a plain reading of the
numbers, including where the chosen model loses.

The module holds one concept, this document: a function per section, in the order the
report shows them, and the tables they share.
"""

from __future__ import annotations

import re
from pathlib import Path

from optvol.core.reports.common import (
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
from optvol.core.volatility.evaluation import PLOT_FILES
from optvol.core.volatility.evaluation_file import (
    Comparison,
    Test,
    VolatilityEvaluationFile,
    VolatilityScores,
    Window,
)
from optvol.core.volatility.selection import RESTRICTED_RETURN, RETURN_FAMILY

TITLE = "optvol: S&P 500 volatility analysis report"
SECTION_TITLES = (
    "Summary",
    "Data",
    "Summary statistics of the cleaned data",
    "Task and the no-leakage rule",
    "Walk-forward and evaluation windows",
    "Models and hyperparameters",
    "Volatility forecasts: results",
    "Return forecasts: results",
    "Where the chosen model wins and where it loses",
)
RESULTS_SECTION = SECTION_TITLES[6]
# Printed precision of each volatility score (the tests compare cells with the JSON).
SCORES = (
    ("r2_log_rv", "R2 ln RV", 3),
    ("r2_vol", "R2 vol", 3),
    ("rmse_vol", "RMSE vol", 4),
    ("mae_vol", "MAE vol", 4),
    ("qlike", "QLIKE", 4),
)
RETURN_SCORES = (
    ("r2_vs_historical_mean", "R2 vs hist. mean", 3),
    ("rmse", "RMSE", 4),
    ("hit_rate", "hit rate", 3),
    ("mean_forecast", "mean forecast", 4),
)
DISTRIBUTION_STATS = ("rows", "mean", "std", "min", "p05", "p50", "p95", "max")


def build_volatility_report(evaluation: VolatilityEvaluationFile, plots_dir: str | Path) -> Report:
    """The analysis report of ``evaluation`` (the ``volatility_evaluation`` document,
    validated when it was read: see :meth:`VolatilityEvaluationFile.read`), with the plots
    the evaluation wrote into ``plots_dir``."""
    plots_dir = Path(plots_dir)
    builders = (
        lambda: _summary(evaluation),
        lambda: _data_and_origin(evaluation),
        lambda: _statistics(evaluation, plots_dir),
        lambda: _task_and_no_leakage(evaluation),
        lambda: _walk_forward(evaluation),
        lambda: _models_and_hyperparameters(evaluation),
        lambda: _volatility_results(evaluation, plots_dir),
        lambda: _return_results(evaluation, plots_dir),
        lambda: _wins_and_losses(evaluation),
    )
    sections = tuple(
        Section(title, tuple(build()))
        for title, build in zip(SECTION_TITLES, builders, strict=True)
    )
    data = evaluation.data
    subtitle = (
        f"Forecasts of 21-day realized volatility and return of the S&P 500, "
        f"{evaluation.chosen_model} against "
        f"{', '.join(b for b in _baselines(evaluation) if b != evaluation.chosen_model)}, "
        "walk-forward "
        f"from {evaluation.walk_forward.first_refit}. Data "
        f"{date_range(data['first_date'], data['last_date'])}, fingerprint "
        f"{data['fingerprint'][:12]}."
    )
    return Report(TITLE, subtitle, sections)


def _windows(evaluation: VolatilityEvaluationFile) -> dict[str, Window]:
    """The evaluation windows to report: ``without_vix`` only where it differs from
    ``all_models`` (with no VIX in the data, both hold the same models)."""
    windows = {name: evaluation.volatility[name] for name in sorted(evaluation.volatility)}
    long = windows.get("without_vix")
    if long and long.models == windows["all_models"].models:
        del windows["without_vix"]
    return windows


def _window_label(evaluation: VolatilityEvaluationFile, name: str) -> str:
    if name == "without_vix":
        return "the models without VIX, on the longer history"
    models = evaluation.volatility[name].models
    uses_vix = any(evaluation.models[m].needs_vix for m in models)
    return "every model, on the dates VIX is known" if uses_vix else "every model"


def _model_order(evaluation: VolatilityEvaluationFile) -> list[str]:
    """Every model of the evaluation: those of window all_models in its order, then the
    return models (the JSON's own dict order is alphabetical)."""
    ordered = list(evaluation.volatility["all_models"].models)
    returns = evaluation.returns.models if evaluation.returns else []
    ordered += [m for m in returns if m not in ordered]
    return ordered + sorted(m for m in evaluation.models if m not in ordered)


def _natural(text: str) -> list:
    """A sort key that orders "alpha=2" before "alpha=10"."""
    parts = re.split(r"(\d+(?:\.\d+)?)", text)
    return [(1, float(p), "") if p[:1].isdigit() else (0, 0.0, p) for p in parts]


def _figure(plots_dir: Path, name: str, caption: str) -> Figure:
    return Figure(plots_dir / PLOT_FILES[name], caption)


def _best(scores: dict[str, VolatilityScores], models: list[str]) -> str:
    def qlike(model: str) -> float:
        value = scores[model].qlike
        return float("inf") if value is None else value

    return min(models, key=lambda m: (qlike(m), m))


def _baselines(evaluation: VolatilityEvaluationFile) -> list[str]:
    window = evaluation.volatility["all_models"]
    return [m for m in window.models if evaluation.models[m].kind == "baseline"]


def _summary(evaluation: VolatilityEvaluationFile) -> list[Block]:
    comparison = evaluation.comparison
    chosen = comparison.chosen_model
    window = evaluation.volatility["all_models"]
    verdict = "beats" if comparison.beats_har else "loses to"
    p_value = comparison.har_diebold_mariano_p_value
    if p_value is None:
        significance = "not available"
    elif p_value < 0.05:
        significance = "a significant difference at the 5% level"
    else:
        significance = "no significant difference at the 5% level"
    blocks: list[Block] = [
        Paragraph(
            f"Over {thousands(window.dates)} forecast dates "
            f"({date_range(window.first_date, window.last_date)}) on which every model "
            f"has a forecast, the chosen model, {chosen}, has a QLIKE loss of "
            f"{decimals(comparison.qlike)} against HAR's {decimals(comparison.har_qlike)} "
            f"(ratio {decimals(comparison.qlike_ratio_to_har, 3)}): it {verdict} HAR. The "
            f"Diebold-Mariano test of equal QLIKE gives p = {decimals(p_value, 3)}, "
            f"{significance}. Its R2 of ln RV is {decimals(comparison.r2_log_rv, 3)} "
            f"(HAR {decimals(comparison.har_r2_log_rv, 3)})."
        ),
        *_against_vix(comparison),
        Paragraph(
            f"The best baseline there is {comparison.best_baseline} (QLIKE "
            f"{decimals(comparison.best_baseline_qlike)}); the chosen model "
            + ("beats it." if comparison.beats_best_baseline else "does not beat it.")
            + f" Lowest QLIKE of all: {_best(window.scores, window.models)}."
        ),
    ]
    long = _windows(evaluation).get("without_vix")
    if long:
        best = _best(long.scores, long.models)
        blocks.append(
            Paragraph(
                f"Over the longer history without VIX ({thousands(long.dates)} dates, "
                f"{date_range(long.first_date, long.last_date)}), HAR's R2 of ln RV is "
                f"{decimals(long.scores['har'].r2_log_rv, 3)} and the lowest QLIKE is "
                f"{best}'s ({decimals(long.scores[best].qlike)})."
            )
        )
    returns = evaluation.returns
    if returns:
        blocks.append(Paragraph(_returns_verdict(evaluation)))
    origin = origin_sentence(evaluation.data.get("sources"), "market history")
    if origin:
        blocks.append(Paragraph(origin))
    return blocks


def _against_vix(comparison: Comparison) -> list[Block]:
    if comparison.vix_qlike is None:
        return []
    verdict = "beats" if comparison.beats_vix else "does not beat"
    return [
        Paragraph(
            f"Against VIX/100 as the forecast (QLIKE {decimals(comparison.vix_qlike)}) the "
            f"chosen model's ratio is {decimals(comparison.qlike_ratio_to_vix, 3)}: it "
            f"{verdict} the option market's own forecast."
        )
    ]


def _returns_verdict(evaluation: VolatilityEvaluationFile) -> str:
    """Whether the 21-day return is predictable here, said plainly."""
    scores = evaluation.returns.scores
    r2, ridge_r2 = (
        scores[name].r2_vs_historical_mean if name in scores else None
        for name in (RESTRICTED_RETURN, RETURN_FAMILY)
    )
    restriction = evaluation.model.get("return_restriction") or {}
    shrinkage = restriction.get("shrinkage")
    if r2 is None:
        verdict = "their R2 is not available"
    elif r2 <= 0:
        verdict = "returns are not predictable beyond the historical mean here"
    elif r2 < 0.01:
        verdict = (
            "the restriction makes the forecast no worse than the historical mean, but an "
            "edge of under 1% of the variance is too small to call returns predictable here"
        )
    else:
        verdict = (
            "returns are somewhat predictable beyond the historical mean here, by a small "
            "margin (Campbell and Thompson find a monthly R2 of 0.5% already economically "
            "meaningful)"
        )
    shrunk = (
        ""
        if shrinkage is None
        else f" (shrinkage {decimals(shrinkage, 2)} toward the mean, chosen on validation "
        "folds; 0 is the historical mean itself)"
    )
    return (
        f"Returns: the restricted forecast{shrunk} has an out-of-sample R2 against the "
        f"historical mean of {decimals(r2, 3)}, the unrestricted ridge "
        f"{decimals(ridge_r2, 3)}: {verdict}."
    )


def _data_and_origin(evaluation: VolatilityEvaluationFile) -> list[Block]:
    data = evaluation.data
    blocks = source_blocks(data.get("sources"), "market history")
    vix_days = (data.get("cleaning") or {}).get("rows_with_vix")
    summary = data.get("summary") or {}
    blocks.append(
        Paragraph(
            f"The cleaned table (market_features) holds {thousands(data['rows'])} trading days, "
            f"{date_range(data['first_date'], data['last_date'])}; "
            f"{thousands(summary.get('rows_with_vix', vix_days))} of them have a VIX close."
        )
    )
    cleaning = data.get("cleaning")
    if cleaning:
        steps = [
            ("rows read", cleaning["rows_in"]),
            ("dropped: no date", cleaning["rows_missing_date"]),
            ("dropped: exact duplicates", cleaning["duplicate_rows"]),
            ("dropped: repeated date, differing values (last kept)",
             cleaning["conflicting_duplicates"]),
            ("dropped: no S&P 500 close (macro-only dates)", cleaning["rows_without_close"]),
            ("trading days out", cleaning["rows_out"]),
            ("with VIX (VRP, VIX/RV21)", cleaning["rows_with_vix"]),
            ("with both targets (21 days ahead known)", cleaning["rows_with_targets"]),
        ]  # fmt: skip
        blocks.append(steps_table(steps, "Cleaning, step by step"))
        lags = cleaning.get("macro_available_after_months") or {}
        if lags:
            blocks.append(
                Paragraph(
                    "Macro series are used only once published: a value dated by the start "
                    "of the period it describes is first used this many months later: "
                    + ", ".join(f"{name} {lags[name]}" for name in sorted(lags))
                    + " (the period's length plus the release lag; 0 for a daily series)."
                )
            )
    return blocks


def _statistics(evaluation: VolatilityEvaluationFile, plots_dir: Path) -> list[Block]:
    summary = evaluation.data.get("summary")
    if not summary:
        return [Paragraph("The evaluation records no summary of the cleaned data.")]
    columns = {"rows": "trading days", "rows_with_vix": "with VIX",
               "rows_with_targets": "with targets"}  # fmt: skip
    by_year = Table(
        ("year", *columns.values()),
        tuple(
            (year, *(thousands(summary["by_year"][year][k]) for k in columns))
            for year in sorted(summary["by_year"])
        ),
        caption="Trading days by year (with targets: the next 21 days are in the data)",
        numeric=frozenset(columns.values()),
    )
    distributions = {
        "daily log return": summary["daily_log_return"],
        "21-day log return": summary["return_21"],
        "RV21 (annualized)": summary["rv_21"],
        "VIX / 100": summary["vix"],
        "VRP = (VIX/100)^2 - RV21^2": summary["vrp"],
    }
    daily = summary["daily_log_return"]
    correlation = summary["vix_rv_correlation"]
    return [
        by_year,
        distribution_table(distributions, DISTRIBUTION_STATS, "Distributions (decimals)"),
        Paragraph(
            f"Daily log returns: skewness {decimals(daily.get('skew'), 2)}, excess kurtosis "
            f"{decimals(daily.get('excess_kurtosis'), 2)} (fat tails), annualized mean "
            f"{decimals(daily.get('annualized_mean'), 4)} and volatility "
            f"{decimals(daily.get('annualized_vol'), 4)}. The VRP is positive on "
            f"{percent(summary['vrp'].get('share_positive'))} of the days with VIX."
        ),
        Table(
            ("pair", "rows", "correlation"),
            (
                (
                    "VIX/100 and RV21 (same day)",
                    thousands(correlation["rows"]),
                    decimals(correlation["vix_vs_rv21"], 3),
                ),
                (
                    "VIX/100 and RV21 of the next 21 days",
                    thousands(correlation["rows_ahead"]),
                    decimals(correlation["vix_vs_rv21_ahead"], 3),
                ),
                (
                    "ln VIX/100 and ln RV21 of the next 21 days",
                    thousands(correlation["rows_ahead"]),
                    decimals(correlation["log_vix_vs_log_rv21_ahead"], 3),
                ),
            ),  # fmt: skip
            caption="VIX against realized volatility (Pearson correlation)",
            numeric=frozenset({"rows", "correlation"}),
        ),
        *missing_values_blocks(summary["missing_values"], summary["rows"], "cleaned table"),
        _figure(plots_dir, "data_distributions", "Returns, RV21, and VIX against future RV21"),
    ]


def _task_and_no_leakage(evaluation: VolatilityEvaluationFile) -> list[Block]:
    model = evaluation.model
    horizon = model.get("horizon_days") or 21
    return [
        Paragraph(
            f"At the close of day t, forecast the S&P 500's realized volatility over the next "
            f"{horizon} trading days, RV = sqrt(252/{horizon} * sum of r^2 over t+1..t+{horizon}), "
            f"and its log return over the same days."
        ),
        Paragraph(
            "The no-leakage rule: every feature at t uses data up to t only (returns, "
            "realized and range-based volatility, VIX, the variance risk premium, macro "
            "series as published by t); a model refitted at a date uses only rows whose "
            f"{horizon}-day target was already realized then; every model of a window is "
            "scored on the same dates. Checks of the pipeline recompute features from the rows "
            "up to each day and refuse target columns among the inputs."
        ),
        Paragraph("Features: " + ", ".join(model.get("feature_columns") or ()) + "."),
    ]


def _walk_forward(evaluation: VolatilityEvaluationFile) -> list[Block]:
    walk = evaluation.walk_forward
    config = evaluation.model.get("selection_config") or {}
    windows = _windows(evaluation)
    rows = tuple(
        (name, w.first_date, w.last_date, thousands(w.dates), ", ".join(w.models))
        for name, w in windows.items()
    )
    return [
        Paragraph(
            f"Expanding window, refitted on the first trading day of each month: "
            f"{thousands(walk.refits)} refits from {walk.first_refit} to {walk.last_refit}"
            f" ({decimals(walk.seconds, 1)} s). A model starts once it has "
            f"{config.get('min_train_rows', 'n/a')} rows with realized targets; "
            f"GARCH fits that did not converge: {walk.garch_fits_not_converged}."
        ),
        Table(
            ("window", "first date", "last date", "dates", "models"),
            rows,
            caption="Evaluation windows (each scores its models on the same dates)",
            numeric=frozenset({"dates"}),
        ),
        Bullets(tuple(f"{name}: {_window_label(evaluation, name)}" for name in windows)),
        Table(
            ("model", "fits"),
            tuple((m, thousands(walk.fits[m])) for m in _model_order(evaluation) if m in walk.fits),
            caption="Fits per model over the walk-forward",
            numeric=frozenset({"fits"}),
        ),
        *_adaptive(evaluation),
    ]


def _adaptive(evaluation: VolatilityEvaluationFile) -> list[Block]:
    adaptive = evaluation.adaptive
    if adaptive is None:
        return []
    latest = adaptive.latest
    choices = ", ".join(
        f"{name} {thousands(n)}"
        for name, n in sorted(adaptive.choices.items(), key=lambda item: (-item[1], item[0]))
    )
    weights = tuple(
        (m, decimals(w, 3), decimals(latest.discounted_qlike.get(m), 4))
        for m, w in sorted(latest.weights.items(), key=lambda item: (-item[1], item[0]))
    )
    return [
        Paragraph(
            f"Choice and weights at each refit, from past out-of-sample losses only: "
            f"{adaptive.rule}. Settings: {_settings(adaptive.config)}. Choices over the "
            f"refits: {choices}. Served now (after the last refit): {latest.chosen}"
            + (
                f" (Diebold-Mariano p {decimals(latest.p_value, 3)} against the combination)."
                if latest.p_value is not None
                else "."
            )
        ),  # fmt: skip
        Table(
            ("member", "weight", "discounted QLIKE"),
            weights,
            caption="The combination's weights after the last refit",
            numeric=frozenset({"weight", "discounted QLIKE"}),
        ),
    ]


def _models_and_hyperparameters(evaluation: VolatilityEvaluationFile) -> list[Block]:
    models = evaluation.models
    blocks: list[Block] = [
        Table(
            ("model", "kind", "hyperparameters", "uses VIX", "description"),
            tuple(
                (
                    name,
                    models[name].kind,
                    _settings(models[name].hyperparameters),
                    "yes" if models[name].needs_vix else "no",
                    models[name].description,
                )
                for name in _model_order(evaluation)
            ),  # fmt: skip
            caption=f"Models and baselines (chosen: {evaluation.chosen_model})",
        )
    ]
    model = evaluation.model
    config = model.get("selection_config") or {}
    selections = model.get("selection") or {}
    for family, selection in sorted(selections.items()):
        scores = selection["validation_mse"]
        blocks.append(
            Table(
                ("candidate", "validation MSE", "chosen"),
                tuple(
                    (c, decimals(scores[c]), "yes" if c == selection["chosen"] else "")
                    for c in sorted(scores, key=_natural)
                ),
                caption=f"{family}: hyperparameters chosen on {selection['folds']} expanding "
                f"validation folds inside the first {config.get('min_train_rows', 'n/a')} rows",
                numeric=frozenset({"validation MSE"}),
            )
        )
    blocks += _candidate_blocks(model)
    fitted = model.get("fitted") or {}
    if fitted:
        blocks.append(
            key_value_table(
                [
                    (
                        role,
                        f"{f.get('name')} ({_settings(f.get('hyperparameters'))}), "
                        f"{thousands(f.get('training_rows'))} rows "
                        f"{date_range(*(f.get('training_window') or (None, None)))}",
                    )
                    for role, f in sorted(fitted.items())
                ],  # fmt: skip
                "The saved models, fitted on every usable row",
            )
        )
    return blocks


def _settings(value) -> str:
    """A model's hyperparameters as text: a combination's weights as ``member weight``."""
    if isinstance(value, dict):
        return ", ".join(
            f"{name} {w if isinstance(w, int) else decimals(w, 2)}"
            for name, w in sorted(value.items())
            if w
        )
    return str(value) if value else "-"


def _candidate_blocks(model: dict) -> list[Block]:
    """How the volatility model and the return restriction were chosen."""
    blocks: list[Block] = []
    candidates = model.get("candidates")
    if candidates:
        qlike, weights = candidates["validation_qlike"], candidates["combination_weights"]
        blocks.append(
            Table(
                ("candidate", "validation QLIKE", "prior"),
                tuple(
                    (name, decimals(value), "yes" if name == candidates["chosen"] else "")
                    for name, value in sorted(qlike.items(), key=lambda item: item[1])
                ),
                caption=f"The walk-forward's prior, chosen on {len(candidates['folds'])} "
                "validation folds of the first window common to every candidate (the "
                f"combination's QLIKE cross-validated; its weights: {_settings(weights)}); it "
                "holds until members have a year of out-of-sample losses",
                numeric=frozenset({"validation QLIKE"}),
            )
        )
    restriction = model.get("return_restriction")
    if restriction:
        r2 = restriction["validation_r2_vs_historical_mean"]
        blocks.append(
            Table(
                ("shrinkage", "validation R2 vs historical mean", "chosen"),
                tuple(
                    (
                        key,
                        decimals(value, 3),
                        "yes" if float(key) == restriction["shrinkage"] else "",
                    )
                    for key, value in sorted(r2.items(), key=lambda item: float(item[0]))
                ),
                caption="The return forecast's shrinkage toward the historical mean (floored "
                f"at {decimals(restriction['floor'], 2)}), chosen on validation folds",
                numeric=frozenset({"validation R2 vs historical mean"}),
            )
        )
    return blocks


def _scores_table(window: Window, caption: str) -> Table:
    tests = window.qlike_vs_har_diebold_mariano
    columns = tuple(label for _, label, _ in SCORES)
    rows = tuple(
        (
            m,
            *(decimals(getattr(window.scores[m], key), digits) for key, _, digits in SCORES),
            decimals(tests[m].p_value if m in tests else None, 3) if m != "har" else "-",
        )
        for m in window.models
    )
    return Table(("model", *columns, "DM p vs HAR"), rows, caption=caption,
                 numeric=frozenset({*columns, "DM p vs HAR"}))  # fmt: skip


def _by_year_table(window: Window, caption: str) -> Table:
    years = sorted({y for by_year in window.qlike_by_year.values() for y in by_year})
    models = window.models
    rows = tuple(
        (year, thousands(window.rows_by_year.get(year)),
         *(decimals(window.qlike_by_year.get(m, {}).get(year)) for m in models))
        for year in years
    )  # fmt: skip
    return Table(("year", "dates", *models), rows, caption=caption,
                 numeric=frozenset({"dates", *models}))  # fmt: skip


def _volatility_results(evaluation: VolatilityEvaluationFile, plots_dir: Path) -> list[Block]:
    blocks: list[Block] = [
        Paragraph(
            "R2 ln RV: out-of-sample R2 of the log of realized volatility; RMSE and MAE of "
            "volatility (annualized decimals); QLIKE: Patton's (2011) robust loss on "
            "variance, RV^2/h - ln(RV^2/h) - 1, lower is better; DM p: two-sided "
            "Diebold-Mariano p-value of equal QLIKE with HAR."
        )
    ]
    for name, window in _windows(evaluation).items():
        span = date_range(window.first_date, window.last_date)
        blocks.append(
            _scores_table(window, f"Window {name}: {_window_label(evaluation, name)} ({span})")
        )
        blocks.append(_by_year_table(window, f"Window {name}: QLIKE by year"))
    blocks.extend(_episodes(evaluation))
    blocks.extend(_yearly_tests(evaluation))
    blocks.append(_figure(plots_dir, "forecast_vs_realized", "Forecasts against realized RV21"))
    blocks.append(_figure(plots_dir, "qlike_by_year", "QLIKE by year, window all_models"))
    if "without_vix" in _windows(evaluation):
        blocks.append(
            _figure(plots_dir, "qlike_by_year_without_vix", "QLIKE by year, window without_vix")
        )
    return blocks


def _episodes(evaluation: VolatilityEvaluationFile) -> list[Block]:
    episodes = evaluation.episodes
    if not episodes:
        return [Paragraph("No named stress episode lies inside the evaluated dates.")]
    chosen = evaluation.chosen_model
    shown = [m for m in (chosen, "har", "har_x", "garch", "vix") if m in evaluation.models]
    rows = []
    for name, episode in episodes.items():
        models = [m for m in shown if m in episode.qlike]
        for m in models:
            lag = episode.response_lag_days[m]
            rows.append((name, episode.window, thousands(episode.dates),
                         decimals(episode.realized_peak_vol, 3), m,
                         decimals(episode.qlike[m], 3),
                         "not reached" if lag is None else thousands(lag)))  # fmt: skip
    return [
        Table(
            ("episode", "window", "dates", "realized peak", "model", "QLIKE", "response lag"),
            tuple(rows),
            caption="Named stress episodes: mean QLIKE over the forecasts made in each, and "
            "the trading days until the forecast reached half the episode's realized peak",
            numeric=frozenset({"dates", "realized peak", "QLIKE", "response lag"}),
        )
    ]


def _yearly_tests(evaluation: VolatilityEvaluationFile) -> list[Block]:
    chosen = evaluation.chosen_model
    window = evaluation.volatility["all_models"]
    tests = window.diebold_mariano_by_year.get(chosen)
    if not tests:
        return []
    comparison = evaluation.comparison
    worst = comparison.worst_years

    def cell(test: Test | None) -> str:
        if test is None or test.p_value is None:
            return "n/a"
        return f"{decimals(test.statistic, 2)} (p {decimals(test.p_value, 3)})"

    rows = tuple(
        (year, cell(t.get("vs_har")), cell(t.get("vs_vix"))) for year, t in sorted(tests.items())
    )
    return [
        Table(
            ("year", "DM vs HAR", "DM vs VIX"),
            rows,
            caption=f"{chosen}: Diebold-Mariano statistic of its QLIKE against HAR's and "
            "VIX's by calendar year (negative: lower loss than the baseline)",
        ),
        Paragraph(
            f"Worst calendar year against HAR: {worst.get('worst_year_ratio_to_har', 'n/a')} "
            f"(QLIKE ratio {decimals(comparison.worst_year_ratio_to_har, 3)}); against "
            f"VIX: {worst.get('worst_year_ratio_to_vix', 'n/a')} (ratio "
            f"{decimals(comparison.worst_year_ratio_to_vix, 3)})."
        ),
    ]


def _timing(evaluation: VolatilityEvaluationFile) -> list[Block]:
    timing = evaluation.return_timing
    if timing is None:
        return [Paragraph("Too few months with a return forecast to value it as a portfolio.")]
    ours, theirs = timing.portfolios[timing.model], timing.portfolios[timing.benchmark]
    verdict = "adds" if timing.gains else "loses"
    return [
        Paragraph(
            f"Economic value (Campbell & Thompson 2008): a mean-variance investor with risk "
            f"aversion {decimals(timing.risk_aversion, 0)} rebalanced on "
            f"{thousands(timing.months)} refit days "
            f"({date_range(timing.first_date, timing.last_date)}), weight in the index "
            f"forecast / (gamma x {timing.variance_forecast}'s variance forecast), "
            f"between 0 and {decimals(timing.weight_bounds[1], 1)}. With {timing.model} "
            f"the certainty equivalent is {percent(ours.certainty_equivalent)} a year, "
            f"with {timing.benchmark} {percent(theirs.certainty_equivalent)}: the "
            f"forecast {verdict} {percent(abs(timing.certainty_equivalent_gain))} a year."
        )
    ]


def _return_results(evaluation: VolatilityEvaluationFile, plots_dir: Path) -> list[Block]:
    returns = evaluation.returns
    if returns is None:
        return [Paragraph("No date has a return forecast of every model.")]
    columns = tuple(label for _, label, _ in RETURN_SCORES)
    rows = tuple(
        (m, *(decimals(getattr(returns.scores[m], key), d) for key, _, d in RETURN_SCORES))
        for m in returns.models
    )
    return [
        Paragraph(
            f"{thousands(returns.dates)} dates, "
            f"{date_range(returns.first_date, returns.last_date)}; mean realized 21-day "
            f"log return {decimals(returns.mean_realized_return)}, positive on "
            f"{percent(returns.share_positive)} of them. R2 against the historical mean "
            "is Campbell and Thompson's (2008): above 0 means the model beats the mean."
        ),
        Table(
            ("model", *columns),
            rows,
            caption="21-day log return forecasts",
            numeric=frozenset(columns),
        ),  # fmt: skip
        *_timing(evaluation),
        _figure(plots_dir, "return_scatter", "Forecast against realized 21-day returns"),
    ]


def _wins_and_losses(evaluation: VolatilityEvaluationFile) -> list[Block]:
    chosen = evaluation.chosen_model
    kinds = {name: m.kind for name, m in evaluation.models.items()}
    rows, chosen_lines = [], []
    for name, window in _windows(evaluation).items():
        scores, by_year = window.scores, window.qlike_by_year
        baselines = [m for m in window.models if kinds.get(m) == "baseline"]
        for model in (m for m in window.models if kinds.get(m) == "model"):
            for baseline in baselines:
                ours, theirs = by_year.get(model, {}), by_year.get(baseline, {})
                years = sorted(y for y in set(ours) & set(theirs)
                               if ours[y] is not None and theirs[y] is not None)  # fmt: skip
                lost = [y for y in years if ours[y] >= theirs[y]]
                if scores[model].qlike is None or not scores[baseline].qlike:
                    continue
                ratio = scores[model].qlike / scores[baseline].qlike
                rows.append(
                    (name, model, baseline, decimals(scores[model].qlike),
                     decimals(scores[baseline].qlike), decimals(ratio, 3),
                     f"{len(lost)} of {len(years)}")
                )  # fmt: skip
                if model == chosen and name == "all_models":
                    outcome = "wins" if ratio < 1 else "loses"
                    chosen_lines.append(
                        f"against {baseline}: {outcome} overall (QLIKE ratio "
                        f"{decimals(ratio, 3)}); loses in {len(lost)} of {len(years)} years"
                        + (f" ({', '.join(lost)})" if lost else "")
                    )
    return [
        Paragraph(f"The chosen model, {chosen}, on window all_models (QLIKE, year by year):"),
        Bullets(tuple(chosen_lines)),
        Table(
            ("window", "model", "baseline", "QLIKE model", "QLIKE baseline", "ratio", "years lost"),
            tuple(rows),
            caption="Every model against every baseline of its window (ratio below 1: the "
            "model wins; years lost: years with an equal or higher mean QLIKE)",
            numeric=frozenset({"QLIKE model", "QLIKE baseline", "ratio", "years lost"}),
        ),  # fmt: skip
    ]
