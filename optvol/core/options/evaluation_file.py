"""``metrics/evaluation.json``, the option evaluation document, as a typed file at format
:attr:`OptionEvaluationFile.FORMAT`.

:func:`~optvol.core.options.evaluation.score_out_of_sample` builds it; the report, the
plots, the API, the dashboard and the asset's metadata read it through these fields.

Typed to the leaf: the scores (overall, by call/put, by bucket, by date), the comparison
with the baselines, the walk-forward's blocks, the hedging gains and the implied-vol
dynamics, which readers look up field by field. Kept as documented mappings, checked to
be JSON objects only: ``data`` (sources, cleaning and summary of the clean quotes, whose
entries follow the input files and the table's columns), ``model`` and ``fitted_baselines``
(copies of the GRU's card, typed in :mod:`optvol.core.options.gru.card`) and a refit's
``fitted_baselines``: the report prints them as they are, so typing them twice would only
give two definitions to keep in step.
"""

from __future__ import annotations

from typing import Any

from optvol.core.common.versioned_json import Real, Section, VersionedFile

# A fit's statistic is None where it has too few points.
Number = Real | None


class PriceErrors(Section):
    """One model's price errors on a set of rows (None where the set is empty)."""

    rows: int
    rmse: Number
    mae: Number
    rmse_over_strike: Number
    median_ape_pct: Number
    rows_ape: int


class BucketScores(Section):
    """Every model's price errors in one moneyness x days-to-expiry bucket."""

    moneyness: str
    dte: str
    rows: int
    metrics: dict[str, PriceErrors]


class DailyErrors(Section):
    """Every model's RMSE of each test date, in date order."""

    date: list[str]
    rmse: dict[str, list[Number]]


class OutOfSampleScores(Section):
    """Every model's price errors on the out-of-sample rows: overall, by call/put, by
    bucket and by date (:func:`~optvol.core.options.metrics.evaluate_models`)."""

    rows: int
    models: list[str]
    first_date: str | None
    last_date: str | None
    dates: int
    overall: dict[str, PriceErrors]
    by_type: dict[str, dict[str, PriceErrors]]
    by_bucket: list[BucketScores]
    by_date: DailyErrors


class Comparison(Section):
    """The GRU's RMSE against the practitioner's and the best baseline's, with day-block
    bootstrap intervals at ``interval_level`` and Diebold-Mariano tests."""

    best_baseline: str
    gru_rmse: Number
    best_baseline_rmse: Number
    rmse_ratio_to_best_baseline: Number
    rmse_ratio_to_best_baseline_interval: list[Number] | None
    dm_p_value_vs_best_baseline: Number
    dm_statistic_vs_best_baseline: Number
    gru_beats_best_baseline: bool
    practitioner_baseline: str
    rmse_ratio_to_practitioner: Number
    rmse_ratio_to_practitioner_interval: list[Number] | None
    dm_p_value_vs_practitioner: Number
    dm_statistic_vs_practitioner: Number
    rmse_ratio_by_baseline: dict[str, Number]
    interval_level: Real
    test_days: int


class RefitSplit(Section):
    """The first and last date of each part of a walk-forward block."""

    train: list[str]
    validation: list[str]
    test: list[str]


class Refit(Section):
    """One block of the walk-forward: its dates, sample counts and what the fit chose.
    The one block of ``evaluation="split"`` is the saved model's own fit, whose counts and
    training figures are on its card: it records its dates and choices only."""

    refit: int
    split_dates: RefitSplit
    anchor: dict[str, Any]
    shrinkage: Number
    fitted_baselines: dict[str, Any]
    # The share the validation blocks chose before the evidence test (absent in files
    # written before it).
    shrinkage_candidate: Number = None
    train_samples: int | None = None
    test_samples: int | None = None
    carry_shrinkage: Real | None = None
    business_time: Real | None = None  # absent in files written before it
    correction_bound: Number = None
    best_epoch: int | None = None
    epochs_run: int | None = None
    seconds: Real | None = None


class WalkForwardRecord(Section):
    """The out-of-sample span and its blocks (one block with ``evaluation="split"``)."""

    test_days: int
    refits: int
    first_test_date: str
    last_test_date: str
    test_rows: int
    by_refit: list[Refit]


class HedgeBucket(Section):
    type: str
    abs_delta: list[Real]
    pairs: int
    gain_vs_bs_delta: dict[str, Number]


class Hedging(Section):
    """The one-day hedging gains over the Black-Scholes delta, overall and by bucket."""

    pairs: int
    reference: str
    deltas: list[str]
    gain_vs_bs_delta: dict[str, Number]
    by_bucket: list[HedgeBucket]


class Regression(Section):
    """The least-squares fit of implied-vol changes on returns."""

    slope: Number
    intercept: Number
    r2: Number
    residual_sd: Number
    n: int


class BucketRegression(Regression):
    moneyness: str
    dte: str


class Dynamics(Section):
    """How implied vols moved with the underlying on the evaluated data."""

    days: int
    pairs: int
    near_money_band: dict[str, Real]
    near_money: Regression
    all_pairs_over_7_days: Regression
    buckets: list[BucketRegression]
    fixed_moneyness_30d: dict[str, Regression]
    skew_change_on_return: Regression
    atm_change_autocorrelation: Number
    median_relative_spread: Number
    near_money_relative_spread: Number
    daily_return_sd: Number


class OptionEvaluationFile(VersionedFile, OutOfSampleScores):
    """The option evaluation document (``metrics/evaluation.json``)."""

    # 1: the first typed version.
    FORMAT = 1
    KIND = "option evaluation"
    MADE_BY = "option_evaluation"

    evaluation: str  # "walk_forward" or "split"
    comparison: Comparison
    walk_forward: WalkForwardRecord
    hedging: Hedging
    dynamics: Dynamics
    test_calendar_dates: list[str]
    split_dates: dict[str, list[str]]
    data_fingerprint: str
    fitted_baselines: dict[str, Any]
    model_descriptions: dict[str, str]
    data: dict[str, Any]
    model: dict[str, Any]
