"""Row-wise computations over bounded chunks, so that a full-size table's temporaries
stay the size of one chunk.

Every computation run through here is element-wise along the rows (a row's result
depends on that row's inputs only), so chunking changes its memory, never its result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

# Rows per chunk: ~1M rows keeps a chunk's float64 temporaries near 8 MB each, large
# enough that numpy's per-call overhead is negligible.
CHUNK_ROWS = 1 << 20


def row_chunks(n: int) -> Iterator[slice]:
    """Consecutive slices covering ``range(n)``, each at most ``CHUNK_ROWS`` long; one
    empty slice when ``n`` is 0, so that a computation still sees its output shapes."""
    size = CHUNK_ROWS
    for start in range(0, max(n, 1), size):
        yield slice(start, min(start + size, n))


def map_rows(n: int, compute: Callable[[slice], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``compute(rows)`` for each chunk ``rows`` of ``range(n)``, each named output
    written into one array of ``n`` rows: the result of one call on all rows, with the
    temporaries of one chunk."""
    out: dict[str, np.ndarray] = {}
    for rows in row_chunks(n):
        part = compute(rows)
        if not out:
            out = {name: np.empty((n, *v.shape[1:]), v.dtype) for name, v in part.items()}
        elif part.keys() != out.keys():
            raise ValueError(f"a chunk gave {sorted(part)}, the first one {sorted(out)}")
        for name, values in part.items():
            out[name][rows] = values
    return out
