"""Request and response bodies of the HTTP API, as pydantic models.

They validate every request (strict types, no extra fields, finite positive numbers)
and give the JSON schemas of the OpenAPI document (:mod:`optvol.serve.openapi`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from optvol.core.options.limits import MAX_UNDERLYING_MOVE
from optvol.core.volatility.features import FEATURE_BOUNDS, NONNEGATIVE_FEATURES

# Bounds that keep one request small: a request body is at most MAX_BODY_BYTES.
MAX_CONTRACTS = 500
MAX_HISTORY_DAYS = 300
MAX_BODY_BYTES = 1 << 20
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class HistoryDay(_Strict):
    """One past day of a contract, supplied by the caller."""

    date: dt.date = Field(description="a trading day of the data, before as_of")
    mid: PositiveNumber = Field(description="the contract's mid price that day ($)")
    iv: Annotated[float, Field(gt=0, le=5)] | None = Field(
        default=None, description="the vendor's implied vol that day (decimal), if known"
    )


# An option class: an OCC root, 1 to 6 letters, digits or dots.
RootName = Annotated[str, Field(pattern=r"^[A-Z0-9.]{1,6}$")]


class OptionContract(_Strict):
    """A contract to price on ``as_of`` at the underlying price ``underlying``."""

    expiration: dt.date
    strike: PositiveNumber
    option_type: Literal["C", "P"] = Field(description="C for a call, P for a put")
    as_of: dt.date = Field(description="the day t to price the contract on")
    underlying: PositiveNumber = Field(
        description="the underlying's price S_t on as_of; within a factor of "
        f"{MAX_UNDERLYING_MOVE:g} of the data's underlying on the trading day before "
        "(a request outside is refused with 422)"
    )
    history: list[HistoryDay] | None = Field(
        default=None,
        max_length=MAX_HISTORY_DAYS,
        description="the contract's past quotes, up to the trading day before as_of; "
        "leave out to use the processed option data's",
    )
    root: RootName | None = Field(
        default=None,
        description="the option class (e.g. SPXW), needed only where the data hold "
        "several classes with this expiration and strike",
    )


class OptionsRequest(_Strict):
    """Price one or many contracts with the GRU and every baseline."""

    model: Literal["options"]
    contracts: list[OptionContract] = Field(min_length=1, max_length=MAX_CONTRACTS)


class VolatilityRequest(_Strict):
    """Forecast the next 21 trading days' volatility and return, at a date of the data
    or from explicit feature values (exactly one of the two)."""

    model: Literal["volatility"]
    as_of: dt.date | None = Field(default=None, description="a trading day of market_features")
    features: dict[str, float | None] | None = Field(
        default=None,
        max_length=200,
        description="every feature of the model by name (GET /health lists them); the "
        f"volatilities and their ratios ({', '.join(NONNEGATIVE_FEATURES)}) cannot be "
        "negative, and a value outside its plausible range is refused (422): "
        + ", ".join(f"{n} [{lo:g}, {hi:g}]" for n, (lo, hi) in FEATURE_BOUNDS.items()),
    )

    @model_validator(mode="after")
    def _one_of(self) -> VolatilityRequest:
        if (self.as_of is None) == (self.features is None):
            raise ValueError("give exactly one of as_of and features")
        return self


PredictRequest = Annotated[OptionsRequest | VolatilityRequest, Field(discriminator="model")]


class ModelVersion(BaseModel):
    version: str = Field(description="the first 12 hex digits of the model file's sha256")
    saved_at: str = Field(description="when the model file was written (UTC)")
    trained_on: dict[str, list[str]] = Field(description="first and last date of each split")


class ContractPrice(BaseModel):
    contract: OptionContract
    previous_date: dt.date = Field(description="t-1: the last day of history the models used")
    gru: float = Field(description="the GRU's price ($)")
    delta: float | None = Field(
        description="the GRU's delta: the derivative of its price in the underlying's, at "
        "the given underlying (a central difference of 0.1%)"
    )
    baselines: dict[str, float] = Field(description="every baseline's price ($)")
    realized_mid: float | None = Field(description="the mid on as_of, where the data have it")
    history_source: Literal["data", "supplied"]
    quoted_days: int = Field(description="days of the L-day window with a quote")


class OptionsResponse(BaseModel):
    model: Literal["options"]
    model_version: ModelVersion
    predictions: list[ContractPrice]


class VolatilityForecast(BaseModel):
    volatility: float | None = Field(description="annualised volatility, decimal")
    variance: float | None = Field(description="annualised variance")
    log_return: float | None = Field(
        description="log return over the 21 trading days: the ridge forecast restricted as "
        "Campbell & Thompson (2008) propose (shrunk toward the historical mean, floored at 0)"
    )


class VolatilityResponse(BaseModel):
    model: Literal["volatility"]
    model_version: ModelVersion
    as_of: dt.date | None
    chosen_model: str
    horizon_days: int
    forecast: VolatilityForecast
    baselines: dict[str, float | None]
    realized: dict[str, float | None]
    in_training_window: bool | None
    out_of_sample: dict[str, float | None] = Field(
        description="the walk-forward evaluation's forecasts at as_of, by model"
    )
    notes: list[str]


class ModelHealth(BaseModel):
    loaded: bool
    version: str | None
    saved_at: str | None
    trained_on: dict[str, list[str]]
    model: str | None
    evaluation_loaded: bool
    error: str | None


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    models: dict[str, ModelHealth]
    data: dict[str, dict[str, str | list[str]]]
    requests: int
    errors: int


class ErrorResponse(BaseModel):
    error: str = Field(description="what is wrong")
    field: str | None = Field(default=None, description="where in the request")
    status: int


PLOT_KINDS = ("forecast_vs_realized", "option_history", "error_by_bucket")


class PlotQuery(_Strict):
    """Query parameters of GET /plot (strings, as they arrive in a URL)."""

    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)

    kind: Literal["forecast_vs_realized", "option_history", "error_by_bucket"]
    start: dt.date | None = Field(default=None, description="forecast_vs_realized: first date")
    end: dt.date | None = Field(default=None, description="forecast_vs_realized: last date")
    models: str | None = Field(
        default=None, description="forecast_vs_realized: comma-separated model names"
    )
    expiration: dt.date | None = Field(default=None, description="option_history: the contract")
    strike: PositiveNumber | None = None
    option_type: Literal["C", "P"] | None = None
    root: RootName | None = Field(default=None, description="option_history: its class")

    @model_validator(mode="after")
    def _needs(self) -> PlotQuery:
        if self.kind == "option_history":
            missing = [
                name
                for name in ("expiration", "strike", "option_type")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"kind=option_history needs {missing}")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self
