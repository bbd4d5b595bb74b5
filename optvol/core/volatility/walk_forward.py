"""Expanding-window walk-forward forecasts of every volatility model and baseline.

On the first trading day of each month (the refit day p) every model is refitted on the
rows whose 21-day targets are known by then, positions ``<= p - 21``, and forecasts each
day t of the month from the data up to t. The forecaster never sees a target it could
not have known: the driver hands it a table whose later targets are blanked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optvol.core.common.errors import OptvolInputError
from optvol.core.volatility.adaptive import ADAPTIVE, AdaptiveConfig, Decision, adapt
from optvol.core.volatility.baselines import (
    GarchForecaster,
    historical_mean_return,
    no_change_forecast,
    vix_forecast,
)
from optvol.core.volatility.combination import VIX_MEMBER
from optvol.core.volatility.features import HORIZON, TARGET_COLUMNS
from optvol.core.volatility.models import ModelSpec, fit_model, single_threaded, usable_rows
from optvol.core.volatility.selection import (
    COMBINATION,
    RESTRICTED_RETURN,
    RETURN_FAMILY,
    restricted_return,
)

if TYPE_CHECKING:
    from sklearn.base import RegressorMixin

log = logging.getLogger(__name__)

VOLATILITY_BASELINES = ("har", "har_x", "garch", "vix", "no_change")
RETURN_BASELINE = "historical_mean"


@dataclass(frozen=True)
class WalkForwardConfig:
    """How the walk-forward runs."""

    min_train_rows: int = 504
    refit_every_months: int = 1
    start: str | None = None

    def __post_init__(self) -> None:
        if self.min_train_rows < 2 * HORIZON:
            raise ValueError(f"min_train_rows must be at least {2 * HORIZON}")
        if self.refit_every_months < 1:
            raise ValueError("refit_every_months must be at least 1")
        if self.start is not None:
            pd.Timestamp(self.start)  # raises ValueError on a bad date

    def to_dict(self) -> dict:
        return asdict(self)


def refit_positions(dates: pd.Series, first: int, every_months: int) -> np.ndarray:
    """Positions of the first trading day of every ``every_months``-th month, from the
    first month starting at or after position ``first``."""
    months = dates.dt.year * 12 + dates.dt.month - 1
    month_start = np.flatnonzero((months != months.shift(1)).to_numpy())
    month_start = month_start[month_start >= first]
    if not len(month_start):
        return month_start
    first_month = months.iloc[month_start[0]]
    keep = ((months.iloc[month_start] - first_month) % every_months == 0).to_numpy()
    return month_start[keep]


def first_refit(frame: pd.DataFrame, config: WalkForwardConfig) -> int:
    """The first position a model could have ``min_train_rows`` known targets by, or the
    configured start."""
    if config.start is not None:
        return int(np.searchsorted(frame["date"].to_numpy(), np.datetime64(config.start)))
    return config.min_train_rows + HORIZON


@dataclass
class WalkForward:
    """Forecasts by model at every forecast origin, with the refit day of each."""

    forecasts: pd.DataFrame
    refits: list[str]
    fit_counts: dict[str, int]
    seconds: float
    garch_failures: int
    fit_seconds: dict[str, float]
    decisions: list[Decision] = field(default_factory=list)
    latest: Decision | None = None


def known_at(frame: pd.DataFrame, position: int) -> pd.DataFrame:
    """``frame`` as known at the end of day ``position``: rows up to it, with the targets
    of the last 21 (not yet realized) blanked."""
    known = frame.iloc[: position + 1].copy()
    known.loc[known.index[max(0, position + 1 - HORIZON) :], list(TARGET_COLUMNS)] = np.nan
    return known


@single_threaded
def walk_forward(
    frame: pd.DataFrame,
    design: pd.DataFrame,
    specs: dict[str, ModelSpec],
    estimators: dict[str, RegressorMixin],
    config: WalkForwardConfig,
    prior: tuple[str, Mapping[str, float], str] | None = None,
    return_shrinkage: float | None = None,
    adaptive: AdaptiveConfig | None = None,
) -> WalkForward:
    """Forecasts of every fitted model (``specs``, with the chosen ``estimators``) and of
    the GARCH, VIX, no-change and historical-mean baselines at every origin from the first
    refit on; with ``prior`` (the first window's choice, combination weights and last
    validation day) the
    combination of every volatility model and VIX and the adaptive choice, both decided
    at each refit from past out-of-sample losses (:func:`~optvol.core.volatility.adaptive.
    adapt`); and with ``return_shrinkage`` the restricted return forecast
    (:func:`~optvol.core.volatility.selection.restricted_return`).

    Output columns: ``date``, ``refit_date``, the realized targets, ``<model>_vol`` and
    ``<model>_var`` per volatility model and baseline (``combination`` and ``adaptive``
    among them with ``prior``), ``<model>_return`` per return model.
    """
    started = time.perf_counter()
    frame = frame.reset_index(drop=True)
    design = design.reset_index(drop=True)
    refits = refit_positions(frame["date"], first_refit(frame, config), config.refit_every_months)
    if not len(refits):
        starting = f" from walk_forward_start {config.start}" if config.start else ""
        raise OptvolInputError(
            f"no walk-forward refit day{starting}: the table has {len(frame)} rows and the "
            f"walk-forward needs a month starting after min_train_rows + {HORIZON} = "
            f"{config.min_train_rows + HORIZON} rows (and after walk_forward_start, if set)"
        )
    ends = np.append(refits[1:], len(frame)) - 1
    origins_all = np.arange(refits[0], len(frame))
    out = pd.DataFrame(index=origins_all)
    out["date"] = frame["date"].iloc[origins_all].to_numpy()
    out["refit_date"] = pd.NaT
    for column in TARGET_COLUMNS:
        out[column] = frame[column].iloc[origins_all].to_numpy()
    for name, spec in specs.items():
        for kind in ("vol", "var") if spec.log_target else ("return",):
            out[f"{name}_{kind}"] = np.nan
    garch = GarchForecaster(frame["log_return"], config.min_train_rows)
    fit_counts = dict.fromkeys([*specs, "garch"], 0)
    fit_seconds = dict.fromkeys([*specs, "garch"], 0.0)
    for refit, end in zip(refits, ends, strict=True):
        origins = np.arange(refit, end + 1)
        out.loc[origins, "refit_date"] = frame["date"].iloc[refit]
        known = known_at(frame, refit)
        for name, spec in specs.items():
            fit_started = time.perf_counter()
            rows = usable_rows(design.iloc[: refit + 1], known[spec.target], spec)
            if len(rows) < config.min_train_rows:
                continue
            model = fit_model(spec, estimators[name], design, known[spec.target], rows)
            fit_counts[name] += 1
            predicted = model.predict(design.iloc[origins])
            for kind in predicted.columns:
                out.loc[origins, f"{name}_{kind}"] = predicted[kind].to_numpy()
            fit_seconds[name] += time.perf_counter() - fit_started
        fit_started = time.perf_counter()
        forecast = garch.forecast(refit, origins)
        fit_seconds["garch"] += time.perf_counter() - fit_started
        if forecast["vol"].notna().any():
            fit_counts["garch"] += 1
        for kind in ("vol", "var"):
            out.loc[origins, f"garch_{kind}"] = forecast[kind].to_numpy()
    _add_unfitted_forecasts(out, frame, origins_all, return_shrinkage)
    decisions, latest = [], None
    if prior is not None:
        members = [
            n for n, spec in specs.items() if spec.log_target and out[f"{n}_var"].notna().any()
        ]
        if out[f"{VIX_MEMBER}_var"].notna().any():
            members.append(VIX_MEMBER)
        adaptation = adapt(out, members, prior[0], dict(prior[1]), adaptive or AdaptiveConfig(),
                           prior_known_from=_realized_by(frame["date"], prior[2]))  # fmt: skip
        for name, values in (
            (COMBINATION, adaptation.combination),
            (ADAPTIVE, adaptation.adaptive),
        ):
            for kind in ("vol", "var"):
                out[f"{name}_{kind}"] = values[kind].to_numpy()
        decisions, latest = adaptation.decisions, adaptation.latest
    seconds = time.perf_counter() - started
    log.info("Walk-forward: %d refits from %s to %s, %d origins, fits %s, %d GARCH fits that "
             "did not converge, %.1f s", len(refits), f"{frame['date'].iloc[refits[0]]:%Y-%m-%d}",
             f"{frame['date'].iloc[refits[-1]]:%Y-%m-%d}", len(origins_all), fit_counts,
             garch.failures, seconds)  # fmt: skip
    log.info("Walk-forward seconds spent fitting and forecasting, by model: %s",
             {name: round(value, 1) for name, value in fit_seconds.items()})  # fmt: skip
    return WalkForward(
        forecasts=out.reset_index(drop=True),
        refits=[f"{d:%Y-%m-%d}" for d in frame["date"].iloc[refits]],
        fit_counts=fit_counts,
        seconds=seconds,
        garch_failures=garch.failures,
        fit_seconds={name: round(value, 2) for name, value in fit_seconds.items()},
        decisions=decisions,
        latest=latest,
    )


def _realized_by(dates: pd.Series, day: str) -> pd.Timestamp | None:
    """The trading day on which the 21-day target of ``day`` is realized; None past the
    data's end."""
    position = int(np.searchsorted(dates.to_numpy(), np.datetime64(day))) + HORIZON
    return pd.Timestamp(dates.iloc[position]) if position < len(dates) else None


def _add_unfitted_forecasts(
    out: pd.DataFrame,
    frame: pd.DataFrame,
    origins: np.ndarray,
    return_shrinkage: float | None,
) -> None:
    """The forecasts that need no fit, into ``out`` (one row per position of ``origins``
    in ``frame``): VIX, no-change, the historical mean return, and from the return
    model's forecasts the restricted return."""
    for name, baseline in (("vix", vix_forecast), ("no_change", no_change_forecast)):
        values = baseline(frame.iloc[origins])
        for kind in ("vol", "var"):
            out[f"{name}_{kind}"] = values[kind].to_numpy()
    out[f"{RETURN_BASELINE}_return"] = historical_mean_return(frame).iloc[origins].to_numpy()
    if return_shrinkage is not None and f"{RETURN_FAMILY}_return" in out:
        out[f"{RESTRICTED_RETURN}_return"] = restricted_return(
            out[f"{RETURN_FAMILY}_return"].to_numpy(),
            out[f"{RETURN_BASELINE}_return"].to_numpy(),
            return_shrinkage,
        )
