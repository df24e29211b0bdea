"""A pool of members that hands out batches with no id (answer key) twice, each member at most once per epoch.

Members are integers (question rows of one language slot, or pair codes); everything is held in numpy arrays, so
a pool costs a few bytes per member whatever the number of ids.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from polyret.sampling.buckets import SortedIds, SparseBucket


def distinct_batch_capacity(counts: Sequence[int] | np.ndarray, batch_size: int) -> int:
    """The most full batches of ``batch_size`` rows, no id twice in a batch, that ids with ``counts`` rows fill.

    That is the largest ``n`` with ``sum(min(c, n) for c in counts) >= n * batch_size`` (an id adds at most one
    row to each of the ``n`` batches).
    """
    counts_arr = np.asarray(counts, dtype=np.int64)
    if not len(counts_arr) or counts_arr.max() <= 1:  # one row per id: the batches the rows fill
        return int(np.count_nonzero(counts_arr)) // batch_size
    low, high = 0, int(counts_arr.sum()) // batch_size
    while low < high:
        mid = (low + high + 1) // 2
        if int(np.minimum(counts_arr, mid).sum()) >= mid * batch_size:
            low = mid
        else:
            high = mid - 1
    return low


def group_by_key(members: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``members`` reordered so each key's members are contiguous, and the start of each group (plus the end).

    Groups come in the order their key first occurs; within a group members keep their order. Members with
    distinct keys stay as they are, each its own group.
    """
    if len(keys) < 2 or np.all(keys[1:] > keys[:-1]):  # distinct keys, in order: every member its own group
        return members, np.arange(len(members) + 1, dtype=np.int64)
    if np.all(keys[1:] >= keys[:-1]):  # each key's members already contiguous
        bounds = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        return members, np.concatenate([[0], bounds, [len(keys)]]).astype(np.int64)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    group = rank[inverse]
    order = np.argsort(group, kind="stable")
    return members[order], np.concatenate([[0], np.cumsum(np.bincount(group))]).astype(np.int64)


class DistinctIdPool:
    """Members grouped by id; :meth:`take` draws a batch from the ids with the most members left (random
    tie-break).

    Taking from the fullest ids first is what lets the pool fill exactly :func:`distinct_batch_capacity` batches,
    so an epoch's length does not depend on the seed. When every id holds one member (a per-language slot without
    shared answers) this is plain shuffling without replacement.

    The buckets of ids by members left are :class:`~polyret.sampling.buckets.SparseBucket`s. An id with one member
    is held as that member (its bucket starts as the ascending members of such ids, a
    :class:`~polyret.sampling.buckets.SortedIds`); an id with several as ``-1 - k``, ``k`` its rank among those
    ids, whose members (shuffled) and counts left are plain arrays. So a pool of distinct ids costs a fraction of
    a byte per member until it is drawn from.

    Args:
        members: every member, each id's members contiguous (:func:`group_by_key`).
        starts: where each id's members start, followed by ``len(members)``.
        batch_size: members per batch (a global batch under DDP).
        rng: the epoch's random generator; it shuffles each id's members (in id order) and breaks ties.
    """

    def __init__(self, members: np.ndarray, starts: np.ndarray, batch_size: int, rng: np.random.Generator) -> None:
        self.batch_size = batch_size
        self._rng = rng
        sizes = np.diff(starts)
        several = np.flatnonzero(sizes > 1)
        self._dtype = np.int32 if len(members) < 2**31 and (not len(members) or members.max() < 2**31) else np.int64
        self._grouped = np.concatenate([rng.permutation(members[starts[group] : starts[group + 1]])
                                        for group in several.tolist()] or [np.empty(0, dtype=np.int64)])
        self._grouped_starts = np.concatenate([[0], np.cumsum(sizes[several])[:-1]]).astype(np.int64)
        self._left = sizes[several].astype(np.int64)
        self._buckets: dict[int, SparseBucket] = {}
        if np.any(sizes == 1):
            single = members[starts[:-1][sizes == 1]]
            ascending = single[0] >= 0 and bool(np.all(single[1:] > single[:-1]))
            self._buckets[1] = SparseBucket(SortedIds(single) if ascending else single, self._dtype)
        for size in np.unique(self._left).tolist():
            self._buckets[size] = SparseBucket(-1 - np.flatnonzero(self._left == size), self._dtype)
        self._remaining = len(members)
        self.capacity = distinct_batch_capacity(sizes, batch_size)

    @property
    def remaining_rows(self) -> int:
        """Members not handed out yet."""
        return self._remaining

    def take(self) -> np.ndarray:
        """One batch of ``batch_size`` members of distinct ids; only call while ``capacity > 0``."""
        self._remaining -= self.batch_size
        self.capacity -= 1
        chosen, needed = [], self.batch_size
        for count in sorted(self._buckets, reverse=True):
            bucket = self._buckets[count]
            picks = min(needed, bucket.size)
            if picks:
                chosen.append(bucket.take(self._rng.integers(0, bucket.size - np.arange(picks))))
                needed -= picks
            if not needed:
                break
        ids = np.concatenate(chosen) if len(chosen) > 1 else chosen[0]
        several = ids < 0
        if not several.any():
            self._buckets = {count: bucket for count, bucket in self._buckets.items() if bucket.size}
            return ids
        ranks = -1 - ids[several]
        self._left[ranks] -= 1
        left = self._left[ranks]
        for count in np.unique(left[left > 0]).tolist():
            self._buckets.setdefault(count, SparseBucket(np.empty(0, dtype=np.int64), self._dtype)).append(
                ids[several][left == count])
        self._buckets = {count: bucket for count, bucket in self._buckets.items() if bucket.size}
        members = ids.copy()
        members[several] = self._grouped[self._grouped_starts[ranks] + left]
        return members
