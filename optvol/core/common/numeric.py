"""NumPy helpers whose call overhead matters on the few elements of an API request."""

from __future__ import annotations

import numpy as np

_LARGEST = {np.dtype(t): np.finfo(t).max for t in (np.float16, np.float32, np.float64)}


def nan_to_num(values: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(values)`` (NaN to 0, infinities to the dtype's largest finite
    values, a new array) for a float array, at a fraction of its cost on small arrays:
    NumPy's spends about 10 µs in Python on each call, this one four ufuncs."""
    values = np.asarray(values)
    largest = _LARGEST.get(values.dtype)
    if largest is None or values.ndim == 0:
        return np.nan_to_num(values)
    zeroed = np.where(np.isnan(values), values.dtype.type(0), values)
    return np.minimum(np.maximum(zeroed, -largest), largest)
