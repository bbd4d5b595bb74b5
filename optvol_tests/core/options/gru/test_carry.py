"""Tests for optvol.core.options.gru.carry: how much of the t-1 carry the network keeps."""

from __future__ import annotations

import numpy as np
import pytest

from optvol.core.options.gru.carry import fit_carry_shrinkage
from optvol.core.options.ingest.clean import add_parity_forwards
from optvol.core.options.samples import SampleConfig, build_samples, shrunk_carry
from optvol_tests.builders import option_quotes_frame


def chain_with_spot_basis(basis_bp: float, seed: int = 1):
    """The builder's chain with the vendor's spot off the options' by an independent
    basis each day (as an index quoted a quarter of an hour before its options close)."""
    quotes = option_quotes_frame(n_days=80, seed=seed)
    rng = np.random.default_rng(seed)
    dates = np.unique(quotes["quote_date"])
    basis = dict(zip(dates, rng.normal(0.0, basis_bp / 1e4, len(dates)), strict=True))
    quotes["underlying_last"] *= np.exp(quotes["quote_date"].map(basis).to_numpy())
    return add_parity_forwards(quotes)


def test_a_transient_spot_basis_is_not_carried_into_the_next_day():
    samples = build_samples(chain_with_spot_basis(40.0), SampleConfig(evaluation="split"))
    shrunk, choice = fit_carry_shrinkage(samples)
    assert choice.shrinkage < 1.0
    assert shrunk.carry_shrinkage == choice.shrinkage
    assert choice.training_rmse[f"{choice.shrinkage:g}"] < choice.training_rmse["1"]
    # The network's pricing inputs carry the shrunk carry; the baselines' do not change.
    q_network = 0.02 - shrunk_carry(samples.rows["carry"].to_numpy(), choice.shrinkage,
                                    samples.config)  # fmt: skip
    np.testing.assert_allclose(shrunk.pricing_inputs()[:, 5], q_network, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(shrunk.rows["leverage_bs"], samples.rows["leverage_bs"])


@pytest.mark.parametrize("basis_bp", [0.0, 1.0])
def test_without_evidence_the_parity_carry_is_kept_whole(basis_bp):
    samples = build_samples(chain_with_spot_basis(basis_bp), SampleConfig(evaluation="split"))
    shrunk, choice = fit_carry_shrinkage(samples)
    assert choice.shrinkage == 1.0 and shrunk.carry_shrinkage == 1.0
    np.testing.assert_array_equal(shrunk.pricing_inputs(), samples.pricing_inputs())
