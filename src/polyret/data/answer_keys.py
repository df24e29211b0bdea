"""Equal texts across millions of rows in bounded memory: 128-bit digests on disk, sorted.

While a corpus is written, :class:`DigestLog` appends one 128-bit BLAKE2b digest per row for each key (the ids;
the answer in each language) to a file; memory does not grow with the texts, and nothing written is read back
(reading spread-out rows of memory-mapped shards would pull most of them into memory). At the end, rows with equal
digests hold equal texts (two different texts collide with probability about ``rows**2 / 2**129``), and
:func:`answer_keys` joins rows that share an answer in any language, as
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

    def load(self, key: str) -> np.ndarray:
        """The values of ``key``, ``(rows, 2)`` (zeros where absent)."""
        if key not in self._keys:
            return np.zeros((self.rows, 2), np.int64)
        return np.fromfile(self._path(key), dtype=np.int64).reshape(-1, 2)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.digests"


def equal_runs(digests: np.ndarray) -> Iterator[np.ndarray]:
    """Rows (ascending) sharing one non-zero digest, one array per digest held by two rows or more.

    Args:
        digests: ``(rows, 2)`` from :func:`text_digests` (zeros where a row has no text).
    """
    order = np.lexsort((digests[:, 1], digests[:, 0]))
    ordered = digests[order]
    starts = np.flatnonzero(np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)])
    sizes = np.diff(np.r_[starts, len(ordered)])
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        if ordered[start].any():
            yield np.sort(order[start : start + size])


def answer_keys(rows: int, groups: Iterator[np.ndarray]) -> np.ndarray:
    """Per row the smallest row it shares an answer with, directly or through others (itself when alone).

    Args:
        rows: the number of rows.
        groups: arrays of rows that share one answer text (from :func:`equal_texts`, over every language).
    """
    heads: list[np.ndarray] = []
    tails: list[np.ndarray] = []
    for group in groups:
        heads.append(np.full(group.size - 1, group[0], dtype=np.int64))
        tails.append(group[1:].astype(np.int64))
    if not heads:
        return np.arange(rows, dtype=np.int64)
    head, tail = np.concatenate(heads), np.concatenate(tails)
    graph = coo_matrix((np.ones(head.size, dtype=np.int8), (head, tail)), shape=(rows, rows))
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(labels.max() + 1, rows, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(rows, dtype=np.int64))
    return smallest[labels]
