"""Equal texts across millions of rows in bounded memory: 128-bit digests on disk, sorted bucket by bucket.

While a corpus is written, :class:`DigestLog` appends one 128-bit BLAKE2b digest per row for each key (the ids;
the answer in each language) to a file; memory does not grow with the texts, and nothing written is read back
(reading spread-out rows of memory-mapped shards would pull most of them into memory). At the end each key's
digests are split by their leading bits into buckets and each bucket is sorted on its own, so memory holds one
bucket, not every row. Rows with equal digests hold equal texts (two different texts collide with probability
about ``rows**2 / 2**129``); :func:`write_answer_keys` joins rows that share an answer in any language, as
:func:`polyret.sampling.pairs.shared_answer_keys` does for records in memory: each row's key is the smallest row it
is connected to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_ABSENT = bytes(16)
BUCKET_BITS = 6
BUCKETS = 1 << BUCKET_BITS
CHUNK_ROWS = 1 << 20


def text_digests(texts: Iterable[str | None]) -> np.ndarray:
    """128-bit digests of ``texts`` as an ``(n, 2)`` ``int64`` array (zeros for ``None``: an absent text)."""
    joined = b"".join(_ABSENT if text is None else hashlib.blake2b(text.encode(), digest_size=16).digest()
                      for text in texts)
    return np.frombuffer(joined, dtype="<i8").reshape(-1, 2)


class DigestLog:
    """Per key, two ``int64`` per row (a digest, or two numbers), appended to ``<folder>/<key>.digests``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.rows = 0
        self._keys: set[str] = set()

    def append(self, values: dict[str, np.ndarray], rows: int) -> None:
        """Add ``rows`` rows of ``(rows, 2)`` arrays; a key missing from ``values`` (or new) is zero there."""
        for key in values.keys() - self._keys:
            np.zeros((self.rows, 2), dtype=np.int64).tofile(self._path(key))
            self._keys.add(key)
        for key in self._keys:
            found = values[key] if key in values else np.zeros((rows, 2), np.int64)
            with self._path(key).open("ab") as handle:
                np.ascontiguousarray(found, dtype=np.int64).tofile(handle)
        self.rows += rows

    def value(self, key: str, row: int) -> np.ndarray:
        """The two values of ``key`` at ``row`` (read from the file alone)."""
        return np.fromfile(self._path(key), dtype=np.int64, count=2, offset=row * 16)

    def runs(self, key: str) -> Iterator[np.ndarray]:
        """Rows (ascending) sharing one non-zero digest of ``key``, one array per digest held by two rows or more.

        The digests are first split by their leading bits into :data:`BUCKETS` files, read back one at a time, so
        memory holds a bucket (about ``24 * rows / BUCKETS`` bytes), never every row.
        """
        if key not in self._keys:
            return
        buckets = [self.folder / f"{key}.bucket-{b:02d}" for b in range(BUCKETS)]
        for start in range(0, self.rows, CHUNK_ROWS):
            digests = np.fromfile(self._path(key), dtype=np.int64, count=2 * min(CHUNK_ROWS, self.rows - start),
                                  offset=start * 16).reshape(-1, 2)
            table = np.column_stack([np.arange(start, start + len(digests), dtype=np.int64), digests])
            which = (digests[:, 0].view(np.uint64) >> np.uint64(64 - BUCKET_BITS)).astype(np.intp)
            for bucket in np.unique(which):
                with buckets[bucket].open("ab") as handle:
                    table[which == bucket].tofile(handle)
        for path in buckets:
            if path.exists():
                table = np.fromfile(path, dtype=np.int64).reshape(-1, 3)
                path.unlink()
                yield from equal_runs(table[:, 1:], table[:, 0])

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.digests"


def equal_runs(digests: np.ndarray, rows: np.ndarray) -> Iterator[np.ndarray]:
    """Rows (ascending) sharing one non-zero digest, one array per digest held by two rows or more.

    Args:
        digests: ``(n, 2)`` from :func:`text_digests` (zeros where a row has no text).
        rows: the row of each digest.
    """
    order = np.lexsort((digests[:, 1], digests[:, 0]))
    ordered = digests[order]
    starts = np.flatnonzero(np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)])
    sizes = np.diff(np.r_[starts, len(ordered)])
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        if ordered[start].any():
            yield np.sort(rows[order[start : start + size]])


def write_answer_keys(path: Path, rows: int, groups: Iterable[np.ndarray]) -> None:
    """Save as ``.npy`` per row the smallest row it shares an answer with, directly or through others (itself when
    alone); memory grows with the rows that share answers, not with ``rows``.

    Args:
        path: the ``.npy`` file to write.
        rows: the number of rows.
        groups: arrays of rows that share one answer text (from :meth:`DigestLog.runs`, over every language).
    """
    members, keys = _shared_keys(groups)
    with path.open("wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<i8", "fortran_order": False, "shape": (rows,)})
        for start in range(0, rows, CHUNK_ROWS):
            chunk = np.arange(start, min(rows, start + CHUNK_ROWS), dtype=np.int64)
            inside = (members >= start) & (members < start + len(chunk))
            chunk[members[inside] - start] = keys[inside]
            chunk.tofile(handle)


def _shared_keys(groups: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The rows that share an answer with another row, and the smallest row of each one's connected set."""
    heads: list[np.ndarray] = []
    tails: list[np.ndarray] = []
    for group in groups:
        heads.append(np.full(group.size - 1, group[0], dtype=np.int64))
        tails.append(group[1:].astype(np.int64))
    if not heads:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    head, tail = np.concatenate(heads), np.concatenate(tails)
    members = np.unique(np.concatenate([head, tail]))
    nodes = len(members)
    graph = coo_matrix((np.ones(head.size, dtype=np.int8),
                        (np.searchsorted(members, head), np.searchsorted(members, tail))), shape=(nodes, nodes))
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(labels.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, labels, members)
    return members, smallest[labels]
