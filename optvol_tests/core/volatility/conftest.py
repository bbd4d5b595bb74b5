"""A synthetic market history with persistent volatility, VIX from row 400, and the
models trained on it once for the modules that read them."""

from __future__ import annotations

import pandas as pd
import pytest

from optvol.core.volatility.artifact import SelectionConfig, VolatilityModel, train_volatility_model
from optvol.core.volatility.market import clean_market
from optvol_tests.builders import volatile_market_frame

SELECTION = SelectionConfig(min_train_rows=126, validation_folds=3)


@pytest.fixture(scope="session")
def features() -> pd.DataFrame:
    raw = volatile_market_frame(n_days=700, vix_from=400)
    return clean_market(raw.assign(date=pd.to_datetime(raw["date"])))[0]


@pytest.fixture(scope="session")
def trained(features) -> VolatilityModel:
    return train_volatility_model(features, SELECTION)
