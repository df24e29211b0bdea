"""Exact blockwise search: top-k, relevant ranks in the pool and per group, tie rule, FAISS agreement."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.errors import UsageError
from polyret.evaluation.search import FaissIndex, block_rows, rank_relevant, top_k


def _unit(rng: np.random.Generator, n: int, dim: int = 24) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _reference_order(scores: np.ndarray) -> np.ndarray:
    """Full sort of each row by the documented rule: score descending, then position ascending."""
    return np.stack([np.lexsort((np.arange(len(row)), -row)) for row in scores])


@pytest.fixture
def vectors():
    rng = np.random.default_rng(7)
    return _unit(rng, 37), _unit(rng, 150)


@pytest.mark.parametrize("block_size", [None, 1, 5, 37])
def test_top_k_matches_a_full_sort(vectors, block_size):
    q, p = vectors
    scores, indices = top_k(q, p, 12, block_size=block_size)
    order = _reference_order(q @ p.T)[:, :12]
    np.testing.assert_array_equal(indices, order)
    np.testing.assert_allclose(scores, np.take_along_axis(q @ p.T, order, axis=1), rtol=1e-6)


def test_ties_are_broken_by_pool_position():
    q = np.array([[1.0, 0.0]], dtype=np.float32)
    p = np.array([[0.5, 0.1], [1.0, 0.0], [0.5, -0.1], [1.0, 0.0], [0.5, 0.0], [1.0, 0.0]], dtype=np.float32)
    _, indices = top_k(q, p, 2)
    assert indices.tolist() == [[1, 3]]  # three tied at the top: the two lowest positions win
    ranks = rank_relevant(q, p, [np.array([5, 3, 1])]).pool
    assert ranks[0].tolist() == [3, 2, 1]


def test_k_larger_than_pool(vectors):
    q, p = vectors
    scores, indices = top_k(q, p[:4], 10)
    assert indices.shape == (37, 4)


def test_rank_relevant_pool_and_group_ranks(vectors):
    q, p = vectors
    rng = np.random.default_rng(1)
    groups = rng.choice(np.array(["de", "en", "zh"]), size=len(p))
    relevant = [rng.choice(len(p), size=rng.integers(1, 6), replace=False) for _ in range(len(q))]
    result = rank_relevant(q, p, relevant, column_groups=groups, top=7)
    order = _reference_order(q @ p.T)
    for i, rel in enumerate(relevant):
        position = np.empty(len(p), dtype=int)
        position[order[i]] = np.arange(1, len(p) + 1)
        np.testing.assert_array_equal(result.pool[i], position[rel])
        for j, r in enumerate(rel):
            same = order[i][groups[order[i]] == groups[r]]
            assert result.within_group[i][j] == np.flatnonzero(same == r)[0] + 1
    np.testing.assert_array_equal(result.top_indices, order[:, :7])


def test_blockwise_equals_unblocked(vectors):
    q, p = vectors
    relevant = [np.array([i % 150, (3 * i + 1) % 150]) for i in range(len(q))]
    groups = np.arange(len(p)) % 4
    whole = rank_relevant(q, p, relevant, column_groups=groups, block_size=len(q), top=3)
    for block_size in (1, 6):
        part = rank_relevant(q, p, relevant, column_groups=groups, block_size=block_size, top=3)
        for a, b in zip(whole.pool + whole.within_group, part.pool + part.within_group, strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(whole.top_indices, part.top_indices)


def test_without_groups_the_pool_is_one_group(vectors):
    q, p = vectors
    result = rank_relevant(q, p, [np.array([0, 1])] * len(q))
    for a, b in zip(result.pool, result.within_group, strict=True):
        np.testing.assert_array_equal(a, b)
    assert result.top_indices.shape == (len(q), 0)


def test_block_rows_respects_the_memory_budget():
    assert block_rows(1_000_000, memory_budget=2**30) * 1_000_000 * 4 <= 2**30
    assert block_rows(10**9, memory_budget=1) == 1


def test_shape_errors(vectors):
    q, p = vectors
    with pytest.raises(UsageError):
        top_k(q, p[:, :5], 3)
    with pytest.raises(UsageError):
        rank_relevant(q, p, [np.array([0])])
    with pytest.raises(UsageError):
        rank_relevant(q, p, [np.array([0])] * len(q), column_groups=np.zeros(3))


def test_faiss_flat_equals_numpy_top_k():
    rng = np.random.default_rng(3)
    q, p = _unit(rng, 50, 32), _unit(rng, 2000, 32)
    exact_scores, exact = top_k(q, p, 10)
    scores, indices = FaissIndex(p, "flat").search(q, 10)
    np.testing.assert_array_equal(indices, exact)
    np.testing.assert_allclose(scores, exact_scores, atol=1e-5)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_indexes_find_most_neighbours(kind):
    rng = np.random.default_rng(4)
    q, p = _unit(rng, 50, 32), _unit(rng, 2000, 32)
    _, exact = top_k(q, p, 10)
    _, found = FaissIndex(p, kind, nprobe=32).search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found, strict=True)])
    assert recall > 0.8


def test_unknown_index_kind():
    with pytest.raises(UsageError):
        FaissIndex(np.zeros((2, 4), dtype=np.float32), "lsh")  # type: ignore[arg-type]
