"""The fast nan_to_num gives NumPy's result, dtype and sign of zero included."""

from __future__ import annotations

import numpy as np
import pytest

from optvol.core.common.numeric import nan_to_num


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(9,), (3, 3)])
def test_nan_to_num_is_numpys(dtype, shape):
    values = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5, -2.0, -np.nan, 3e4],
                      dtype=dtype).reshape(shape)  # fmt: skip
    got, want = nan_to_num(values), np.nan_to_num(values)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert np.isnan(values).sum() == 2  # the input is left as it was


@pytest.mark.parametrize("values", [np.float64(np.nan), np.array(np.inf), [1, 2], np.array([1, 2])])
def test_scalars_and_other_types_take_numpys_own(values):
    np.testing.assert_array_equal(nan_to_num(values), np.nan_to_num(values))
