"""No field of the same day's option quote reaches the model's inputs (docs/architecture.md §4).

The test changes every quote field of one day -- bid, ask, mid, last, IV, greeks,
volume, sizes, and the parity forwards derived from the mids -- and checks that the inputs of that day's samples stay identical
while their targets change. ``test_the_check_catches_an_injected_same_day_field``
shows that the comparison fails as soon as one same-day field is injected.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import torch

from optvol.core.options.gru.network import SampleTensors, fit_scalers
from optvol.core.options.ingest.clean import add_parity_forwards
from optvol.core.options.samples import (
    STATIC_FEATURES,
    OptionSamples,
    build_samples,
    window_days,
    window_indices,
)
from optvol_tests.builders import option_quotes_frame

SAME_DAY_FIELDS = (
    "bid", "ask", "mid", "spread", "last", "iv", "delta", "gamma", "vega", "theta", "rho",
    "volume", "open_interest", "bid_size", "ask_size",
)  # fmt: skip


def _perturb_day(quotes: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Every same-day quote field of ``day`` changed, the quotes staying usable, and the
    parity forwards derived again from the changed mids, as cleaning derives them."""
    changed = quotes.copy()
    on_day = changed["quote_date"] == day
    for column in SAME_DAY_FIELDS:
        values = changed.loc[on_day, column]
        if column in ("bid_size", "ask_size"):
            changed.loc[on_day, column] = values + 7
        else:
            changed.loc[on_day, column] = values * 1.07 + 0.01
    forward_before = changed.loc[on_day, "forward"].to_numpy()
    add_parity_forwards(changed)
    assert not np.allclose(changed.loc[on_day, "forward"], forward_before)
    return changed


def _raw_inputs(samples: OptionSamples, index: np.ndarray) -> dict[str, np.ndarray]:
    """Everything the network is fed for ``index``, before scaling."""
    L = samples.config.sequence_length
    slots = window_indices(samples.sample_slot[index], L)
    days = window_days(samples.sample_day[index], L)
    returns = np.where(days >= 0, samples.underlying_return[np.maximum(days, 0)], 0.0)
    return {
        "static": samples.static[index],
        "history": samples.history[slots],
        "quoted": samples.quoted[slots],
        "underlying_returns": returns,
        "pricing": samples.pricing_inputs()[index],
    }


def _scaled_batch(samples: OptionSamples, index: np.ndarray) -> dict[str, np.ndarray]:
    """The tensors :meth:`SampleTensors.batch` gives the network for ``index``."""
    tensors = SampleTensors(samples, fit_scalers(samples), torch.device("cpu"))
    sequence, static, pricing, _ = tensors.batch(torch.as_tensor(index))
    return {"sequence": sequence.numpy(), "static": static.numpy(), "pricing": pricing.numpy()}


def _differences(
    quotes: pd.DataFrame,
    day: pd.Timestamp,
    build: Callable[[pd.DataFrame], OptionSamples],
    inputs: Callable[[OptionSamples, np.ndarray], dict[str, np.ndarray]],
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Inputs that differ for ``day``'s samples when its quote fields change, and the
    targets before and after."""
    before, after = build(quotes), build(_perturb_day(quotes, day))
    index_before = np.flatnonzero(before.rows["quote_date"] == day)
    index_after = np.flatnonzero(after.rows["quote_date"] == day)
    assert len(index_before) > 0
    keys = ["expiration", "option_type", "strike"]
    pd.testing.assert_frame_equal(
        before.rows.iloc[index_before][keys].reset_index(drop=True),
        after.rows.iloc[index_after][keys].reset_index(drop=True),
    )
    a, b = inputs(before, index_before), inputs(after, index_after)
    differing = [name for name in a if not np.array_equal(a[name], b[name])]
    return differing, before.target()[index_before], after.target()[index_after]


@pytest.fixture(scope="module")
def quotes() -> pd.DataFrame:
    return option_quotes_frame(n_days=60)


@pytest.fixture(scope="module")
def with_fitted_slopes(quotes) -> Callable[[pd.DataFrame], OptionSamples]:
    """Samples built with the baselines fitted on ``quotes``: their slopes are parameters
    fitted on the training targets (as the network's weights are), so on a training day
    the inputs are compared with them held fixed."""
    fitted = build_samples(quotes).fitted
    return lambda frame: build_samples(frame, fitted=fitted)


@pytest.mark.parametrize("position", [0.5, 0.95], ids=["train_day", "test_day"])
def test_same_day_quote_fields_do_not_reach_the_inputs(quotes, position, with_fitted_slopes):
    dates = np.sort(quotes["quote_date"].unique())
    day = pd.Timestamp(dates[int(position * (len(dates) - 1))])
    differing, target_before, target_after = _differences(
        quotes, day, with_fitted_slopes, _raw_inputs
    )
    assert differing == []
    assert not np.allclose(target_before, target_after)  # the change did reach the target


def test_a_test_days_quotes_do_not_reach_the_fitted_slopes(quotes):
    # Refitted from the changed quotes: a test day's quotes change no slope and no input
    # (the return features and the leverage vol included).
    day = pd.Timestamp(np.sort(quotes["quote_date"].unique())[-2])
    differing, *_ = _differences(quotes, day, build_samples, _raw_inputs)
    assert differing == []


def test_scaled_batches_of_a_test_day_ignore_its_quotes(quotes):
    # Scalers are fitted on training days only, so a test day's quotes reach nothing
    # the network is fed, scaled or not.
    day = pd.Timestamp(np.sort(quotes["quote_date"].unique())[-2])
    differing, *_ = _differences(quotes, day, build_samples, _scaled_batch)
    assert differing == []


def test_the_check_catches_an_injected_same_day_field(quotes):
    fitted = build_samples(quotes).fitted

    def leaky_build(frame: pd.DataFrame) -> OptionSamples:
        samples = build_samples(frame, fitted=fitted)
        # The kind of bug the test exists for: today's vendor IV used as a feature.
        today = frame.set_index(["quote_date", "expiration", "option_type", "strike"])["iv"]
        keys = pd.MultiIndex.from_frame(
            samples.rows[["quote_date", "expiration", "option_type", "strike"]]
        )
        column = STATIC_FEATURES.index("prev_iv_from_mid")
        samples.static[:, column] = today.reindex(keys).to_numpy()
        return samples

    day = pd.Timestamp(np.sort(quotes["quote_date"].unique())[30])
    differing, *_ = _differences(quotes, day, leaky_build, _raw_inputs)
    assert differing == ["static"]
