"""Exact inner-product search in memory-bounded query blocks, and FAISS indexes for large pools.

Scores are inner products (cosine for unit vectors). Queries are processed in blocks whose score matrix fits a
memory budget, so the full ``n_queries x n_passages`` matrix is never held when it is large.

Tie rule (everywhere in this module): passages are ordered by score, highest first, and equal scores by their
position in the pool, lowest first. So ``rank_relevant`` and ``top_k`` always agree, ranks within a query are
distinct, and results are deterministic. (trec_eval breaks ties by docid, descending; with float embeddings ties are
rare, and tests compare against it on runs with unique scores.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from polyret.errors import UsageError
from polyret.io import atomic_write

DEFAULT_MEMORY_BUDGET = 512 * 2**20
"""Bytes the temporary score block (and its sort buffers) may take."""

_BYTES_PER_CELL = 16  # float32 score + int64 partition index + comparison buffers


def block_rows(n_passages: int, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> int:
    """How many queries to score at once so that one block stays within ``memory_budget`` bytes."""
    return max(1, memory_budget // (_BYTES_PER_CELL * max(1, n_passages)))


def top_k(q: np.ndarray, p: np.ndarray, k: int, *, block_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best passages per query by inner product, exactly.

    Args:
        q: ``(n_queries, dim)`` query vectors.
        p: ``(n_passages, dim)`` passage vectors.
        k: how many to return (capped at ``n_passages``).
        block_size: queries per block; by default chosen from :data:`DEFAULT_MEMORY_BUDGET`.

    Returns:
        ``(scores, indices)``, each ``(n_queries, k)``, best first (ties: lower passage index first).
    """
    _check_shapes(q, p)
    k = min(k, p.shape[0])
    scores = np.empty((q.shape[0], k), dtype=np.float32)
    indices = np.empty((q.shape[0], k), dtype=np.int64)
    for rows, block in _score_blocks(q, p, block_size):
        indices[rows] = _block_top_k(block, k)
        scores[rows] = np.take_along_axis(block, indices[rows], axis=1)
    return scores, indices


@dataclass(slots=True)
class RelevantRanks:
    """1-based ranks of each query's relevant passages, aligned with the ``relevant`` index arrays given.

    Attributes:
        pool: rank of each relevant passage among all passages.
        within_group: rank among the passages of its own column group (e.g. its language); without groups the
            whole pool is one group, so this equals ``pool``.
        top_indices: ``(n_queries, top)`` best passage indices per query (no columns when ``top`` is 0).
    """

    pool: list[np.ndarray]
    within_group: list[np.ndarray]
    top_indices: np.ndarray


def rank_relevant(
    q: np.ndarray,
    p: np.ndarray,
    relevant: Sequence[np.ndarray],
    *,
    column_groups: np.ndarray | None = None,
    block_size: int | None = None,
    top: int = 0,
) -> RelevantRanks:
    """Rank every query's relevant passages in the whole pool and within each passage's own group.

    One matrix product per query block yields every setting at once: with ``column_groups`` = passage language,
    ``pool`` ranks give the multilingual setting and ``within_group`` ranks give each single-language pool
    (X-X and X-Y), because restricting the pool to one group keeps the relative order of its passages.

    Args:
        q: ``(n_queries, dim)`` query vectors.
        p: ``(n_passages, dim)`` passage vectors.
        relevant: per query, the indices into ``p`` of its relevant passages.
        column_groups: ``(n_passages,)`` group label per passage (any comparable dtype), or ``None``.
        block_size: queries per block; by default chosen from :data:`DEFAULT_MEMORY_BUDGET`.
        top: also return the indices of the ``top`` best passages per query (0: don't).

    Returns:
        The ranks (1-based; ties broken by pool position) and, if asked, the top passage indices.
    """
    _check_shapes(q, p)
    if len(relevant) != q.shape[0]:
        raise UsageError(f"got relevant sets for {len(relevant)} queries, expected {q.shape[0]}")
    n = p.shape[0]
    groups = np.asarray(column_groups) if column_groups is not None else None
    if groups is not None and groups.shape != (n,):
        raise UsageError(f"column_groups has shape {groups.shape}, expected ({n},)")
    positions = np.arange(n)
    pool: list[np.ndarray] = []
    within: list[np.ndarray] = []
    top_indices = np.empty((q.shape[0], min(top, n)), dtype=np.int64)
    for rows, block in _score_blocks(q, p, block_size):
        top_indices[rows] = _block_top_k(block, top_indices.shape[1])
        for row, scores in zip(range(rows.start, rows.stop), block, strict=True):
            rel = np.asarray(relevant[row], dtype=np.int64)
            own = scores[rel][:, None]
            ahead = (scores > own) | ((scores == own) & (positions < rel[:, None]))
            pool.append(ahead.sum(axis=1) + 1)
            within.append(pool[-1] if groups is None else (ahead & (groups == groups[rel][:, None])).sum(axis=1) + 1)
    return RelevantRanks(pool, within, top_indices)


