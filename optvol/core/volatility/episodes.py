"""The walk-forward's forecasts in named stress episodes and calendar years: where one
crisis decides an overall verdict, these say which.

An episode's rows are the forecast origins dated inside it, so its scores include the
forecasts made just before the worst days, whose 21-day targets hold them. Its
*response lag* for a model is the number of trading days from the episode's first origin
to the first origin whose forecast volatility reaches half the episode's realized level
(the highest realized 21-day volatility ahead of any of its origins); ``None`` where the
forecast never gets there inside the episode.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optvol.core.volatility.features import HORIZON, TARGET_RV
from optvol.core.volatility.metrics import diebold_mariano, qlike_losses

# Named stress windows (first and last calendar day).
EPISODES = {
    "1987-10 crash": ("1987-10-01", "1987-10-31"),
    "2008-09..2009-03 financial crisis": ("2008-09-01", "2009-03-31"),
    "2011-08 US downgrade": ("2011-08-01", "2011-08-31"),
    "2015-08 yuan devaluation": ("2015-08-01", "2015-08-31"),
    "2018-02 volatility spike": ("2018-02-01", "2018-02-28"),
    "2020-02..05 COVID-19": ("2020-02-01", "2020-05-31"),
    "2022 rate-hike bear market": ("2022-01-01", "2022-12-31"),
}
RESPONSE_SHARE = 0.5
MIN_YEAR_ROWS = 2 * HORIZON


def episode_scores(window: pd.DataFrame, models: list[str]) -> dict:
    """Per episode present in ``window`` (scored rows: ``date``, the target and each
    model's ``_vol`` and ``_var``): its span, realized level, each model's mean QLIKE and
    response lag."""
    out = {}
    realized = window[TARGET_RV].to_numpy(float)
    losses = {m: qlike_losses(realized**2, window[f"{m}_var"].to_numpy(float)) for m in models}
    for name, (first, last) in EPISODES.items():
        rows = np.flatnonzero(window["date"].between(first, last).to_numpy())
        if not len(rows):
            continue
        level = float(realized[rows].max())
        out[name] = {
            "first_date": f"{window['date'].iloc[rows[0]]:%Y-%m-%d}",
            "last_date": f"{window['date'].iloc[rows[-1]]:%Y-%m-%d}",
            "dates": int(len(rows)),
            "realized_peak_vol": level,
            "qlike": {m: float(losses[m][rows].mean()) for m in models},
            "response_lag_days": {
                m: _response_lag(window[f"{m}_vol"].to_numpy()[rows], RESPONSE_SHARE * level)
                for m in models
            },
        }  # fmt: skip
    return out


def _response_lag(forecast_vol: np.ndarray, level: float) -> int | None:
    reached = np.flatnonzero(forecast_vol >= level)
    return int(reached[0]) if len(reached) else None


def yearly_tests(
    losses: dict[str, np.ndarray], years: np.ndarray, references: tuple[str, ...]
) -> dict[str, dict[str, dict[str, dict]]]:
    """Diebold-Mariano tests of each model's QLIKE against each reference's, year by year
    (``{model: {year: {"vs_<reference>": {statistic, p_value}}}}``; a negative statistic
    means the model's loss is lower). Years with under ``MIN_YEAR_ROWS`` rows are left
    out; lags cover the overlapping 21-day targets."""
    out: dict[str, dict] = {}
    present = [r for r in references if r in losses]
    for model, loss in losses.items():
        by_year = {}
        for year in sorted(set(years)):
            rows = years == year
            if rows.sum() < MIN_YEAR_ROWS:
                continue
            by_year[str(year)] = {
                f"vs_{reference}": diebold_mariano(loss[rows], losses[reference][rows],
                                                   lags=HORIZON - 1)
                for reference in present
                if reference != model
            }  # fmt: skip
        out[model] = by_year
    return out


def worst_year_ratio(
    by_year: dict[str, dict[str, float]],
    model: str,
    reference: str | tuple[str, ...],
    rows_by_year: dict[str, int] | None = None,
) -> dict:
    """The calendar year in which ``model``'s mean QLIKE is highest relative to
    ``reference``'s, and that ratio; years with under ``MIN_YEAR_ROWS`` rows (a window's
    first or last few days) are left out where ``rows_by_year`` is given, and so are years
    where a reference has no positive score. Several references: the better (lower QLIKE)
    of them in each year, as in "no year worse than 1.10 x the better of HAR and VIX"."""
    references = (reference,) if isinstance(reference, str) else reference
    ratios = {}
    for year, value in by_year[model].items():
        if rows_by_year is not None and rows_by_year.get(year, 0) < MIN_YEAR_ROWS:
            continue
        scores = [by_year.get(r, {}).get(year) for r in references]
        if all(score is not None and score > 0 for score in scores):  # NaN > 0 is False
            ratios[year] = value / min(scores)
    year = max(ratios, key=ratios.get)
    return {"year": year, "ratio": ratios[year]}
