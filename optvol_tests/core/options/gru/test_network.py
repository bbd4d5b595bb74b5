"""Tests for optvol.core.options.gru.network: the Black-Scholes output layer, the network, the batches and
the scalers."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

import optvol.core.common.row_chunks as row_chunks
from optvol.core.options.gru.network import (
    OptionGRU,
    SampleTensors,
    Standardizer,
    bs_price_over_strike,
    fit_scalers,
    to_device,
)
from optvol.core.options.pricing.black_scholes import bs_price
from optvol.core.options.samples import (
    ANCHOR,
    DRIVER_FEATURES,
    SEQUENCE_FEATURES,
    SLOPE_FEATURES,
    STATE_FEATURES,
    STATIC_FEATURES,
    SampleConfig,
    build_samples,
)
from optvol_tests.builders import option_quotes_frame

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def samples():
    return build_samples(option_quotes_frame())


@pytest.fixture(scope="module")
def long_samples():
    """A window longer than the history before the first sample: it reaches before day 0."""
    return build_samples(option_quotes_frame(), SampleConfig(sequence_length=25))


# --- Black-Scholes output layer ---------------------------------------------------------------------


def grid():
    S, tau, sigma, call = np.meshgrid(
        [60.0, 90.0, 100.0, 110.0, 160.0],
        [0.0, 1 / 365, 0.1, 0.5, 2.0],
        [0.01, 0.2, 0.8],
        [True, False],
        indexing="ij",
    )
    return S.ravel(), tau.ravel(), sigma.ravel(), call.ravel()


@pytest.mark.parametrize(("r", "q"), [(0.02, 0.015), (0.0, 0.0), (0.05, 0.0)])
def test_bs_price_over_strike_matches_numpy_bs_price(r, q):
    S, tau, sigma, call = grid()
    K = 100.0
    t = {
        k: torch.tensor(v, dtype=torch.float64) for k, v in dict(S=S, tau=tau, sigma=sigma).items()
    }
    out = bs_price_over_strike(
        t["S"] / K,
        t["tau"],
        t["sigma"],
        torch.tensor(call, dtype=torch.float64),
        torch.full_like(t["S"], r),
        torch.full_like(t["S"], q),
    ).numpy()
    expected = bs_price(S, K, tau, r, q, sigma, call) / K
    # The total vol is floored at 1e-6, which moves an at-the-money price at expiry by ~4e-7.
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-6)
    at_expiry = tau == 0
    intrinsic = np.where(call, np.maximum(S - K, 0), np.maximum(K - S, 0)) / K
    np.testing.assert_allclose(out[at_expiry], intrinsic[at_expiry], atol=1e-6)


def test_bs_price_over_strike_in_float32_is_close():
    S, tau, sigma, call = grid()
    out = bs_price_over_strike(
        torch.tensor(S / 100.0, dtype=torch.float32),
        torch.tensor(tau, dtype=torch.float32),
        torch.tensor(sigma, dtype=torch.float32),
        torch.tensor(call, dtype=torch.float32),
        torch.full((len(S),), 0.02),
        torch.full((len(S),), 0.015),
    )
    assert out.dtype == torch.float32
    np.testing.assert_allclose(
        out.numpy(), bs_price(S, 100.0, tau, 0.02, 0.015, sigma, call) / 100.0, atol=2e-6
    )


def test_gradient_wrt_sigma_is_finite_at_expiry_and_matches_vega_elsewhere():
    S, tau, sigma, call = grid()
    sigma_t = torch.tensor(sigma, dtype=torch.float64, requires_grad=True)
    tau_t = torch.tensor(tau, dtype=torch.float64)
    out = bs_price_over_strike(
        torch.tensor(S / 100.0, dtype=torch.float64),
        tau_t,
        sigma_t,
        torch.tensor(call, dtype=torch.float64),
        torch.full((len(S),), 0.02, dtype=torch.float64),
        torch.full((len(S),), 0.015, dtype=torch.float64),
    )
    (grad,) = torch.autograd.grad(out.sum(), sigma_t)
    grad = grad.numpy()
    assert np.isfinite(grad).all()
    assert (grad[tau == 0] == 0).all()
    h = 1e-6
    numeric = (
        bs_price(S, 100.0, tau, 0.02, 0.015, sigma + h, call)
        - bs_price(S, 100.0, tau, 0.02, 0.015, sigma - h, call)
    ) / (2 * h * 100.0)
    live = tau > 0
    np.testing.assert_allclose(grad[live], numeric[live], rtol=1e-5, atol=1e-7)


# --- the network ------------------------------------------------------------------------------------


def test_fresh_network_outputs_exactly_the_anchor_price():
    torch.manual_seed(0)
    B, L, F, S = 64, 5, len(SEQUENCE_FEATURES), len(STATIC_FEATURES)
    model = OptionGRU(F, S, hidden_size=8, head_size=8).eval()
    sequence, static = torch.randn(B, L, F), torch.randn(B, S)
    rng = np.random.default_rng(0)
    pricing = torch.tensor(
        np.stack(
            [
                rng.uniform(0.7, 1.3, B),
                rng.uniform(0.01, 1.5, B),
                rng.uniform(0.05, 0.6, B),
                rng.integers(0, 2, B),
                np.full(B, 0.02),
                np.full(B, 0.015),
            ],
            axis=1,
        ),
        dtype=torch.float32,
    )
    out = model(sequence, static, pricing)
    assert out.shape == (B,)
    assert torch.equal(out, bs_price_over_strike(*pricing.unbind(1)))
    # ... and the inputs have no effect yet.
    assert torch.equal(model(torch.randn(B, L, F), torch.randn(B, S), pricing), out)


def test_fresh_network_on_samples_reproduces_the_anchor_baseline(samples):
    torch.manual_seed(0)
    tensors = SampleTensors(samples, fit_scalers(samples), CPU)
    model = OptionGRU(tensors.sequence_features, tensors.static_features, 8, head_size=8).eval()
    index = torch.arange(len(samples.rows))
    with torch.no_grad():
        out = model(*tensors.batch(index)[:3]).double().numpy()
    expected = samples.rows[ANCHOR].to_numpy() / samples.rows["strike"].to_numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=2e-6)


def test_trained_head_moves_the_price_away_from_the_anchor():
    """Control: with a non-zero last layer the output is no longer the anchor."""
    torch.manual_seed(0)
    F, S = len(SEQUENCE_FEATURES), len(STATIC_FEATURES)
    model = OptionGRU(F, S, hidden_size=8, head_size=8).eval()
    torch.nn.init.normal_(model.head[-1].weight)
    pricing = torch.tensor([[1.0, 0.5, 0.2, 1.0, 0.02, 0.015]] * 4)
    out = model(torch.randn(4, 3, F), torch.randn(4, S), pricing)
    assert not torch.allclose(out, bs_price_over_strike(*pricing.unbind(1)))


def factor_network() -> OptionGRU:
    """A network of the trained form (drivers, slopes from the slope columns) with random
    last layers, so that its correction is not zero."""
    torch.manual_seed(3)
    F, S = len(SEQUENCE_FEATURES), len(STATIC_FEATURES)
    model = OptionGRU(F, S, hidden_size=8, head_size=8, drivers=len(DRIVER_FEATURES),
                      slope_columns=SLOPE_COLUMNS, slope_size=4).eval()  # fmt: skip
    torch.nn.init.normal_(model.head[-1].weight)
    torch.nn.init.normal_(model.slope[-1].weight)
    return model


SLOPE_COLUMNS = [STATE_FEATURES.index(name) for name in SLOPE_FEATURES]


def test_the_correction_is_linear_in_the_drivers_with_slopes_of_the_slope_columns():
    model = factor_network()
    n_state = len(STATE_FEATURES)
    sequence, static = torch.randn(16, 4, len(SEQUENCE_FEATURES)), torch.randn(16, n_state + 2)
    _, hidden = model.gru(sequence)
    hidden = hidden[-1]

    def raw(drivers: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        state = static[:, :n_state] if state is None else state
        return model.raw_correction(hidden, torch.cat([state, drivers], dim=1)).detach()

    zero = torch.zeros(16, 2)
    d1, d2 = torch.randn(16, 2), torch.randn(16, 2)
    torch.testing.assert_close(
        raw(d1 + d2) - raw(zero), (raw(d1) - raw(zero)) + (raw(d2) - raw(zero))
    )
    # A state column outside the slope columns moves the level, never the slopes.
    other = next(i for i in range(n_state) if i not in SLOPE_COLUMNS)
    moved = static[:, :n_state].clone()
    moved[:, other] += 3.0
    torch.testing.assert_close(raw(d1, moved) - raw(zero, moved), raw(d1) - raw(zero))
    assert not torch.allclose(raw(zero, moved), raw(zero))
    # A slope column moves the slopes.
    moved = static[:, :n_state].clone()
    moved[:, SLOPE_COLUMNS[0]] += 3.0
    assert not torch.allclose(raw(d1, moved) - raw(zero, moved), raw(d1) - raw(zero))


def test_the_drivers_reach_the_network_unscaled(samples):
    scalers = fit_scalers(samples)
    drivers = slice(len(STATE_FEATURES), None)
    np.testing.assert_array_equal(scalers.static.mean[drivers], 0.0)
    np.testing.assert_array_equal(scalers.static.std[drivers], 1.0)
    assert (scalers.static.std[: len(STATE_FEATURES)] != 1.0).any()


# --- batches ----------------------------------------------------------------------------------------


def explicit_sequence(samples, scalers, index: np.ndarray) -> np.ndarray:
    """The (B, L, F) windows built one sample and one day at a time."""
    L = samples.config.sequence_length
    history = scalers.history.transform(samples.history)
    returns = scalers.underlying_return.transform(samples.underlying_return)
    out = np.zeros((len(index), L, len(SEQUENCE_FEATURES)), np.float32)
    for b, i in enumerate(index):
        for j in range(L):
            slot = samples.sample_slot[i] - L + j
            day = samples.sample_day[i] - L + j
            if samples.quoted[slot]:
                out[b, j, :-2] = history[slot]
                out[b, j, -2] = 1.0
            out[b, j, -1] = returns[day] if day >= 0 else 0.0
    return out


@pytest.mark.parametrize("which", ["samples", "long_samples"])
def test_batch_shapes_and_windows(which, request):
    samples = request.getfixturevalue(which)
    scalers = fit_scalers(samples)
    tensors = SampleTensors(samples, scalers, CPU)
    L = samples.config.sequence_length
    rng = np.random.default_rng(0)
    index = np.concatenate([[0, len(samples.rows) - 1], rng.choice(len(samples.rows), 30)])
    sequence, static, pricing, target = tensors.batch(torch.as_tensor(index))
    B = len(index)
    assert sequence.shape == (B, L, len(SEQUENCE_FEATURES))
    assert static.shape == (B, len(STATIC_FEATURES))
    assert pricing.shape == (B, 6)
    assert target.shape == (B,)
    assert tensors.sequence_features == len(SEQUENCE_FEATURES)
    assert tensors.static_features == len(STATIC_FEATURES)
    np.testing.assert_allclose(
        sequence.numpy(), explicit_sequence(samples, scalers, index), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_array_equal(static.numpy(), scalers.static.transform(samples.static)[index])
    np.testing.assert_array_equal(pricing.numpy(), samples.pricing_inputs()[index])
    np.testing.assert_array_equal(target.numpy(), samples.target()[index])
    mid, strike = samples.rows["mid"].to_numpy(), samples.rows["strike"].to_numpy()
    np.testing.assert_allclose(target.numpy(), mid[index] / strike[index], rtol=1e-6)


def test_long_window_reaches_before_the_first_day(long_samples):
    first = int(np.argmin(long_samples.sample_day))
    assert long_samples.sample_day[first] - long_samples.config.sequence_length < 0


def test_pricing_inputs(samples):
    pricing = samples.pricing_inputs()
    rows = samples.rows
    np.testing.assert_allclose(pricing[:, 0], rows["underlying"] / rows["strike"], rtol=1e-6)
    np.testing.assert_allclose(pricing[:, 1], rows["tau"], rtol=1e-6)
    np.testing.assert_allclose(pricing[:, 2], samples.anchor_iv, rtol=1e-6)
    np.testing.assert_array_equal(pricing[:, 3], rows["option_type"] == "C")
    assert (pricing[:, 4] == np.float32(0.02)).all()
    # q: the dividend yield that prices at the t-1 parity forward (r - carry)
    np.testing.assert_allclose(pricing[:, 5], 0.02 - rows["carry"], rtol=1e-6)
    assert np.abs(pricing[:, 5] - 0.015).max() < 1e-4  # the builder's carry is r - q


# --- scalers ----------------------------------------------------------------------------------------


def test_standardizer_scales_columns():
    values = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]])
    s = Standardizer.fit(values)
    np.testing.assert_allclose(s.mean, [3.0, 30.0])
    np.testing.assert_allclose(s.std, values.std(axis=0))
    scaled = s.transform(values)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-7)
    np.testing.assert_allclose(scaled.std(axis=0), 1, rtol=1e-6)


def test_standardizer_constant_column_gets_unit_std():
    values = np.array([[2.0, 1.0], [2.0, 2.0], [2.0, 3.0]])
    s = Standardizer.fit(values)
    assert s.std[0] == 1.0
    assert s.mean[0] == 2.0
    np.testing.assert_array_equal(s.transform(values)[:, 0], 0.0)
    np.testing.assert_array_equal(s.transform(np.array([[5.0, 2.0]])), [[3.0, 0.0]])


def test_standardizer_ignores_nan_when_fitting_and_zeroes_it_when_scaling():
    values = np.array([[1.0, np.nan], [np.nan, np.nan], [3.0, np.nan]])
    with warnings.catch_warnings():  # numpy warns of the all-NaN column's empty mean
        warnings.simplefilter("ignore", RuntimeWarning)
        s = Standardizer.fit(values)
    np.testing.assert_array_equal(s.mean, [2.0, 0.0])
    np.testing.assert_array_equal(s.std, [1.0, 1.0])
    scaled = s.transform(values)
    np.testing.assert_array_equal(scaled, [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    assert np.isfinite(scaled).all()


def test_standardizer_one_dimensional_and_round_trip():
    s = Standardizer.fit(np.array([1.0, 2.0, 3.0, 4.0]))
    out = s.transform(np.array([2.5, 5.0]))
    assert out.shape == (2,)
    back = Standardizer.from_dict(s.to_dict())
    np.testing.assert_array_equal(back.mean, s.mean)
    np.testing.assert_array_equal(back.std, s.std)
    np.testing.assert_array_equal(back.transform(np.array([2.5, 5.0])), out)


def assert_same_scalers(a, b):
    for name in ("static", "history", "underlying_return"):
        np.testing.assert_array_equal(getattr(a, name).mean, getattr(b, name).mean)
        np.testing.assert_array_equal(getattr(a, name).std, getattr(b, name).std)
    assert a.price_scale == b.price_scale


def test_scalers_round_trip_through_dict(samples):
    from optvol.core.options.gru.network import Scalers

    scalers = fit_scalers(samples)
    assert_same_scalers(Scalers.from_dict(scalers.to_dict()), scalers)
    assert scalers.price_scale > 0


def perturbed(samples, split: str):
    """A copy of ``samples`` whose static features, targets, history and underlying
    returns are changed on the days of ``split`` only."""
    index = samples.indices(split)
    days = np.unique(samples.sample_day[index])
    static = samples.static.copy()
    static[index] += 7.0
    rows = samples.rows.copy()
    rows.loc[index, "mid"] *= 3.0
    history = samples.history.copy()
    history[np.isin(samples.slot_day, days)] += 5.0
    underlying_return = samples.underlying_return.copy()
    underlying_return[days] += 0.5
    return dataclasses.replace(
        samples, static=static, rows=rows, history=history, underlying_return=underlying_return
    )


@pytest.mark.parametrize("split", ["validation", "test"])
def test_fit_scalers_uses_training_data_only(samples, split):
    assert_same_scalers(fit_scalers(perturbed(samples, split)), fit_scalers(samples))


def test_fit_scalers_follows_the_training_data(samples):
    """Control: the same change on the training days changes every scaler."""
    base, changed = fit_scalers(samples), fit_scalers(perturbed(samples, "train"))
    for name in ("static", "history", "underlying_return"):
        assert not np.array_equal(getattr(changed, name).mean, getattr(base, name).mean), name
    assert changed.price_scale != base.price_scale


# --- memory layout and devices ----------------------------------------------------------------------


def test_standardizer_in_chunks_equals_one_piece(monkeypatch):
    rng = np.random.default_rng(1)
    values = rng.normal(3.0, 2.0, (11, 4)).astype(np.float32)
    values[rng.random(values.shape) < 0.2] = np.nan
    scaler = Standardizer.fit(values)
    whole, whole_1d = (
        scaler.transform(values),
        Standardizer.fit(values[:, 0]).transform(values[:, 0]),
    )
    monkeypatch.setattr(row_chunks, "CHUNK_ROWS", 3)
    np.testing.assert_array_equal(scaler.transform(values), whole)
    np.testing.assert_array_equal(Standardizer.fit(values[:, 0]).transform(values[:, 0]), whole_1d)
    # ... which is the formula, computed in float64.
    expected = np.nan_to_num((values.astype(np.float64) - scaler.mean) / scaler.std)
    np.testing.assert_array_equal(whole, expected.astype(np.float32))


def test_standardizer_writes_into_out_and_refuses_a_wrong_one():
    values = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]])
    scaler = Standardizer.fit(values)
    slots = np.full((3, 3), 7.0, np.float32)
    returned = scaler.transform(values, out=slots[:, :2])
    assert np.shares_memory(returned, slots)
    np.testing.assert_array_equal(slots[:, :2], scaler.transform(values))
    np.testing.assert_array_equal(slots[:, 2], 7.0)  # the rest untouched
    for wrong in (np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float64)):
        kept = wrong.copy()
        with pytest.raises(ValueError, match=r"out must be float32 of shape \(3, 2\)"):
            scaler.transform(values, out=wrong)
        np.testing.assert_array_equal(wrong, kept)


def test_standardizer_transforms_no_rows():
    scaler = Standardizer.fit(np.array([[1.0, 2.0], [3.0, 5.0]]))
    out = scaler.transform(np.zeros((0, 2)))
    assert out.shape == (0, 2) and out.dtype == np.float32


def sample_tensors_equal(a: SampleTensors, b: SampleTensors) -> None:
    for name in ("slots", "returns", "static", "pricing", "target", "sample_slot", "sample_day"):
        x, y = getattr(a, name).cpu(), getattr(b, name).cpu()
        assert x.dtype == y.dtype, name
        assert torch.equal(x, y), name


def test_sample_tensors_in_chunks_equal_one_piece(samples, monkeypatch):
    scalers = fit_scalers(samples)
    whole = SampleTensors(samples, scalers, CPU)
    monkeypatch.setattr(row_chunks, "CHUNK_ROWS", 5)
    sample_tensors_equal(SampleTensors(samples, scalers, CPU), whole)
    # The slots are the scaled history, 0 where not quoted, then the mask.
    history = scalers.history.transform(samples.history)
    history[~samples.quoted] = 0.0
    np.testing.assert_array_equal(whole.slots[:, :-1].numpy(), history)
    np.testing.assert_array_equal(whole.slots[:, -1].numpy(), samples.quoted)


def test_to_device_on_the_cpu_shares_the_array():
    values = np.arange(6, dtype=np.int64)
    tensor = to_device(values, CPU)
    assert tensor.device == CPU
    values[0] = 42
    assert int(tensor[0]) == 42


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
def test_to_device_copies_to_cuda():
    values = np.arange(6, dtype=np.float32)
    tensor = to_device(values, torch.device("cuda"))
    assert tensor.device.type == "cuda"
    np.testing.assert_array_equal(tensor.cpu().numpy(), values)


@cuda
def test_batches_on_cuda_equal_those_on_the_cpu(samples):
    scalers = fit_scalers(samples)
    on_cpu = SampleTensors(samples, scalers, CPU)
    on_gpu = SampleTensors(samples, scalers, torch.device("cuda"))
    sample_tensors_equal(on_gpu, on_cpu)
    index = torch.arange(len(samples.rows))
    for gpu, cpu in zip(on_gpu.batch(index.cuda()), on_cpu.batch(index), strict=True):
        assert gpu.device.type == "cuda"
        assert torch.equal(gpu.cpu(), cpu)


def test_stacked_inputs_of_the_same_samples_share_one_dropout_mask():
    model = factor_network().train()
    model.head[2].p = 0.5
    hidden = torch.randn(32, 8)
    static = torch.randn(32, len(STATIC_FEATURES))
    pricing = torch.tensor([[1.0, 0.5, 0.2, 1.0, 0.02, 0.015]] * 32)
    stacked = model.price(hidden, torch.stack([static] * 3), torch.stack([pricing] * 3))
    # The same inputs three times give the same prices: one mask for the three.
    torch.testing.assert_close(stacked[0], stacked[1])
    torch.testing.assert_close(stacked[0], stacked[2])
    # ... while two calls draw two masks.
    assert not torch.allclose(model.price(hidden, static, pricing),
                              model.price(hidden, static, pricing))  # fmt: skip


def test_hedging_tensors_hold_the_inputs_at_the_bumped_prices(samples):
    from optvol.core.options.hedging import BUMP

    scalers = fit_scalers(samples)
    tensors = SampleTensors(samples, scalers, CPU, hedging=True)
    index = torch.arange(0, len(samples.rows), 7)
    static, pricing, change, move = tensors.hedge_batch(index)
    spot = samples.context.previous_spot[index.numpy()]
    np.testing.assert_allclose(pricing[0, :, 0].numpy(),
                               spot * (1 + BUMP) / samples.rows["strike"].to_numpy()[index],
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(pricing[1, :, 0].numpy(),
                               spot * (1 - BUMP) / samples.rows["strike"].to_numpy()[index],
                               rtol=1e-6)  # fmt: skip
    rows = samples.rows.iloc[index.numpy()]
    np.testing.assert_allclose(
        change.numpy(),
        (rows["mid"].to_numpy() - samples.context.previous.mid[index.numpy()])
        / rows["strike"].to_numpy(),
        rtol=1e-5, atol=1e-9,
    )  # fmt: skip
    np.testing.assert_allclose(move.numpy(), rows["underlying"].to_numpy() / spot - 1, rtol=1e-5)
    # At the samples' own prices the static inputs are those of the samples.
    own, _ = samples.inputs_at(samples.rows["underlying"].to_numpy())
    np.testing.assert_array_equal(own, samples.static)
    assert SampleTensors(samples, scalers, CPU).hedging is None
