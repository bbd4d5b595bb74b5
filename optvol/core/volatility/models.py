"""Forecasting models of the volatility task: design matrix, scikit-learn models, HAR.

Volatility models regress ``ln RV21_{t+1..t+21}`` on features known at t and turn the log
forecast back into volatility and variance with Duan's (1983, JASA 78(383)) smearing
estimator, so that the forecast is of the mean, not the median:
``E[RV] = exp(f) * mean(exp(e_i))`` and ``E[RV^2] = exp(2 f) * mean(exp(2 e_i))`` over the
training residuals ``e_i``. The return model regresses the 21-day log return directly.

A model uses the rows on which all of its inputs exist; a design column that is missing
everywhere (a file without VIX, say) is left out of the model instead.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from optvol.core.volatility.features import (
    HORIZON,
    RANGE_WINDOW,
    RQ_RATIO,
    TARGET_RETURN,
    TARGET_RV,
    macro_change_column,
)

if TYPE_CHECKING:
    from sklearn.base import RegressorMixin

log = logging.getLogger(__name__)

# Volatilities are floored here (annualised) before taking logs: a day with no price
# change would otherwise give ln 0. About 0.006% a day, below nearly every real move.
VOL_FLOOR = 1e-3
LOG_VOL_SOURCES = {
    "log_rv_1": "rv_1",
    "log_rv_5": "rv_5",
    "log_rv_21": "rv_21",
    "log_rv_22": "rv_22",
    "log_rv_63": "rv_63",
    "log_parkinson_21": f"parkinson_{RANGE_WINDOW}",
    "log_garman_klass_21": f"garman_klass_{RANGE_WINDOW}",
    "log_vix": "vix_close",
    "log_vix_rv_ratio": "vix_rv_ratio",
}
PLAIN_SOURCES = ("vrp", "return_5", "return_21")
HAR_COLUMNS = ("log_rv_1", "log_rv_5", "log_rv_22")
VIX_COLUMNS = ("log_vix", "vrp", "log_vix_rv_ratio")
# HAR-X: HAR plus the log of VIX (Bekaert & Hoerova 2014): ln VIX^2 = 2 ln VIX, so the
# regression on ln VIX is the one on ln VIX^2.
HAR_X_COLUMNS = (*HAR_COLUMNS, "log_vix")
# HARQ-style: the monthly lag's weight moves with its measurement error (Bollerslev,
# Patton & Quaedvlieg 2016); see features.quarticity_ratio. Only the HARQ model reads this column.
HARQ_TERM = "log_rv_22_x_rq"
HARQ_COLUMNS = (*HAR_X_COLUMNS, HARQ_TERM)
# LHAR (Corsi & Renò 2012, JBES 30(3)): the negative parts of the mean daily return over
# the last day, week and month, min(r^(h), 0) with r^(h) = (1/h) ln(C_t / C_{t-h}): a fall
# raises future volatility more than a rise of the same size lowers it, and persistently.
LEVERAGE_TERMS = ("negative_return_1", "negative_return_5", "negative_return_21")
LHAR_X_COLUMNS = (*HAR_X_COLUMNS, *LEVERAGE_TERMS)
# Terms only the HAR-type models read: the regressions on every feature keep their inputs.
MODEL_SPECIFIC_TERMS = (HARQ_TERM, *LEVERAGE_TERMS)


# Rows with every non-VIX input but no VIX that make the no-VIX variants worth fitting:
# three months.
NO_VIX_MIN_EXTRA_ROWS = 63


def single_threaded(function):
    """Run ``function`` with native thread pools (OpenMP, BLAS) limited to one thread.

    The models here fit a few thousand rows, where one thread is about as fast as many;
    and OpenMP threads that spin-wait for each other slow every fit many times over when
    other work shares the cores (a parallel Dagster step training the GRU, say).
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return function(*args, **kwargs)

    return wrapper


def design_matrix(frame: pd.DataFrame, macro: list[str]) -> pd.DataFrame:
    """Model inputs at each row, from the feature table: logs of every volatility (VIX in
    decimal), the VRP, the past 5- and 21-day returns, each macro series' yearly change,
    and the terms only the HAR-type models read (:data:`MODEL_SPECIFIC_TERMS`): HARQ's
    monthly lag times the quarticity ratio less one, and LHAR's leverage terms.

    Macro levels are left out: CPI-like levels trend, so a fitted weight on them would
    extrapolate out of sample.
    """
    out = {}
    for name, source in LOG_VOL_SOURCES.items():
        values = frame[source] / 100.0 if source == "vix_close" else frame[source]
        out[name] = np.log(values.clip(lower=VOL_FLOOR))
    for name in PLAIN_SOURCES:
        out[name] = frame[name]
    for column in macro:
        out[macro_change_column(column)] = frame[macro_change_column(column)]
    out[HARQ_TERM] = out["log_rv_22"] * (frame[RQ_RATIO] - 1.0)
    for name, (source, days) in zip(
        LEVERAGE_TERMS, (("log_return", 1), ("return_5", 5), ("return_21", HORIZON)), strict=True
    ):
        out[name] = (frame[source] / days).clip(upper=0.0)
    return pd.DataFrame(out, index=frame.index)


