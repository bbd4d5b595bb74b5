"""The NumPy forward that serving prices with, held to the PyTorch network it copies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from optvol.core.options.gru.network import OptionGRU
from optvol.core.options.gru.numpy_forward import numpy_network

SEQUENCE, STATIC, LENGTH = 11, 17, 20


def _network(num_layers: int, seed: int) -> OptionGRU:
    """A network whose every weight is random, the last head layer too (a fresh one's is
    zero, which would hide the GRU and the head behind the anchor price)."""
    torch.manual_seed(seed)
    model = OptionGRU(SEQUENCE, STATIC, hidden_size=16, num_layers=num_layers, head_size=24)
    nn.init.normal_(model.head[-1].weight, std=0.5)
    nn.init.normal_(model.head[-1].bias, std=0.5)
    return model.eval()


def _inputs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sequence = rng.normal(size=(n, LENGTH, SEQUENCE)).astype(np.float32)
    static = rng.normal(size=(n, STATIC)).astype(np.float32)
    pricing = np.column_stack([
        np.exp(rng.normal(0, 0.15, n)),  # S/K
        rng.uniform(0, 1.5, n),  # tau, expiry included
        rng.uniform(0.05, 0.6, n),  # anchor iv
        rng.integers(0, 2, n),  # is_call
        np.full(n, 0.02),
        np.full(n, 0.015),
    ]).astype(np.float32)  # fmt: skip
    pricing[0, 1] = 0.0  # at expiry: intrinsic value
    return sequence, static, pricing


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("n", [1, 7, 300])
def test_numpy_forward_equals_pytorch_within_float32_rounding(num_layers, n):
    model = _network(num_layers, seed=num_layers)
    sequence, static, pricing = _inputs(n, seed=n)
    with torch.no_grad():
        tensors = [torch.from_numpy(a) for a in (sequence, static, pricing)]
        want = model(*tensors).numpy()
        want_correction = model.iv_correction(*tensors[:2]).numpy()
    copy = numpy_network(model)
    correction = copy.iv_correction(sequence, static)
    got = copy(sequence, static, pricing)
    assert got.dtype == np.float32 and got.shape == (n,)
    # The corrections are O(0.1): a difference of 1e-6 is float32 rounding, while a
    # wrong gate, bias or layer order moves them by 1e-4 (a misplaced bias) or far more.
    assert np.abs(correction).max() > 1e-3
    np.testing.assert_allclose(correction, want_correction, rtol=0, atol=2e-6)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda m: m.head.__setitem__(1, nn.ReLU()), "ReLU"),
        (lambda m: m.head.__setitem__(1, nn.GELU(approximate="tanh")), "GELU"),
        (lambda m: setattr(m, "gru", nn.GRU(SEQUENCE, 16, batch_first=True,
                                            bidirectional=True)), "unidirectional"),
    ],
)  # fmt: skip
def test_a_layer_the_copy_cannot_run_is_refused(change, fragment):
    model = _network(1, seed=5)
    change(model)
    with pytest.raises(ValueError, match=fragment):
        numpy_network(model)


def test_trained_model_of_the_served_data_prices_as_the_evaluation(served_models):
    """The API's price of a test sample, gathered from the data, is the evaluation's
    (PyTorch, in batches) within float32 rounding; every baseline is the evaluation's."""
    from optvol.core.options.prediction import ContractRequest

    predictor = served_models.require("options")
    samples = predictor.samples
    test = samples.indices("test")
    index = test[:: max(1, len(test) // 150)]
    want = predictor.model.predict(samples, index)
    rows = samples.rows.iloc[index]
    requests = [
        ContractRequest(
            r.expiration.date(),
            float(r.strike),
            r.option_type,
            r.quote_date.date(),
            float(r.underlying),
        )  # fmt: skip
        for r in rows.itertuples()
    ]
    got = predictor.predict(requests)
    gru = np.array([p.gru for p in got])
    strike = rows["strike"].to_numpy()
    np.testing.assert_allclose(gru / strike, want / strike, rtol=0, atol=2e-6)
    for name in ("practitioner_bs", "practitioner_bs_mid_iv", "adhoc_bs", "prev_mid"):
        np.testing.assert_allclose([p.baselines[name] for p in got], rows[name], rtol=1e-12)
    # The return into t is log(S_t / S_t-1) here and a difference of logs in the samples.
    np.testing.assert_allclose([p.baselines["historical_bs"] for p in got],
                               rows["historical_bs"], rtol=1e-9)  # fmt: skip
    assert all(p.realized_mid == pytest.approx(mid) for p, mid in zip(got, rows["mid"],
                                                                      strict=True))  # fmt: skip
