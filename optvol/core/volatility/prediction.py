"""Volatility and return forecasts of the trained models at a date, or from feature values.

At a trading day of ``market_features`` the forecast uses that day's row, as the
walk-forward did: the saved models (fitted on every usable row, so a date inside their
training window is in-sample), the baselines of docs/architecture.md §5 (HAR, GARCH(1,1), VIX,
no-change, the historical mean return), the out-of-sample walk-forward forecasts of the
evaluation where it has that date, and the realized values where the data hold the next
21 trading days. From explicit feature values only the models, HAR, VIX and no-change
can forecast: GARCH needs the return history.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from optvol.core.common.data_summary import json_number
from optvol.core.common.errors import RequestError
from optvol.core.volatility.artifact import VolatilityModel
from optvol.core.volatility.baselines import (
    GarchForecaster,
    historical_mean_return,
    no_change_forecast,
    vix_forecast,
)
from optvol.core.volatility.evaluation_file import VolatilityEvaluationFile
from optvol.core.volatility.features import (
    FEATURE_BOUNDS,
    NONNEGATIVE_FEATURES,
    TARGET_RETURN,
    TARGET_RV,
    feature_columns,
)

# Live GARCH fits kept per date; a fit takes about a second on 20 years of returns.
GARCH_CACHE_SIZE = 64


@dataclass
class VolatilityPrediction:
    """Forecasts of the next 21 trading days: annualised volatility (decimal) and the log
    return; ``None`` where a model cannot forecast (an input is missing)."""

    as_of: date | None
    model: str
    volatility: float | None
    variance: float | None
    log_return: float | None
    baselines: dict[str, float | None]
    realized: dict[str, float | None]
    in_training_window: bool | None
    out_of_sample: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class VolatilityPredictor:
    """Forecasts with a trained :class:`VolatilityModel` over the feature table it was
    trained on (checked by fingerprint when built)."""

    def __init__(
        self,
        model: VolatilityModel,
        features: pd.DataFrame,
        evaluation: VolatilityEvaluationFile | None = None,
    ) -> None:
        model.check_data(features)
        self.model = model
        self.features = features.reset_index(drop=True)
        # The table's notes (sources, cleaning) live in attrs, which pandas deep-copies on
        # every operation: a one-row forecast would spend most of its time copying them.
        self.features.attrs = {}
        self.dates = self.features["date"].to_numpy("datetime64[ns]")
        self.feature_names = feature_columns(model.macro)
        self._historical_mean = historical_mean_return(self.features).to_numpy()
        # Every date's forecasts at once: a request at a date reads its row (a one-row
        # forecast through pandas costs about 10 ms, the whole table a few times that).
        self._at_dates = self._forecasts(self.features, self._historical_mean)
        self._realized = {
            "volatility": self.features[TARGET_RV].to_numpy(float),
            "log_return": self.features[TARGET_RETURN].to_numpy(float),
        }
        self._walk_forward = _walk_forward_series(evaluation)
        self._garch: dict[int, float | None] = {}
        self._garch_lock = threading.Lock()
        self._min_returns = int(model.card.selection_config["min_train_rows"])
        window = model.card.models["volatility"].training_window
        self.training_window = tuple(date.fromisoformat(d) for d in window)

    def use_evaluation(self, evaluation: VolatilityEvaluationFile) -> None:
        """Take the out-of-sample forecasts of a volatility evaluation document."""
        self._walk_forward = _walk_forward_series(evaluation)

    @property
    def chosen(self) -> str:
        return self.model.card.chosen_volatility_model

    @property
    def first_date(self) -> date:
        return pd.Timestamp(self.dates[0]).date()

    @property
    def last_date(self) -> date:
        return pd.Timestamp(self.dates[-1]).date()

    def features_on(self, as_of: date) -> dict[str, float | None]:
        """The model's feature values on a trading day of the data."""
        row = self.features.iloc[self._position(as_of, "as_of")]
        return {name: json_number(row[name]) for name in self.feature_names}

    def at_date(self, as_of: date) -> VolatilityPrediction:
        """Every forecast made at the close of ``as_of``, a trading day of the data."""
        position = self._position(as_of, "as_of")
        prediction = self._prediction(
            {name: values[position] for name, values in self._at_dates.items()}, as_of
        )
        prediction.baselines["garch"] = self._garch_at(position, as_of)
        prediction.baselines["historical_mean_return"] = json_number(
            self._historical_mean[position]
        )
        prediction.realized = {
            name: json_number(values[position]) for name, values in self._realized.items()
        }
        if prediction.realized["volatility"] is None:
            prediction.notes.append(
                "the data end before the next 21 trading days: nothing realized yet"
            )
        start, end = self.training_window
        prediction.in_training_window = start <= as_of <= end
        if prediction.in_training_window:
            prediction.notes.append(
                f"{as_of} lies in the saved model's training window ({start} to {end}): its "
                "forecast there is in-sample; out_of_sample holds the walk-forward's"
            )
        stamp = pd.Timestamp(as_of)
        prediction.out_of_sample = {
            name: json_number(series[stamp]) if stamp in series.index else None
            for name, series in self._walk_forward.items()
        }
        return prediction

    def from_features(self, values: Mapping[str, float]) -> VolatilityPrediction:
        """Forecasts from explicit feature values (every one of ``feature_names``)."""
        missing = [name for name in self.feature_names if name not in values]
        if missing:
            raise RequestError(f"features lacks {missing}", "features")
        extra = sorted(set(values) - set(self.feature_names))
        if extra:
            raise RequestError(
                f"features has unknown names {extra}; the model takes {self.feature_names}",
                "features",
            )
        for name in self.feature_names:
            value = values[name]
            if value is not None and not np.isfinite(value):
                raise RequestError(f"{name} is not a finite number", f"features.{name}")
        for name in NONNEGATIVE_FEATURES:
            if values.get(name) is not None and values[name] < 0:
                raise RequestError(f"{name} cannot be negative", f"features.{name}")
        for name, (low, high) in FEATURE_BOUNDS.items():
            value = values.get(name)
            if value is not None and not low <= value <= high:
                raise RequestError(
                    f"{name} = {value:.6g} is outside its plausible range [{low:g}, {high:g}] "
                    "(volatilities annualised decimals, VIX in points, log returns)",
                    f"features.{name}",
                )
        row = pd.DataFrame(
            {name: [np.nan if values[name] is None else float(values[name])]
             for name in self.feature_names}
        )  # fmt: skip
        # The historical mean return is not a feature: the one known at the data's end.
        forecasts = self._forecasts(row, self._historical_mean[-1:])
        prediction = self._prediction({name: v[0] for name, v in forecasts.items()}, None)
        prediction.baselines["garch"] = None
        prediction.notes.append("GARCH needs the return history: no forecast from features")
        prediction.realized = {"volatility": None, "log_return": None}
        return prediction

    def _forecasts(self, rows: pd.DataFrame, historical_mean: np.ndarray) -> dict[str, np.ndarray]:
        """The models' and the row-wise baselines' forecasts at each row."""
        forecast = self.model.predict(rows, historical_mean)
        vix = vix_forecast(rows)["vol"] if "vix_close" in rows else np.nan
        return {
            **{name: forecast[name].to_numpy(float)
               for name in ("vol", "var", "return", "har_vol", "return_ridge")},
            "vix": np.broadcast_to(np.asarray(vix, float), len(rows)),
            "no_change": no_change_forecast(rows)["vol"].to_numpy(float),
        }  # fmt: skip

    def _prediction(
        self, forecast: Mapping[str, float], as_of: date | None
    ) -> VolatilityPrediction:
        prediction = VolatilityPrediction(
            as_of=as_of,
            model=self.chosen,
            volatility=json_number(forecast["vol"]),
            variance=json_number(forecast["var"]),
            log_return=json_number(forecast["return"]),
            baselines={
                "har": json_number(forecast["har_vol"]),
                "vix": json_number(forecast["vix"]),
                "no_change": json_number(forecast["no_change"]),
                "return_ridge": json_number(forecast["return_ridge"]),
            },
            realized={},
            in_training_window=None,
        )
        inputs = self.model.chosen_columns
        if prediction.volatility is None:
            prediction.notes.append(
                f"{self.chosen} needs every one of its inputs {list(inputs)}; one is missing "
                "on this row (VIX before it begins, say)"
            )
        return prediction

    def _position(self, as_of: date, where: str) -> int:
        stamp = np.datetime64(as_of, "ns")
        position = int(np.searchsorted(self.dates, stamp))
        if position < len(self.dates) and self.dates[position] == stamp:
            return position
        if self.first_date <= as_of <= self.last_date:
            raise RequestError(f"{where} {as_of} is not a trading day of the data", where)
        raise RequestError(
            f"{where} {as_of} is outside the data: market features run from "
            f"{self.first_date} to {self.last_date}",
            where,
        )

    def _garch_at(self, position: int, as_of: date) -> float | None:
        """The walk-forward's GARCH forecast at ``as_of``, else one fitted on every return
        up to it (cached)."""
        series = self._walk_forward.get("garch")
        stamp = pd.Timestamp(as_of)
        if series is not None and stamp in series.index:
            return json_number(series[stamp])
        with self._garch_lock:
            if position not in self._garch:
                if len(self._garch) >= GARCH_CACHE_SIZE:
                    self._garch.pop(next(iter(self._garch)))
                garch = GarchForecaster(self.features["log_return"], self._min_returns)
                vol = garch.forecast(position, np.array([position]))["vol"].iloc[0]
                self._garch[position] = json_number(vol)
            return self._garch[position]


def _walk_forward_series(evaluation: VolatilityEvaluationFile | None) -> dict[str, pd.Series]:
    """The evaluation's out-of-sample forecasts by model, indexed by date."""
    if evaluation is None:
        return {}
    out = {}
    for key, table in (("volatility", evaluation.series.volatility),
                       ("returns", evaluation.series.returns)):  # fmt: skip
        dates = pd.to_datetime(table["date"])
        for name, values in table.items():
            if name in ("date", "realized"):
                continue
            label = f"{name}_return" if key == "returns" and "return" not in name else name
            out[label] = pd.Series(np.asarray(values, dtype=float), index=dates)
    return out
