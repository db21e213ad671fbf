"""Mini-batches: shuffled lists of sample indices, one pass over them being one epoch."""

from __future__ import annotations

import numbers
import random
from collections.abc import Iterator


def batches(n: int, batch_size: int, shuffle: bool = True,
            seed: int | None = None) -> Iterator[list[int]]:
    """Yield lists of indices into n samples, batch_size at a time; every index once.

    The last batch keeps the leftover samples, so it may be shorter. With shuffle,
    the order comes from a private ``random.Random(seed)`` (fresh entropy for
    seed=None); Python's global random state is never touched. The arguments are
    checked when batches() is called, not when iteration starts.

    >>> list(batches(5, 2, shuffle=False))
    [[0, 1], [2, 3], [4]]
    >>> sorted(i for batch in batches(5, 2, seed=0) for i in batch)
    [0, 1, 2, 3, 4]
    """
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
        raise ValueError(f"batches: n must be an integer >= 0, got {n!r}")
    if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) \
            or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive integer, got {batch_size!r}")
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
        raise TypeError(f"batches: seed must be an int or None, got {type(seed).__name__}")
    order = list(range(n))
    if shuffle:
        random.Random(seed).shuffle(order)
    return _chunks(order, int(batch_size))


def _chunks(order: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(order), size):
        yield order[start:start + size]
