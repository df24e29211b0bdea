"""Compact integer arrays for the pools of an epoch drawn batch by batch: ascending ids with select, and a bucket
that takes by swap-and-pop while holding only the places it has changed.

A pool of ``n`` members held as a plain array costs ``8 n`` bytes for the whole epoch; an epoch of the hybrid design
keeps 81 such pools (one per language pair) at 9 languages. Here a bucket starts as its sorted ids
(:class:`SortedIds`: a range, or a bit set with block counts, about 0.14 bytes per id of the range it spans) and
records the places swap-and-pop writes in two sorted levels, a small one folded now and then into a large one;
places at or beyond the fill level are dropped at each fold. A bucket drained by a fraction ``t`` of its members
holds about ``t (1 - t) n`` changed places.
"""

from __future__ import annotations

import numpy as np

_BLOCK_BITS = 512  # ids per select block: 64 bytes of bits and one int64 count
DENSE_UP_TO = 1 << 16  # buckets this small start as plain arrays: their bytes do not matter, their speed does
_PENDING = 1024  # written places gathered in the small level before it is folded into the large one


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
    pick in turn, the last item moving into its place; :meth:`append` writes after the last item. A bucket of up
    to :data:`DENSE_UP_TO` items is that plain copy; a larger one holds its written places in two sorted levels: a
    small one that takes each write, folded into the large one when it is full.

    Args:
        base: the initial items (:class:`SortedIds`, or an array for a few).
        dtype: the integer type of the written items and their places (``int32`` where all of them fit).
    """

    def __init__(self, base: SortedIds | np.ndarray, dtype: type = np.int64) -> None:
        self._base = base
        self.size = len(base)
        self._dense = base[np.arange(len(base))].astype(np.int64) if len(base) <= DENSE_UP_TO else None
        empty = np.empty(0, dtype=dtype)
        self._recent = (empty, empty)  # (places ascending, items) written since the last fold
        self._folded = (empty, empty)

    def take(self, picks: np.ndarray) -> np.ndarray:
        """Remove and return the items at ``picks`` in turn (pick ``j`` lies below ``size - j``)."""
        count = len(picks)
        last = self.size - count
        if count > 1 and (picks.max() >= last or len(set(picks.tolist())) < count):
            return self._take_one_by_one(picks)
        if self._dense is not None:  # no pick repeats or falls on the tail the earlier picks move: all at once
            out = self._dense[picks]
            self._dense[picks] = self._dense[last : self.size][::-1]
            self.size = last
            return out
        out = self._read(picks)
        moved = self._read(np.arange(self.size - 1, last - 1, -1))
        self.size = last
        self._write(picks, moved)
        return out

    def _take_one_by_one(self, picks: np.ndarray) -> np.ndarray:
        out = np.empty(len(picks), dtype=np.int64)
        for index, pick in enumerate(picks.tolist()):
            self.size -= 1
            if self._dense is not None:
                out[index] = self._dense[pick]
                self._dense[pick] = self._dense[self.size]
                continue
            out[index], moved = self._read(np.array([pick, self.size]))
            self._write(np.array([pick]), np.array([moved]))
        return out

    def append(self, new: np.ndarray) -> None:
        """Put ``new`` after the last item."""
        self.size += len(new)
        if self._dense is None:
            self._write(np.arange(self.size - len(new), self.size), new)
            return
        if self.size > len(self._dense):
            grown = np.empty(max(2 * len(self._dense), self.size), dtype=np.int64)
            grown[: self.size - len(new)] = self._dense[: self.size - len(new)]
            self._dense = grown
        self._dense[self.size - len(new) : self.size] = new

    def _read(self, places: np.ndarray) -> np.ndarray:
        out = np.zeros(len(places), dtype=np.int64)
        in_base = places < len(self._base)
        out[in_base] = self._base[places[in_base]]
        for level in (self._folded, self._recent):  # the later level wins
            hit, found = _find(level[0], places)
            out[hit] = level[1][found[hit]]
        return out

    def _write(self, places: np.ndarray, items: np.ndarray) -> None:
        """Set distinct ``places`` (below ``size``, already updated) to ``items``; fold the recent level into the
        large one when it is full, dropping the places at or past the fill level."""
        self._recent = _upsert(self._recent, places, items)
        if len(self._recent[0]) >= _PENDING:
            places, items = self._recent
            self._folded = _upsert(self._folded, places, items)
            live = np.searchsorted(self._folded[0], self.size)
            self._folded = (self._folded[0][:live], self._folded[1][:live])
            self._recent = (places[:0], items[:0])


def _find(keys: np.ndarray, places: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which ``places`` occur in the ascending ``keys``, and where (valid where they occur)."""
    found = np.minimum(np.searchsorted(keys, places), max(len(keys) - 1, 0))
    return (keys[found] == places) if len(keys) else np.zeros(len(places), dtype=bool), found


def _upsert(level: tuple[np.ndarray, np.ndarray], places: np.ndarray,
            items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``level`` (ascending places, items) with distinct ``places`` set to ``items``."""
    keys, values = level
    order = np.argsort(places)
    places, items = places[order], items[order]
    known, found = _find(keys, places)
    values = values.copy()
    values[found[known]] = items[known]
    places, items = places[~known], items[~known]
    at = np.searchsorted(keys, places) + np.arange(len(places))  # where the new places land, in order
    kept = np.ones(len(keys) + len(places), dtype=bool)
    kept[at] = False
    merged_keys, merged_values = np.empty(len(kept), dtype=keys.dtype), np.empty(len(kept), dtype=values.dtype)
    merged_keys[at], merged_keys[kept] = places, keys
    merged_values[at], merged_values[kept] = items, values
    return merged_keys, merged_values
