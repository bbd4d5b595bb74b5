"""optvol's settings as one Dagster resource, each field given by an ``OPTVOL_*``
environment variable: the one place in ``optvol.defs`` where settings are read.

Nothing is read when a module is imported. :meth:`Settings.from_env` runs when the
definitions load (the ``@dg.definitions`` functions and ``load_definitions``), so the
values the definitions are built from — the executor, the sensors' interval, whether
retraining starts on, the first quote-month partition — are those of the process that
loads the code location, read once there (:func:`reading_once` hands that one reading
to every folder's ``@dg.definitions`` function) and validated at once: a bad value stops the
load with one message naming the variable and what it accepts, instead of failing a tick
or a run later. The values used while a run or a tick works — the data root, the
artifact root, the alert webhook — are read when they are used, in the process doing the
work, unless code or run config sets the field: the definitions are built once per
process and cached, so a value taken when they load would outlive a change of the
environment (a run worker that sets its own, a test), and the webhook's secret URL never
enters the resource's config that the UI shows.

Core keeps its own plain functions for the same variables
(:func:`~optvol.core.common.paths.resolve_data_root`,
:func:`~optvol.core.common.storage.artifact_root`): the CLI and the server use them
outside Dagster, and this resource hands its values to them rather than parsing paths
again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, ValidationError, field_validator

from optvol.core.common.paths import ARTIFACT_ROOT_ENV, DATA_DIR_ENV, resolve_data_root
from optvol.core.downloads import options as option_downloads
from optvol.core.downloads.market import DEFAULT_URLS, URL_ENV, market_urls
from optvol.core.monitoring.alerts import WEBHOOK_ENV

EXECUTOR_ENV = "OPTVOL_EXECUTOR"
INTERVAL_ENV = "OPTVOL_SENSOR_INTERVAL_SECONDS"
AUTO_RETRAIN_ENV = "OPTVOL_AUTO_RETRAIN"
FIRST_MONTH_ENV = "OPTVOL_FIRST_QUOTE_MONTH"
DOWNLOADS_ENV = "OPTVOL_SCHEDULED_DOWNLOADS"
SYMBOLS_ENV = "OPTVOL_OPTION_SYMBOLS"
MONTH_FORMAT = "%Y-%m"
# Listed options began when the Cboe opened, on 26 April 1973: no quote month is earlier,
# so the partitions can start there and hold any history without a setting.
EARLIEST_MONTH = "1973-04"

# The variable of each field.
ENV_VARS = {
    "data_dir": DATA_DIR_ENV,
    "artifact_root": ARTIFACT_ROOT_ENV,
    "executor": EXECUTOR_ENV,
    "sensor_interval_seconds": INTERVAL_ENV,
    "auto_retrain": AUTO_RETRAIN_ENV,
    "alert_webhook": WEBHOOK_ENV,
    "first_quote_month": FIRST_MONTH_ENV,
    "scheduled_downloads": DOWNLOADS_ENV,
    "option_symbols": SYMBOLS_ENV,
    **{f"url_{source}": var for source, var in URL_ENV.items()},
    "url_cboe_options": option_downloads.URL_ENV,
}
# Fields used while a run or a tick works: read when used (see the module docstring).
RUN_TIME_FIELDS = ("data_dir", "artifact_root", "alert_webhook", "url_spx", "url_vix", "url_fred",
                   "url_cboe_options")  # fmt: skip
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _source_url(where: str, var: str, source: str, url: str) -> Any:
    """The field of a download's URL template: the variable's, unset the public source."""
    return Field(default=None, description=f"Where {where} ({var}); unset, {source}: {url}.")


class Settings(dg.ConfigurableResource):
    """optvol's settings (docs/settings.md lists them with their variables and defaults)."""

    data_dir: str | None = Field(
        default=None, description=f"The data root ({DATA_DIR_ENV}); unset, ./data."
    )
    artifact_root: str | None = Field(
        default=None,
        description=f"Where the IO managers keep tables, models and metrics, a path or a URL "
        f"({ARTIFACT_ROOT_ENV}); unset, the data root.",
    )
    executor: str | None = Field(
        default=None,
        description=f"How a run's steps execute ({EXECUTOR_ENV}): in_process, multiprocess, "
        "or one a deployment registers; unset, in_process (multiprocess in "
        "deploy/code_location.py).",
    )
    sensor_interval_seconds: int = Field(
        default=30, description=f"Seconds between two evaluations of each sensor ({INTERVAL_ENV})."
    )
    auto_retrain: bool = Field(
        default=False,
        description=f"Whether the retrain sensor starts running ({AUTO_RETRAIN_ENV}: 1 or 0).",
    )
    alert_webhook: str | None = Field(
        default=None,
        description=f"A Slack-compatible URL each failed-run alert is posted to ({WEBHOOK_ENV}); "
        "unset, none: alerts go to <data root>/alerts/alerts.jsonl only.",
    )
    first_quote_month: str = Field(
        default=EARLIEST_MONTH,
        description=f"The first quote-month partition, YYYY-MM ({FIRST_MONTH_ENV}); by "
        "default the month listed options began, so that any history fits.",
    )

    scheduled_downloads: bool = Field(
        default=True,
        description=f"Whether the evening download schedules start running ({DOWNLOADS_ENV}: "
        "1 or 0): the market history, and a snapshot of each option symbol's chain.",
    )
    option_symbols: str = Field(
        default="SPY",
        description=f"The underlyings whose chains the evening schedule snapshots, separated "
        f"by spaces or commas ({SYMBOLS_ENV}).",
    )
    url_spx: str | None = _source_url(
        "`optvol download market` gets the S&P 500's daily OHLC",
        URL_ENV["spx"],
        "stooq",
        DEFAULT_URLS["spx"],
    )
    url_vix: str | None = _source_url(
        "it gets the VIX history", URL_ENV["vix"], "Cboe", DEFAULT_URLS["vix"]
    )
    url_fred: str | None = _source_url(
        "it gets a FRED series, {series} standing for its id",
        URL_ENV["fred"],
        "FRED",
        DEFAULT_URLS["fred"],
    )
    url_cboe_options: str | None = _source_url(
        "`optvol download options` gets an underlying's delayed quotes, {symbol} standing for it",
        option_downloads.URL_ENV,
        "Cboe",
        option_downloads.DEFAULT_URL,
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """The settings of this process's environment, with ``overrides`` on top.

        A variable that is unset or blank leaves its field's default. Raises ValueError,
        naming each variable with a bad value and what it accepts.
        """
        values: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            text = None if name in RUN_TIME_FIELDS else dg.EnvVar(var).get_value()
            if text is not None and text.strip():
                values[name] = text.strip()
        try:
            return cls(**{**values, **overrides})
        except ValidationError as err:
            raise ValueError("; ".join(_messages(err))) from None

    @classmethod
    def at_load(cls) -> Settings:
        """The settings the definitions being loaded are built from: those
        :func:`reading_once` read for the load in progress, else the environment's now (a
        folder's ``@dg.definitions`` loaded on its own)."""
        return _LOADING.get() or cls.from_env()

    @property
    def data_path(self) -> Path:
        """The data root, absolute: the field, else the variable's value now (see
        :func:`~optvol.core.common.paths.resolve_data_root`)."""
        return resolve_data_root(self.data_dir)

    @property
    def artifact_location(self) -> str | None:
        """What the IO managers' ``root`` is given: the artifact root, else the data root
        (``None``: neither field set, and the IO managers read the variables when they
        write and read, through core's defaults)."""
        return self.artifact_root or self.data_dir

    @property
    def webhook_url(self) -> str | None:
        """The alert webhook's URL: the field, else the variable's value now; ``None``
        when neither is set."""
        url = self.alert_webhook or dg.EnvVar(WEBHOOK_ENV).get_value() or ""
        return url.strip() or None

    @property
    def market_urls(self) -> dict[str, str]:
        """Each market source's URL template: the field, else the variable's value now,
        else the public source."""
        fields = {"spx": self.url_spx, "vix": self.url_vix, "fred": self.url_fred}
        return {name: fields[name] or url for name, url in market_urls().items()}

    @property
    def option_url(self) -> str:
        """The delayed-quotes URL template: the field, else the variable's value now,
        else Cboe's."""
        return self.url_cboe_options or option_downloads.option_url()

    @field_validator("sensor_interval_seconds", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> Any:
        seconds = value
        if isinstance(value, str):
            try:
                seconds = int(value)
            except ValueError:
                seconds = 0
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
            raise ValueError(
                f"{INTERVAL_ENV} must be a whole number of seconds >= 1, got {value!r}"
            )
        return seconds

    @field_validator("auto_retrain", "scheduled_downloads", mode="before")
    @classmethod
    def _switch(cls, value: Any, info) -> Any:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(
            f"{ENV_VARS[info.field_name]} must be 1/true/yes/on or 0/false/no/off, got {value!r}"
        )

    @field_validator("option_symbols", mode="before")
    @classmethod
    def _symbols(cls, value: Any) -> Any:
        symbols = str(value).replace(",", " ").split()
        if not symbols or not all(s.lstrip("_").isalnum() for s in symbols):
            raise ValueError(
                f"{SYMBOLS_ENV} must name underlyings such as 'SPY SPX', got {value!r}"
            )
        return " ".join(s.upper() for s in symbols)

    @field_validator("first_quote_month", mode="before")
    @classmethod
    def _month(cls, value: Any) -> Any:
        try:
            month = dt.datetime.strptime(str(value), MONTH_FORMAT).strftime(MONTH_FORMAT)
        except ValueError:
            month = None
        this_month = dt.date.today().strftime(MONTH_FORMAT)
        if month is None or month != value or not EARLIEST_MONTH <= month <= this_month:
            raise ValueError(
                f"{FIRST_MONTH_ENV} must be a month as YYYY-MM, from {EARLIEST_MONTH} (when "
                f"listed options began) to this month, got {value!r}"
            )
        return month


def _messages(err: ValidationError) -> list[str]:
    """The validators' own messages (naming the variable), without pydantic's framing."""
    return [str(e.get("ctx", {}).get("error", e["msg"])) for e in err.errors()]


_LOADING: ContextVar[Settings | None] = ContextVar("optvol_settings_at_load", default=None)


@contextlib.contextmanager
def reading_once() -> Iterator[Settings]:
    """Read the settings once for a load of the definitions: :meth:`Settings.at_load`
    returns this reading until the block ends."""
    settings = Settings.from_env()
    token = _LOADING.set(settings)
    try:
        yield settings
    finally:
        _LOADING.reset(token)
