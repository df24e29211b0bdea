"""A pool of members that hands out batches with no id (answer key) twice, each member at most once per epoch.

Members are integers (question rows of one language slot, or pair codes); everything is held in numpy arrays, so
a pool costs a few bytes per member whatever the number of ids.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def distinct_batch_capacity(counts: Sequence[int] | np.ndarray, batch_size: int) -> int:
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


class _Bucket:
    """The ids with one number of members left: an array with a fill level, taken from by swap-and-pop."""

    def __init__(self, items: np.ndarray) -> None:
        self.items = items
        self.size = len(items)

    def take(self, picks: np.ndarray) -> np.ndarray:
        """Remove and return ``items[pick]`` for each pick in turn, the last item moving into its place.

        Pick ``j`` lies below ``size - j``. When no pick repeats an earlier one and none falls on the last
        ``len(picks)`` places (which the earlier picks move away), every pick reads an item no earlier step moved,
        and the steps are done at once; otherwise one by one.
        """
        items, count = self.items, len(picks)
        last = self.size - count
        if count > 1 and (picks.max() >= last or len(set(picks.tolist())) < count):
            return self._take_one_by_one(picks)
        out = items[picks]
        items[picks] = items[last : self.size][::-1]
        self.size = last
        return out

    def _take_one_by_one(self, picks: np.ndarray) -> np.ndarray:
        items, size = self.items, self.size
        out = np.empty(len(picks), dtype=items.dtype)
        for index, pick in enumerate(picks.tolist()):
            size -= 1
            out[index] = items[pick]
            items[pick] = items[size]
        self.size = size
        return out

    def append(self, new: np.ndarray) -> None:
        if self.size + len(new) > len(self.items):
            grown = np.empty(max(2 * len(self.items), self.size + len(new)), dtype=self.items.dtype)
            grown[: self.size] = self.items[: self.size]
            self.items = grown
        self.items[self.size : self.size + len(new)] = new
        self.size += len(new)


class DistinctIdPool:
    """Members grouped by id; :meth:`take` draws a batch from the ids with the most members left (random
    tie-break).

    Taking from the fullest ids first is what lets the pool fill exactly :func:`distinct_batch_capacity` batches,
    so an epoch's length does not depend on the seed. When every id holds one member (a per-language slot without
    shared answers) this is plain shuffling without replacement.

    Args:
        members: every member, each id's members contiguous (:func:`group_by_key`).
        starts: where each id's members start, followed by ``len(members)``.
        batch_size: members per batch (a global batch under DDP).
        rng: the epoch's random generator; it shuffles each id's members (in id order) and breaks ties.
    """

    def __init__(self, members: np.ndarray, starts: np.ndarray, batch_size: int, rng: np.random.Generator) -> None:
        self.batch_size = batch_size
        self._rng = rng
        self._steps = np.arange(batch_size)
        sizes = np.diff(starts)
        self._singletons = bool(np.all(sizes == 1))
        if self._singletons:  # the bucket holds the members themselves
            self._buckets = {1: _Bucket(members.copy())} if len(members) else {}
        else:
            self._members = members.copy()
            for group in np.flatnonzero(sizes > 1).tolist():
                self._members[starts[group] : starts[group + 1]] = rng.permutation(
                    self._members[starts[group] : starts[group + 1]])
            self._starts, self._left = starts[:-1], sizes.copy()
            groups = np.arange(len(sizes), dtype=np.int64)
            self._buckets = {int(size): _Bucket(groups[sizes == size]) for size in np.unique(sizes) if size}
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
        if self._singletons:  # one bucket, and the batch is what it hands out
            bucket = self._buckets[1]
            return bucket.take(self._rng.integers(0, bucket.size - self._steps))
        chosen, needed = [], self.batch_size
        for count in sorted(self._buckets, reverse=True):
            bucket = self._buckets[count]
            picks = min(needed, bucket.size)
            if picks:
                chosen.append(bucket.take(self._rng.integers(0, bucket.size - np.arange(picks))))
                needed -= picks
            if not needed:
                break
        groups = np.concatenate(chosen)
        self._left[groups] -= 1
        left = self._left[groups]
        for count in np.unique(left[left > 0]).tolist():
            self._buckets.setdefault(count, _Bucket(np.empty(0, dtype=np.int64))).append(groups[left == count])
        self._buckets = {count: bucket for count, bucket in self._buckets.items() if bucket.size}
        return self._members[self._starts[groups] + left]
