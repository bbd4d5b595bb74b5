"""Tests for optvol.core.common.row_chunks: chunked row-wise computations."""

from __future__ import annotations

import numpy as np
import pytest

import optvol.core.common.row_chunks as row_chunks_module
from optvol.core.common.row_chunks import map_rows, row_chunks


@pytest.fixture
def chunks_of_three(monkeypatch):
    monkeypatch.setattr(row_chunks_module, "CHUNK_ROWS", 3)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 7, 13])
def test_chunks_cover_every_row_once_in_order(chunks_of_three, n):
    chunks = list(row_chunks(n))
    assert all(0 < c.stop - c.start <= 3 for c in chunks)
    np.testing.assert_array_equal(np.concatenate([np.arange(n)[c] for c in chunks]), np.arange(n))
    assert len(chunks) == -(-n // 3)


def test_no_rows_give_one_empty_chunk(chunks_of_three):
    assert [(c.start, c.stop) for c in row_chunks(0)] == [(0, 0)]


def compute(x: np.ndarray):
    def of_rows(rows: slice) -> dict[str, np.ndarray]:
        return {
            "sum": x[rows].sum(axis=1),
            "pair": np.stack([x[rows, 0], -x[rows, 1]], axis=1).astype(np.float32),
            "positive": x[rows, 0] > 0,
        }

    return of_rows


@pytest.mark.parametrize("n", [1, 3, 10])
def test_map_rows_equals_one_call_on_all_rows(chunks_of_three, n):
    x = np.random.default_rng(0).normal(size=(n, 4))
    chunked = map_rows(n, compute(x))
    whole = compute(x)(slice(0, n))
    assert chunked.keys() == whole.keys()
    for name, values in whole.items():
        assert chunked[name].dtype == values.dtype, name
        np.testing.assert_array_equal(chunked[name], values, err_msg=name)


def test_map_rows_of_no_rows_gives_empty_arrays_of_the_right_shape():
    out = map_rows(0, compute(np.zeros((0, 4))))
    assert out["sum"].shape == (0,) and out["sum"].dtype == np.float64
    assert out["pair"].shape == (0, 2) and out["pair"].dtype == np.float32
    assert out["positive"].dtype == bool


def test_map_rows_refuses_chunks_that_name_other_outputs(chunks_of_three):
    def changing(rows: slice) -> dict[str, np.ndarray]:
        return {"a" if rows.start == 0 else "b": np.zeros(rows.stop - rows.start)}

    with pytest.raises(ValueError, match=r"a chunk gave \['b'\], the first one \['a'\]"):
        map_rows(7, changing)
