"""Compact integer arrays for the pools of an epoch drawn batch by batch: ascending ids with select, and a bucket
that takes by swap-and-pop while holding only the places it has changed.

A pool of ``n`` members held as a plain array costs ``8 n`` bytes for the whole epoch; an epoch of the hybrid design
keeps 81 such pools (one per language pair) at 9 languages. Here a bucket starts as its sorted ids
(:class:`SortedIds`: a range, or a bit set with block counts, about 0.14 bytes per id of the range it spans) and
records what swap-and-pop writes in a small dictionary, merged now and then into sorted arrays; places at or beyond
the fill level are dropped at each merge. A bucket drained by a fraction ``t`` of its members holds about
``t (1 - t) n`` changed places.
"""

from __future__ import annotations

import numpy as np

_BLOCK_BITS = 512  # ids per select block: 64 bytes of bits and one int64 count
_PENDING = 1024  # changed places gathered in a dictionary before they are merged into the sorted arrays


class SortedIds:
    """Distinct non-negative ids in ascending order, read by position (``ids[positions]``) without an array of them.

    A run of consecutive ids is held as its first id; other ids as a bit set over ``0..max`` with the number of ids
    before each block of 512, so reading ``k`` positions costs ``k`` block searches.

    Example::

        ids = SortedIds(np.array([2, 3, 7, 40]))
        ids[np.array([0, 3])]  # array([ 2, 40])
    """

    def __init__(self, ids: np.ndarray) -> None:
        self._len = len(ids)
        self._start = int(ids[0]) if self._len else 0
        self._bits: np.ndarray | None = None
        if self._len and int(ids[-1]) - self._start != self._len - 1:  # not one run: a bit set
            blocks = int(ids[-1]) // _BLOCK_BITS + 1
            counts = np.bincount(ids // _BLOCK_BITS, minlength=blocks)
            self._before = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
            mask = np.zeros(blocks * _BLOCK_BITS, dtype=bool)
            mask[ids] = True
            self._bits = np.packbits(mask, bitorder="little").reshape(blocks, _BLOCK_BITS // 8)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, positions: np.ndarray) -> np.ndarray:
        """The ids at ``positions`` (each below ``len``)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self._bits is None or not len(positions):
            return positions + self._start
        block = np.searchsorted(self._before, positions, side="right") - 1
        bits = np.unpackbits(self._bits[block], axis=1, bitorder="little")
        rank = positions - self._before[block]
        return block * _BLOCK_BITS + np.argmax(np.cumsum(bits, axis=1) > rank[:, None], axis=1)


class SparseBucket:
    """Items with a fill level, taken from by swap-and-pop: ``base`` (ids by position) overridden by the places
    written since.

    :meth:`take` returns exactly what swap-and-pop on a plain copy of ``base`` returns: ``items[pick]`` for each
    pick in turn, the last item moving into its place; :meth:`append` writes after the last item.

    Args:
        base: the initial items (:class:`SortedIds`, or an array for a few).
        dtype: the integer type of the written items (``int32`` where every item and place fits).
    """

    def __init__(self, base: SortedIds | np.ndarray, dtype: type = np.int64) -> None:
        self._base = base
        self.size = len(base)
        self._dtype = dtype
        self._places = np.empty(0, dtype=dtype)
        self._items = np.empty(0, dtype=dtype)
        self._pending: dict[int, int] = {}

    def take(self, picks: np.ndarray) -> np.ndarray:
        """Remove and return the items at ``picks`` in turn (pick ``j`` lies below ``size - j``)."""
        count = len(picks)
        last = self.size - count
        if count > 1 and (picks.max() >= last or len(set(picks.tolist())) < count):
            out = self._take_one_by_one(picks)
        else:  # no pick repeats or falls on the tail that the earlier picks move: all steps at once
            out = self._read(picks)
            self._pending.update(zip(picks.tolist(), self._read(np.arange(self.size - 1, last - 1, -1)).tolist(),
                                     strict=True))
            self.size = last
        self._merge_if_full()
        return out

    def _take_one_by_one(self, picks: np.ndarray) -> np.ndarray:
        out = np.empty(len(picks), dtype=np.int64)
        for index, pick in enumerate(picks.tolist()):
            self.size -= 1
            out[index] = self._read(np.array([pick]))[0]
            self._pending[pick] = int(self._read(np.array([self.size]))[0])
        return out

    def append(self, new: np.ndarray) -> None:
        """Put ``new`` after the last item."""
        self._pending.update(zip(range(self.size, self.size + len(new)), new.tolist(), strict=True))
        self.size += len(new)
        self._merge_if_full()

    def _read(self, places: np.ndarray) -> np.ndarray:
        out = np.zeros(len(places), dtype=np.int64)
        in_base = places < len(self._base)
        out[in_base] = self._base[places[in_base]]
        if len(self._places):
            found = np.minimum(np.searchsorted(self._places, places), len(self._places) - 1)
            hit = self._places[found] == places
            out[hit] = self._items[found[hit]]
        if self._pending:
            for index, place in enumerate(places.tolist()):
                item = self._pending.get(place)
                if item is not None:
                    out[index] = item
        return out

    def _merge_if_full(self) -> None:
        """Fold the pending places into the sorted arrays once there are enough, dropping those past the end."""
        if len(self._pending) < _PENDING:
            return
        places = np.fromiter(self._pending.keys(), dtype=self._dtype, count=len(self._pending))
        items = np.fromiter(self._pending.values(), dtype=self._dtype, count=len(self._pending))
        self._pending.clear()
        live = np.searchsorted(self._places, self.size)
        self._places, self._items = self._places[:live], self._items[:live]
        order = np.argsort(places)
        live = places[order] < self.size
        places, items = places[order][live], items[order][live]
        found = np.searchsorted(self._places, places)
        known = found < len(self._places)
        known[known] = self._places[found[known]] == places[known]
        self._items[found[known]] = items[known]
        self._places = np.insert(self._places, found[~known], places[~known])
        self._items = np.insert(self._items, found[~known], items[~known])