# Families with a single estimator, nothing to choose: family -> its label.
UNTUNED_FAMILIES = {"har": "ols", "har_qlike": "qlike"}


def candidate_estimators(family: str) -> dict[str, RegressorMixin]:
    """The hyperparameter grid of a model family, by label; chosen on validation folds."""
    # scikit-learn is imported here, not at module level, so that loading the Dagster code
    # location (in every step's process) does not pay for it.
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if family in ("ridge", "return_ridge"):
        alphas = (0.1, 1.0, 10.0, 100.0, 1000.0)
        if family == "return_ridge":
            alphas = (*alphas, 10000.0)
        return {f"alpha={a:g}": make_pipeline(StandardScaler(), Ridge(alpha=a)) for a in alphas}
    if family == "gbm":
        return {
            f"depth={d},leaf={leaf}": HistGradientBoostingRegressor(
                max_depth=d,
                min_samples_leaf=leaf,
                learning_rate=0.1,
                max_iter=100,
                l2_regularization=1.0,
                early_stopping=False,
                random_state=0,
            )  # fmt: skip
            for d in (2, 3)
            for leaf in (20, 60)
        }
    if family == "har":
        return {"ols": LinearRegression()}
    if family == "har_qlike":
        from optvol.core.volatility.qlike_regression import QlikeRegression

        return {"qlike": QlikeRegression()}
    raise ValueError(f"unknown model family {family!r}")


@dataclass(frozen=True)
class ModelSpec:
    """What a model forecasts and from which design columns."""

    name: str
    family: str
    target: str
    columns: tuple[str, ...]
    description: str

    @property
    def log_target(self) -> bool:
        return self.target == TARGET_RV


def model_specs(design: pd.DataFrame) -> dict[str, ModelSpec]:
    """The fitted models of the task. Columns missing on every row are left out.

    When VIX covers only part of the history (the embedded sample has it from 2014), the
    regressions on every feature can only train where it exists; ``ridge_no_vix`` and
    ``gbm_no_vix`` use the rest of the features over the whole history. They are added
    only when that history is at least three months (``NO_VIX_MIN_EXTRA_ROWS``) longer: a
    few days without a VIX close would buy them nothing but their fitting time.
    """
    present = tuple(
        c for c in design.columns if design[c].notna().any() and c not in MODEL_SPECIFIC_TERMS
    )
    absent = [c for c in design.columns if c not in present and c not in MODEL_SPECIFIC_TERMS]
    if absent:
        log.info("Design columns with no value on any row, left out of the models: %s", absent)
    without_vix = tuple(c for c in present if c not in VIX_COLUMNS)
    specs = {
        "har": ModelSpec("har", "har", TARGET_RV, HAR_COLUMNS,
                         "HAR-RV (Corsi 2009): OLS of ln RV21 ahead on ln RV 1, 5, 22 days"),
        **({
            "har_x": ModelSpec("har_x", "har", TARGET_RV, HAR_X_COLUMNS,
                               "HAR-X (Bekaert & Hoerova 2014): HAR-RV plus ln VIX"),
            "harq": ModelSpec("harq", "har", TARGET_RV, HARQ_COLUMNS,
                              "HARQ-X (after Bollerslev, Patton & Quaedvlieg 2016): HAR-X "
                              "whose monthly-lag weight moves with the month's realized "
                              "quarticity"),
            "lhar_x": ModelSpec("lhar_x", "har", TARGET_RV, LHAR_X_COLUMNS,
                                "LHAR-X (after Corsi & Renò 2012): HAR-X plus the negative "
                                "parts of the past day's, week's and month's returns"),
            "lhar_x_qlike": ModelSpec("lhar_x_qlike", "har_qlike", TARGET_RV, LHAR_X_COLUMNS,
                                      "LHAR-X fitted by minimising QLIKE (Patton 2011): a "
                                      "forecast of the conditional mean of variance"),
        } if "log_vix" in present else {}),
        "ridge": ModelSpec("ridge", "ridge", TARGET_RV, present,
                           "Ridge regression of ln RV21 ahead on every feature"),
        "gbm": ModelSpec("gbm", "gbm", TARGET_RV, present,
                         "Gradient-boosted trees of ln RV21 ahead on every feature"),
        "return_ridge": ModelSpec("return_ridge", "return_ridge", TARGET_RETURN, present,
                                  "Ridge regression of the 21-day log return on every feature"),
    }  # fmt: skip
    vix_rows = design[[c for c in VIX_COLUMNS if c in present]].notna().all(axis=1)
    other_rows = design[list(without_vix)].notna().all(axis=1)
    if without_vix != present and (other_rows & ~vix_rows).sum() >= NO_VIX_MIN_EXTRA_ROWS:
        for family in ("ridge", "gbm"):
            name = f"{family}_no_vix"
            described = specs[family].description.replace("every feature", "every non-VIX feature")
            specs[name] = ModelSpec(name, family, TARGET_RV, without_vix, described)
    return specs


