"""Chunks of rows: how the numpy maths over samples bounds its scratch memory.

Everything in :mod:`~deepclust_sklearn.clustering` and
:mod:`~deepclust_sklearn.whitening` that runs over samples runs in chunks of
rows, so ``predict`` and ``transform`` need memory for their output plus one
chunk, whatever the number of samples.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# Rows per chunk, at most; fewer when one row's scratch (n_features or
# n_clusters float64 values) is large, so that a chunk's scratch arrays stay
# near _CHUNK_VALUES values (2 MiB of float64). Small scratch arrays are
# reused by the allocator; 64 MiB ones cost fresh pages every chunk (measured:
# nearest centres of 100,000 x 256 points, k=100, 0.22 s instead of 0.37 s).
_MAX_CHUNK_ROWS = 65536
_CHUNK_VALUES = 1 << 18


def _chunk_rows(width: int) -> int:
    """Rows per chunk so that a (rows, width) float64 scratch array stays small."""
    return int(np.clip(_CHUNK_VALUES // max(int(width), 1), 1, _MAX_CHUNK_ROWS))


def _chunks(n_samples: int, rows: int) -> Iterator[slice]:
    for start in range(0, n_samples, rows):
        yield slice(start, min(start + rows, n_samples))


def _output_dtype(X: np.ndarray) -> type:
    """float32 input gives float32 output, anything else float64."""
    return np.float32 if X.dtype == np.float32 else np.float64