def _check_shapes(q: np.ndarray, p: np.ndarray) -> None:
    if q.ndim != 2 or p.ndim != 2 or q.shape[1] != p.shape[1]:
        raise UsageError(f"query and passage vectors must be 2-D with equal width, got {q.shape} and {p.shape}")


def _score_blocks(q: np.ndarray, p: np.ndarray, block_size: int | None) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(rows, q[rows] @ p.T)`` for consecutive blocks of queries."""
    step = block_size or block_rows(p.shape[0])
    p_t = np.ascontiguousarray(p, dtype=np.float32).T
    for start in range(0, q.shape[0], step):
        rows = slice(start, min(start + step, q.shape[0]))
        yield rows, np.asarray(q[rows], dtype=np.float32) @ p_t


def _block_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best columns of each row, best first, ties by column index (exact, deterministic)."""
    n = scores.shape[1]
    if k == 0:
        return np.empty((scores.shape[0], 0), dtype=np.int64)
    part = np.argpartition(scores, n - k, axis=1)[:, n - k :] if k < n else np.tile(np.arange(n), (len(scores), 1))
    threshold = np.take_along_axis(scores, part, axis=1).min(axis=1)
    ambiguous = np.flatnonzero((scores >= threshold[:, None]).sum(axis=1) > k)
    for row in ambiguous:  # ties at the cut: take the lowest indices among the tied scores
        candidates = np.flatnonzero(scores[row] >= threshold[row])
        part[row] = candidates[np.lexsort((candidates, -scores[row, candidates]))][:k]
    chosen = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -chosen))
    return np.take_along_axis(part, order, axis=1)


IndexKind = Literal["flat", "hnsw", "ivf"]


class FaissIndex:
    """An inner-product FAISS index over passage vectors: exact (``flat``) or approximate (``hnsw``, ``ivf``).

    Args:
        passages: ``(n_passages, dim)`` vectors.
        kind: ``flat`` (exact), ``hnsw`` (graph; ``hnsw_m`` links, ``ef_search``) or ``ivf`` (``nlist`` cells,
            default ``sqrt(n_passages)``; ``nprobe`` cells visited per query).
        max_train: IVF trains its cells on at most this many passages (a seeded sample), which keeps training
            time bounded on large pools.
        seed: seed of that sample.
    """

    def __init__(
        self,
        passages: np.ndarray,
        kind: IndexKind = "flat",
        *,
        hnsw_m: int = 32,
        ef_search: int = 128,
        nlist: int | None = None,
        nprobe: int = 16,
        max_train: int = 100_000,
        seed: int = 0,
    ):
        faiss = _faiss()
        vectors = np.ascontiguousarray(passages, dtype=np.float32)
        dim = vectors.shape[1]
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = ef_search
        elif kind == "ivf":
            cells = nlist or max(1, int(np.sqrt(len(vectors))))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, cells, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(seed).choice(len(vectors), min(max_train, len(vectors)), replace=False)
            index.train(vectors[np.sort(sample)])
            index.nprobe = nprobe
        else:
            raise UsageError(f"unknown FAISS index kind {kind!r} (expected flat, hnsw or ivf)")
        index.add(vectors)
        self.kind = kind
        self.index = index

    @classmethod
    def load(cls, path: str | Path, kind: IndexKind) -> FaissIndex:
        """Read an index written by :meth:`save` (``RuntimeError`` when the file is not a readable index)."""
        faiss = _faiss()
        index = cls.__new__(cls)
        index.kind, index.index = kind, faiss.deserialize_index(np.fromfile(path, dtype=np.uint8))
        return index

    def save(self, path: str | Path) -> None:
        """Write the index to ``path`` atomically."""
        with atomic_write(path, "wb") as handle:
            handle.write(_faiss().serialize_index(self.index).tobytes())

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, indices)`` of the ``k`` best passages per query, best first (``-1`` where fewer exist)."""
        scores, indices = self.index.search(np.ascontiguousarray(q, dtype=np.float32), k)
        return scores, indices.astype(np.int64)


def _faiss() -> Any:
    """The faiss module, imported on first use (it is slow to load and only FAISS search needs it)."""
    try:
        import faiss
    except ImportError as exc:
        raise UsageError("FAISS search needs the faiss-cpu package (pip install faiss-cpu)") from exc
    return faiss