def usable_rows(design: pd.DataFrame, target: pd.Series, spec: ModelSpec) -> np.ndarray:
    """Positions where every input of ``spec`` and the target exist."""
    ok = design[list(spec.columns)].notna().all(axis=1) & target.notna()
    if spec.log_target:
        ok &= target > 0
    return np.flatnonzero(ok.to_numpy())


@dataclass
class FittedModel:
    """A fitted estimator with its smearing factors (log-volatility models only)."""

    spec: ModelSpec
    estimator: RegressorMixin
    smear_vol: float = 1.0
    smear_var: float = 1.0
    training_rows: int = 0
    training_window: tuple[str, str] = ("", "")

    def predict(self, design: pd.DataFrame) -> pd.DataFrame:
        """Forecasts at each row of ``design``: ``vol`` and ``var`` (annualised, decimal)
        for a volatility model, ``return`` for the return model; NaN where an input is."""
        x = design[list(self.spec.columns)]
        ok = x.notna().all(axis=1).to_numpy()
        raw = np.full(len(x), np.nan)
        if ok.any():
            raw[ok] = self.estimator.predict(x.to_numpy()[ok])
        if not self.spec.log_target:
            return pd.DataFrame({"return": raw}, index=design.index)
        return pd.DataFrame(
            {"vol": np.exp(raw) * self.smear_vol, "var": np.exp(2 * raw) * self.smear_var},
            index=design.index,
        )


def fit_model(
    spec: ModelSpec,
    estimator: RegressorMixin,
    design: pd.DataFrame,
    target: pd.Series,
    rows: np.ndarray,
    dates: pd.Series | None = None,
) -> FittedModel:
    """Fit a clone of ``estimator`` on the positions ``rows``."""
    from sklearn.base import clone

    x = design[list(spec.columns)].to_numpy()[rows]
    y = target.to_numpy()[rows]
    if spec.log_target:
        y = np.log(y)
    fitted = clone(estimator).fit(x, y)
    model = FittedModel(spec, fitted, training_rows=len(rows))
    if spec.log_target:
        residuals = y - fitted.predict(x)
        model.smear_vol = float(np.mean(np.exp(residuals)))
        model.smear_var = float(np.mean(np.exp(2 * residuals)))
    if dates is not None and len(rows):
        model.training_window = (f"{dates.iloc[rows[0]]:%Y-%m-%d}",
                                 f"{dates.iloc[rows[-1]]:%Y-%m-%d}")  # fmt: skip
    return model


@dataclass
class Selection:
    """The outcome of choosing a model family's hyperparameters on validation folds."""

    family: str
    chosen: str
    scores: dict[str, float]
    folds: list[dict[str, str | int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"family": self.family, "chosen": self.chosen, "validation_mse": self.scores,
                "folds": self.folds}  # fmt: skip


def validation_folds(
    rows: np.ndarray, n_folds: int, embargo: int = HORIZON
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds over ``rows`` (positions in time order): the first half of
    the rows always trains; the second half is cut into ``n_folds`` blocks, and fold k
    validates on block k after training on everything before it. The last ``embargo``
    training positions before each validation block are dropped, since their 21-day
    targets overlap it."""
    initial = len(rows) // 2
    blocks = np.array_split(rows[initial:], n_folds)
    folds = []
    for block in blocks:
        if not len(block):
            continue
        train = rows[rows < block[0] - embargo]
        if len(train):
            folds.append((train, block))
    return folds


def select_hyperparameters(
    spec: ModelSpec,
    design: pd.DataFrame,
    target: pd.Series,
    rows: np.ndarray,
    n_folds: int,
    dates: pd.Series,
) -> Selection:
    """The candidate of ``spec.family`` with the lowest mean validation MSE (of ln RV for
    volatility models, of the return for the return model) over expanding folds of
    ``rows``."""
    folds = validation_folds(rows, n_folds)
    if not folds:
        raise ValueError(f"{spec.name}: too few rows ({len(rows)}) for {n_folds} folds")
    y = target.to_numpy()
    y = np.log(y) if spec.log_target else y
    scores = {}
    for label, estimator in candidate_estimators(spec.family).items():
        errors = []
        for train, validate in folds:
            model = fit_model(spec, estimator, design, target, train)
            x = design[list(spec.columns)].to_numpy()[validate]
            errors.append(float(np.mean((model.estimator.predict(x) - y[validate]) ** 2)))
        scores[label] = float(np.mean(errors))
    chosen = min(scores, key=scores.get)
    described = [
        {"train_rows": int(len(train)), "validation_rows": int(len(validate)),
         "validation_start": f"{dates.iloc[validate[0]]:%Y-%m-%d}",
         "validation_end": f"{dates.iloc[validate[-1]]:%Y-%m-%d}"}
        for train, validate in folds
    ]  # fmt: skip
    log.info("%s: validation MSE by candidate %s; chosen %s", spec.name,
             {k: round(v, 5) for k, v in scores.items()}, chosen)  # fmt: skip
    return Selection(spec.family, chosen, scores, described)
