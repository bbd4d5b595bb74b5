"""The share of a grid whose anchor prices fit the training days best, kept only with
evidence: the rule of :mod:`~optvol.core.options.gru.carry` and
:mod:`~optvol.core.options.gru.clock`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from optvol.core.options.gru.anchor import significantly_better
from optvol.core.options.samples import OptionSamples, SampleContext

PriceAt = Callable[[float, pd.DataFrame, SampleContext], np.ndarray]


def evidenced_share(
    samples: OptionSamples, grid: Sequence[float], default: float, price_at: PriceAt
) -> tuple[float, dict[str, float]]:
    """The share of ``grid`` whose prices ``price_at(share, rows, context)`` of the
    training samples have the lowest RMSE (ties to the share nearer ``default``), and the
    RMSE ($) at each share. A share other than ``default`` is kept only if its prices beat
    the default's significantly over the training days
    (:func:`~optvol.core.options.gru.anchor.significantly_better`)."""
    train = samples.indices("train")
    rows, context = samples.rows.iloc[train], samples.context.take(train)
    mid = rows["mid"].to_numpy()
    prices = {share: price_at(share, rows, context) for share in grid}
    rmse = {f"{s:g}": float(np.sqrt(np.mean((p - mid) ** 2))) for s, p in prices.items()}
    nearest_first = sorted(grid, key=lambda share: abs(share - default))
    best = min(nearest_first, key=lambda share: rmse[f"{share:g}"])
    dates = rows["quote_date"].to_numpy()
    if best != default and not significantly_better(prices[best], prices[default], mid, dates):
        best = default
    return best, rmse
