"""``metrics/volatility_evaluation.json``, the volatility evaluation document, as a typed
file at format :attr:`VolatilityEvaluationFile.FORMAT`.

:func:`~optvol.core.volatility.evaluation.evaluate_volatility` builds it; the report, the
plots, the API, the dashboard, the predictor and the asset's metadata read it through
these fields.

Typed to the leaf: the scored windows, the comparison with the baselines, the episodes,
the return scores and their timing value, the adaptive choice, the models' descriptions and
the walk-forward's counts. Kept as documented mappings, checked to be JSON objects only:
``data`` (the market file's sources, cleaning and summary, whose entries follow its
columns), ``model`` (a copy of the model card, typed in
:mod:`optvol.core.volatility.card`), the adaptive rule's settings, and ``series``: one list
per model over every scored date, which a reader turns into a table as a whole (typing
each list as numbers or null would add nothing but a slower read of the largest part).
"""

from __future__ import annotations

from typing import Any

from optvol.core.common.versioned_json import Real, Section, VersionedFile

Number = Real | None  # None where a statistic is not defined (a constant series, no rows)


class Test(Section):
    """A Diebold-Mariano test: its statistic and p-value."""

    statistic: Number
    p_value: Number


class VolatilityScores(Section):
    """One model's scores over a window's rows."""

    rows: int
    r2_log_rv: Number
    r2_vol: Number
    rmse_vol: Number
    mae_vol: Number
    qlike: Number
    mean_forecast_vol: Number


class Episode(Section):
    """Every model's QLIKE over a named stress episode and how fast it followed the peak."""

    first_date: str
    last_date: str
    dates: int
    realized_peak_vol: Number
    qlike: dict[str, Number]
    response_lag_days: dict[str, int | None]
    window: str | None = None  # set in the document's ``episodes``, which names its window


class Window(Section):
    """The scores of the models that all have a forecast on the same dates."""

    first_date: str
    last_date: str
    dates: int
    models: list[str]
    mean_realized_vol: Number
    scores: dict[str, VolatilityScores]
    qlike_by_year: dict[str, dict[str, Number]]
    rows_by_year: dict[str, int]
    qlike_vs_har_diebold_mariano: dict[str, Test]
    diebold_mariano_by_year: dict[str, dict[str, dict[str, Test]]]
    episodes: dict[str, Episode]


class Comparison(Section):
    """The chosen model's QLIKE, RMSE and R^2 against HAR's, VIX's (where the window has
    VIX) and the best other baseline's, and its worst calendar year against each."""

    chosen_model: str
    qlike: Number
    har_qlike: Number
    qlike_ratio_to_har: Number
    rmse_ratio_to_har: Number
    r2_log_rv: Number
    har_r2_log_rv: Number
    beats_har: bool
    har_diebold_mariano_p_value: Number
    vix_qlike: Number = None
    qlike_ratio_to_vix: Number = None
    beats_vix: bool | None = None
    best_baseline: str
    best_baseline_qlike: Number
    qlike_ratio_to_best_baseline: Number
    beats_best_baseline: bool
    worst_year_ratio_to_har: Number = None
    worst_year_ratio_to_vix: Number = None
    worst_years: dict[str, str | None]


class ReturnScores(Section):
    rows: int
    r2_vs_historical_mean: Number
    rmse: Number
    hit_rate: Number
    mean_forecast: Number


class Returns(Section):
    """The return forecasts against the realized 21-day return."""

    first_date: str
    last_date: str
    dates: int
    models: list[str]
    mean_realized_return: Number
    share_positive: Number
    scores: dict[str, ReturnScores]


class Portfolio(Section):
    annual_return: Number
    annual_volatility: Number
    certainty_equivalent: Number
    mean_weight: Number


class ReturnTiming(Section):
    """The certainty-equivalent value of timing the market with the return forecast."""

    model: str
    benchmark: str
    variance_forecast: str
    risk_aversion: Real
    weight_bounds: list[Real]
    first_date: str
    last_date: str
    months: int
    portfolios: dict[str, Portfolio]
    certainty_equivalent_gain: Number
    gains: bool


class ModelEntry(Section):
    kind: str  # "model" or "baseline"
    description: str
    needs_vix: bool
    hyperparameters: Any  # a setting's name, a model's weights or the rule's settings


class ServedModel(Section):
    name: str
    combination_weights: dict[str, Real]


class Choice(Section):
    """The adaptive rule's choice and weights at one refit."""

    date: str
    chosen: str
    weights: dict[str, Real]


class LatestChoice(Choice):
    history_days: int
    discounted_qlike: dict[str, Number]
    p_value: Number


class Adaptive(Section):
    rule: str
    config: dict[str, Any] | None
    latest: LatestChoice
    choices: dict[str, int]
    refits: list[Choice]


class WalkForwardRecord(Section):
    refits: int
    first_refit: str
    last_refit: str
    fits: dict[str, int]
    garch_fits_not_converged: int
    seconds: Real
    seconds_by_model: dict[str, Real]


class Series(Section):
    """``date`` and one list per model over the scored dates (see the module)."""

    volatility: dict[str, list[Any]]
    returns: dict[str, list[Any]]


class VolatilityEvaluationFile(VersionedFile):
    """The volatility evaluation document (``metrics/volatility_evaluation.json``)."""

    # 1: the first typed version.
    FORMAT = 1
    KIND = "volatility evaluation"
    MADE_BY = "volatility_evaluation"

    chosen_model: str
    served_model: ServedModel
    adaptive: Adaptive | None
    models: dict[str, ModelEntry]
    data: dict[str, Any]
    model: dict[str, Any]
    walk_forward: WalkForwardRecord
    volatility: dict[str, Window]  # "all_models", and "without_vix" when it has dates
    episodes: dict[str, Episode]
    comparison: Comparison
    returns: Returns | None
    return_timing: ReturnTiming | None
    series: Series
