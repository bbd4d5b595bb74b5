"""The chronological split of the samples by whole dates: train, validation, test."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optvol.core.common.errors import OptvolInputError
from optvol.core.options.samples.config import SampleConfig

SPLITS = ("train", "validation", "test")


def split_of(
    sample_dates: np.ndarray, config: SampleConfig
) -> tuple[pd.Categorical, dict[str, list[str]]]:
    """The split of each sample (a categorical of ``SPLITS``, one byte a sample) and the
    first and last date of each split."""
    unique = np.unique(sample_dates)
    if config.evaluation == "walk_forward":
        return _latest_fit_split(sample_dates, unique, config)
    if config.train_end is not None:
        train_end = np.datetime64(config.train_end, "ns")
        validation_end = np.datetime64(config.validation_end, "ns")
    else:
        if len(unique) < 3:
            raise OptvolInputError(
                f"the samples span {len(unique)} quote date(s); a chronological "
                "train/validation/test split needs at least 3"
            )
        n_train = max(1, int(round(config.train_fraction * len(unique))))
        n_validation = max(1, int(round(config.validation_fraction * len(unique))))
        n_train = min(n_train, len(unique) - 2)
        n_validation = min(n_validation, len(unique) - n_train - 1)
        train_end = unique[n_train - 1]
        validation_end = unique[n_train + n_validation - 1]

    def code(dates: np.ndarray) -> np.ndarray:
        """0 (train) up to train_end, 1 (validation) up to validation_end, else 2 (test)."""
        return (dates > train_end).astype(np.int8) + (dates > validation_end)

    unique_code = code(unique)
    split_dates = {}
    for i, name in enumerate(SPLITS):
        dates = unique[unique_code == i]
        if not len(dates):
            raise OptvolInputError(
                f"the {name} split has no sample (train_end={str(train_end)[:10]}, "
                f"validation_end={str(validation_end)[:10]}, samples from "
                f"{str(unique[0])[:10]} to {str(unique[-1])[:10]})"
            )
        split_dates[name] = [str(dates[0])[:10], str(dates[-1])[:10]]
    return pd.Categorical.from_codes(code(sample_dates), SPLITS), split_dates


def _latest_fit_split(
    sample_dates: np.ndarray, unique: np.ndarray, config: SampleConfig
) -> tuple[pd.Categorical, dict[str, list[str]]]:
    """The split of the model that is saved and served under a walk-forward evaluation:
    every date but the last validation days (:meth:`SampleConfig.validation_days_of`)
    trains, those validate, none tests (the split dates name no test split)."""
    validation_days = config.validation_days_of(len(unique))
    if len(unique) <= validation_days:
        raise OptvolInputError(
            f"the samples span {len(unique)} quote date(s); training needs more than the "
            f"{validation_days} validation days (validation_days)"
        )
    validation_start = unique[-validation_days]
    codes = (sample_dates >= validation_start).astype(np.int8)
    split_dates = {
        "train": [str(unique[0])[:10], str(unique[-validation_days - 1])[:10]],
        "validation": [str(validation_start)[:10], str(unique[-1])[:10]],
    }
    return pd.Categorical.from_codes(codes, SPLITS), split_dates
