"""Tests for optvol.core.options.walk_forward: the refits, what each may see, the anchor
chosen from the past, and the stitched out-of-sample rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optvol.core.common.errors import OptvolInputError
from optvol.core.options.evaluation import evaluate_option_models
from optvol.core.options.gru.config import TrainingConfig
from optvol.core.options.samples import ANCHOR_CANDIDATES, SampleConfig, build_samples
from optvol.core.options.walk_forward import (
    anchor_up_to,
    block_samples,
    blocks_of,
    past_out_of_sample,
    train_option_model,
    walk_forward,
    walk_forward_blocks,
)
from optvol_tests.builders import option_quotes_frame

TINY = TrainingConfig(hidden_size=8, head_size=8, slope_size=4, epochs=2, batch_size=256,
                      device="cpu")  # fmt: skip
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def quotes() -> pd.DataFrame:
    # Vols that follow spot, so that the fitted baselines have a slope to find.
    return option_quotes_frame(n_days=60, atm_beta=-1.15, seed=4)


@pytest.fixture(scope="module")
def samples(quotes):
    return build_samples(quotes, SampleConfig(min_train_days=20, refit_every_days=10))


def dates_of(n: int) -> np.ndarray:
    return np.arange(np.datetime64("2021-01-04"), np.datetime64("2021-01-04") + n)


# --- the refits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "config"),
    [
        (56, SampleConfig()),  # a two-month index chain: refits chosen from the data
        (252, SampleConfig()),
        (756, SampleConfig(min_train_days=252, refit_every_days=63, validation_days=21)),
        (41, SampleConfig(min_train_days=30, refit_every_days=7, validation_days=10)),
    ],
)
def test_every_date_after_the_first_window_is_tested_once_by_a_fit_that_never_saw_it(n, config):
    dates = dates_of(n)
    blocks = walk_forward_blocks(dates, config)
    tested = np.concatenate(
        [dates[(dates >= b.test[0]) & (dates <= b.test[1])] for b in blocks]
    )  # fmt: skip
    np.testing.assert_array_equal(tested, dates[config.min_train_days :])
    for block in blocks:
        assert block.train[0] == dates[0]  # expanding
        assert block.train[1] < block.validation[0] <= block.validation[1] < block.test[0]
        # The validation days end the window, right before the test days.
        position = np.searchsorted(dates, block.test[0])
        assert dates[position - 1] == block.validation[1]
    if config.refit_every_days:
        assert all(
            np.searchsorted(dates, b.test[1]) - np.searchsorted(dates, b.test[0]) + 1
            == config.refit_every_days
            for b in blocks[:-1]
        )
    else:  # about 12 refits, at least 5 dates apart
        assert len(blocks) <= 12 or n - config.min_train_days < 60


def test_chosen_cadence_and_validation_follow_the_data():
    config = SampleConfig()
    assert config.refit_every_days_of(36) == 5  # at least 5 dates apart
    assert config.refit_every_days_of(735) == 62  # about 12 refits
    assert config.validation_days_of(20) == 5
    assert config.validation_days_of(100) == 20
    assert config.validation_days_of(700) == 63
    assert config.validation_days_of(6) == 5
    fixed = SampleConfig(refit_every_days=21, validation_days=10)
    assert (fixed.refit_every_days_of(735), fixed.validation_days_of(700)) == (21, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"refit_every_days": -1}, "refit_every_days must be >= 0"),
        ({"validation_days": -2}, "validation_days must be >= 0"),
        ({"min_train_days": 5}, "min_train_days must be >= 6"),
        ({"min_train_days": 20, "validation_days": 20}, "must exceed validation_days"),
        ({"evaluation": "k-fold"}, "evaluation must be one of"),
    ],
)
def test_bad_walk_forward_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SampleConfig(**kwargs)


def test_a_chain_shorter_than_the_first_window_is_refused_naming_the_setting():
    with pytest.raises(OptvolInputError, match="min_train_days=20"):
        walk_forward_blocks(dates_of(20), SampleConfig())


# --- what a refit sees -------------------------------------------------------------------------------


def test_a_refit_fits_its_baselines_on_its_training_days_only(quotes, samples):
    block = blocks_of(samples)[0]
    part = block_samples(samples, block)
    in_a_split = part.rows["split"].notna()
    assert part.rows.loc[in_a_split, "quote_date"].max() == block.test[1]
    assert (part.rows.loc[~in_a_split, "quote_date"] > block.test[1]).all()
    assert part.static is samples.static  # shared, not copied
    assert (part.rows.loc[part.rows["split"] == "train", "quote_date"] <= block.train[1]).all()
    assert (part.rows.loc[part.rows["split"] == "test", "quote_date"] >= block.test[0]).all()
    # Quotes after the training days change no fitted slope.
    later = quotes["quote_date"] > block.train[1]
    changed = quotes.copy()
    changed.loc[later, ["bid", "mid", "ask"]] *= 1.15
    again = block_samples(build_samples(changed, samples.config), block)
    np.testing.assert_array_equal(again.fitted.leverage.by_bucket, part.fitted.leverage.by_bucket)
    assert again.fitted.hull_white == part.fitted.hull_white
    # The slopes are counted by the training dates their pairs fall on.
    train_dates = part.rows.loc[part.rows["split"] == "train", "quote_date"].nunique()
    assert part.fitted.leverage.days.max() == train_dates < part.fitted.leverage.pairs.max()
    keys = ["quote_date", "expiration", "option_type", "strike"]
    tested = again.rows[again.rows["split"] == "test"].merge(
        part.rows[part.rows["split"] == "test"], on=keys, suffixes=("", "_before")
    )
    assert len(tested) and not np.allclose(tested["leverage_bs"], tested["leverage_bs_before"])


def test_past_out_of_sample_prices_are_those_of_the_fit_before_each_day(samples):
    blocks = blocks_of(samples)
    past = past_out_of_sample(samples, blocks)
    dates = samples.rows["quote_date"].to_numpy()
    for block in blocks[1:]:
        on_test = (dates >= block.test[0]) & (dates <= block.test[1])
        expected = block_samples(samples, block).rows
        expected = expected[expected["split"] == "test"]
        for name in ANCHOR_CANDIDATES:
            np.testing.assert_allclose(np.sort(past[name][on_test]), np.sort(expected[name]))
    # Nothing before the first validation day was priced out of sample.
    assert np.isnan(past["leverage_bs"][dates < blocks[0].validation[0]]).all()


def test_the_anchor_is_chosen_on_earlier_days_only(samples):
    blocks = blocks_of(samples)
    past = past_out_of_sample(samples, blocks)
    last = blocks[1].validation[1]
    chosen = anchor_up_to(samples, past, last)
    # Prices after `last` changed beyond recognition change nothing.
    later = samples.rows["quote_date"].to_numpy() > last
    spoiled = {name: np.where(later, 1e6, p) for name, p in past.items()}
    assert anchor_up_to(samples, spoiled, last) == chosen
    assert chosen.on == "earlier out-of-sample days" and chosen.days > 0
    assert chosen.anchor == min(chosen.rmse, key=chosen.rmse.get)


# --- the evaluation ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def walked(samples):
    return walk_forward(samples, TINY)


def test_rows_are_stitched_from_every_refit_with_each_refits_own_fits(samples, walked):
    rows = walked.rows
    blocks = blocks_of(samples)
    assert walked.record()["refits"] == len(blocks) == rows["refit"].nunique()
    assert len(walked.gru) == len(rows) == len(walked.hedge.change_value)
    assert np.isfinite(walked.gru).all()
    for block, record in zip(blocks, walked.refits, strict=True):
        mine = rows["refit"] == block.number
        assert rows.loc[mine, "quote_date"].min() == block.test[0]
        assert rows.loc[mine, "quote_date"].max() == block.test[1]
        assert record["split_dates"]["train"][1] == str(block.train[1])[:10]
        assert record["anchor"]["anchor"] in ANCHOR_CANDIDATES
    # The practitioner's price needs no fit: the stitched rows carry the samples' own.
    merged = rows.merge(samples.rows, on=["quote_date", "expiration", "option_type", "strike"],
                        suffixes=("", "_all"))  # fmt: skip
    np.testing.assert_array_equal(merged["practitioner_bs_mid_iv"],
                                  merged["practitioner_bs_mid_iv_all"])  # fmt: skip


def test_the_walk_forward_is_seeded(samples, walked):
    again = walk_forward(samples, TINY)
    np.testing.assert_array_equal(again.gru, walked.gru)


def test_the_evaluation_document_carries_the_walk_forward_tests_and_hedging(quotes, samples):
    model = train_option_model(samples, TINY)
    metrics = evaluate_option_models(quotes, model, device="cpu").metrics
    walk = metrics.walk_forward
    assert walk.test_days == metrics.dates == len(metrics.by_date.date)
    assert walk.refits == len(walk.by_refit) and walk.first_test_date <= walk.last_test_date
    # Each refit records the share it kept and the one its validation blocks chose, and
    # the clock and carry its anchor priced at.
    for refit in walk.by_refit:
        assert refit.shrinkage_candidate is not None
        assert refit.shrinkage in (0.0, refit.shrinkage_candidate)
        # (the builder's chain is quoted in calendar time with no spot basis)
        assert (refit.business_time, refit.carry_shrinkage) == (0.0, 1.0)
    comparison = metrics.comparison.model_dump()
    for against in ("practitioner", "best_baseline"):
        ratio = comparison[f"rmse_ratio_to_{against}"]
        low, high = comparison[f"rmse_ratio_to_{against}_interval"]
        assert low <= high and low <= ratio * 1.2 and high >= ratio / 1.2
        assert 0 <= comparison[f"dm_p_value_vs_{against}"] <= 1
    assert metrics.comparison.best_baseline in metrics.comparison.rmse_ratio_by_baseline
    assert set(metrics.by_date.rmse) == set(metrics.models)
    assert metrics.hedging.pairs == metrics.rows


def test_the_served_model_trains_on_every_date_but_its_validation_days(samples):
    model = train_option_model(samples, TINY)
    dates = np.unique(samples.rows["quote_date"])
    validation = samples.config.validation_days_of(len(dates))
    assert model.card.split_dates == {
        "train": [str(dates[0])[:10], str(dates[-validation - 1])[:10]],
        "validation": [str(dates[-validation])[:10], str(dates[-1])[:10]],
    }
    assert model.card.anchor.on == "earlier out-of-sample days"


def test_the_practitioner_replaces_a_return_aware_anchor_only_on_significant_evidence():
    from optvol.core.options.gru.anchor import MIN_SWITCH_DAYS, lowest_rmse

    rng = np.random.default_rng(0)

    def choice(days: int, practitioner_error: float):
        dates = np.repeat(np.arange(days), 10)
        mid = rng.normal(10, 1, len(dates))
        prices = {
            "leverage_bs": mid + rng.normal(0, 0.10, len(mid)),
            "hull_white_bs": mid + rng.normal(0, 0.11, len(mid)),
            "practitioner_bs_mid_iv": mid + rng.normal(0, practitioner_error, len(mid)),
        }
        return lowest_rmse(mid, prices, dates, "test")

    # Clearly better over many days: the practitioner's vol.
    assert choice(60, 0.05).anchor == "practitioner_bs_mid_iv"
    # Better over a handful of days, or by a hair: the return-aware one with the lower RMSE.
    few = choice(MIN_SWITCH_DAYS - 1, 0.05)
    assert (
        few.anchor == "leverage_bs" and few.rmse["practitioner_bs_mid_iv"] < few.rmse["leverage_bs"]
    )
    assert choice(60, 0.0999).anchor in ("leverage_bs", "hull_white_bs")
    # Worse: never the practitioner.
    assert choice(60, 0.3).anchor == "leverage_bs"
