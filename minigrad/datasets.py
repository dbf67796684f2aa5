"""Datasets and mini-batches."""

from __future__ import annotations

from typing import Iterator

import numpy as np

__all__ = ["minibatches"]


def minibatches(
    x: np.ndarray,
    t: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (x_batch, t_batch) covering every sample once, in a seeded random order; the last batch may be smaller."""
    n = len(x)
    if len(t) != n:
        raise ValueError(f"minibatches: x has {n} samples but t has {len(t)}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"minibatches: batch_size must be a positive integer, got {batch_size!r}")
    order = np.random.default_rng(rng).permutation(n) if shuffle else None
    for start in range(0, n, batch_size):
        if order is None:
            yield x[start : start + batch_size], t[start : start + batch_size]
        else:
            idx = order[start : start + batch_size]
            yield x[idx], t[idx]
