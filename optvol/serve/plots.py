"""The charts the API's ``GET /plot`` and the dashboard draw on request, as PNG bytes.

They are the pipeline's own chart functions, fed from the loaded evaluations and
predictors: forecast vs realized volatility (the walk-forward's out-of-sample
forecasts), one contract's price history against every model's price of it, and the
test RMSE by moneyness and expiry bucket.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from optvol.core.common.errors import RequestError
from optvol.core.options.evaluation_file import OptionEvaluationFile
from optvol.core.options.samples import BASELINES, GRU
from optvol.core.volatility.evaluation_file import VolatilityEvaluationFile


def png_bytes(draw: Callable[[Path], object]) -> bytes:
    """Run ``draw(path)`` on a temporary path and return the PNG it wrote."""
    with tempfile.TemporaryDirectory(prefix="optvol-plot-") as directory:
        path = Path(directory) / "plot.png"
        draw(path)
        return path.read_bytes()


def forecast_vs_realized_png(
    evaluation: VolatilityEvaluationFile,
    start: date | None = None,
    end: date | None = None,
    models: Sequence[str] | None = None,
) -> bytes:
    """Realized volatility and the walk-forward forecasts of ``models`` (default: the
    chosen model and the baselines) between ``start`` and ``end``."""
    from optvol.core.volatility.evaluation import forecast_series
    from optvol.core.volatility.plots import plot_forecast_vs_realized

    series, shown = forecast_series(evaluation)
    available = [c for c in series.columns if c not in ("date", "realized")]
    if models:
        unknown = [name for name in models if name not in available]
        if unknown:
            raise RequestError(f"unknown models {unknown}; the evaluation has {available}",
                               "models")  # fmt: skip
        shown = list(models)
    first, last = series["date"].min().date(), series["date"].max().date()
    start, end = start or first, end or last
    chosen = series.loc[series["date"].dt.date.between(start, end)]
    if chosen.empty:
        raise RequestError(
            f"no forecast between {start} and {end}: the walk-forward runs from {first} to {last}",
            "start",
        )
    return png_bytes(lambda path: plot_forecast_vs_realized(chosen, shown, path))


def option_history_png(
    predictor, expiration: date, strike: float, option_type: str, root: str | None = None
) -> bytes:
    """The contract's realized mid and every model's price of it on each day the data
    let it be priced (an :class:`~optvol.core.options.prediction.OptionPredictor`)."""
    from optvol.core.options.plots import plot_contract_history

    history = predictor.contract_history(expiration, strike, option_type, root)
    if history.empty:
        raise RequestError(
            f"the contract {option_type} {strike:g} expiring {expiration} cannot be priced on "
            "any day of the data (it needs a quote the day before)",
            "expiration",
        )
    kind = "call" if option_type == "C" else "put"
    title = f"SPY {kind}, strike {strike:g}, expiring {expiration}"
    return png_bytes(lambda path: plot_contract_history(history, [GRU, *BASELINES], title, path))


def error_by_bucket_png(evaluation: OptionEvaluationFile) -> bytes:
    """The option evaluation's test RMSE by moneyness and days-to-expiry bucket."""
    from optvol.core.options.plots import plot_rmse_by_bucket

    return png_bytes(lambda path: plot_rmse_by_bucket(evaluation, path))
