"""A pool of rows that hands out batches with no id (answer key) twice, each row at most once per epoch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def distinct_batch_capacity(counts: Sequence[int], batch_size: int) -> int:
    """The most full batches of ``batch_size`` rows, no id twice in a batch, that ids with ``counts`` rows fill.

    That is the largest ``n`` with ``sum(min(c, n) for c in counts) >= n * batch_size`` (an id adds at most one
    row to each of the ``n`` batches).
    """
    counts_arr = np.asarray(counts, dtype=np.int64)
    low, high = 0, int(counts_arr.sum()) // batch_size
    while low < high:
        mid = (low + high + 1) // 2
        if int(np.minimum(counts_arr, mid).sum()) >= mid * batch_size:
            low = mid
        else:
            high = mid - 1
    return low


class DistinctIdPool:
    """Rows grouped by id; :meth:`take` draws a batch from the ids with the most rows left (random tie-break).

    Taking from the fullest ids first is what lets the pool fill exactly :func:`distinct_batch_capacity` batches,
    so an epoch's length does not depend on the seed. When every id holds one row (a per-language slot) this is
    plain shuffling without replacement.

    Args:
        groups: ``groups[k]`` lists the rows (any ints) of the ``k``-th id.
        batch_size: rows per batch (a global batch under DDP).
        rng: the epoch's random generator; it shuffles each id's rows and breaks ties.
    """

    def __init__(self, groups: Sequence[Sequence[int]], batch_size: int, rng: np.random.Generator) -> None:
        self.batch_size = batch_size
        self._rng = rng
        self._rows = [list(rng.permutation(np.asarray(g, dtype=np.int64))) for g in groups if len(g)]
        self._buckets: dict[int, list[int]] = {}
        for group, rows in enumerate(self._rows):
            self._buckets.setdefault(len(rows), []).append(group)
        self.capacity = distinct_batch_capacity([len(r) for r in self._rows], batch_size)

    @property
    def remaining_rows(self) -> int:
        """Rows not handed out yet."""
        return sum(len(rows) for rows in self._rows)

    def take(self) -> list[int]:
        """One batch of ``batch_size`` rows from distinct ids; only call while ``capacity > 0``."""
        chosen: list[int] = []
        for count in sorted(self._buckets, reverse=True):
            bucket = self._buckets[count]
            while bucket and len(chosen) < self.batch_size:
                pick = int(self._rng.integers(len(bucket)))
                bucket[pick], bucket[-1] = bucket[-1], bucket[pick]
                chosen.append(bucket.pop())
            if len(chosen) == self.batch_size:
                break
        batch = []
        for group in chosen:
            rows = self._rows[group]
            batch.append(int(rows.pop()))
            if rows:
                self._buckets.setdefault(len(rows), []).append(group)
        self._buckets = {count: groups for count, groups in self._buckets.items() if groups}
        self.capacity -= 1
        return batch
