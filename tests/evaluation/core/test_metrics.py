"""Ranking metrics: hand-computed cases and agreement with pytrec_eval (trec_eval) on a real XQuAD-R run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pytrec_eval

from polyret.evaluation import metrics
from polyret.evaluation.search import rank_relevant, top_k


def test_hand_computed_values():
    ranks = [3, 1, 6]  # relevant items at ranks 1, 3, 6 of 3 relevant
    assert metrics.average_precision(ranks) == pytest.approx((1 / 1 + 2 / 3 + 3 / 6) / 3)
    assert metrics.average_precision(ranks, n_relevant=4) == pytest.approx((1 / 1 + 2 / 3 + 3 / 6) / 4)
    assert metrics.recall_at_k(ranks, 3) == pytest.approx(2 / 3)
    assert metrics.reciprocal_rank_at_k([4, 7], 10) == 0.25
    assert metrics.reciprocal_rank_at_k([11], 10) == 0.0
    dcg = 1 + 1 / math.log2(4)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics.ndcg_at_k(ranks, 5) == pytest.approx(dcg / ideal)


def test_averages():
    by_lang = {"de": [1.0, 0.0, 0.5], "en": [1.0]}
    assert metrics.macro_average(by_lang) == pytest.approx((0.5 + 1.0) / 2)
    assert metrics.micro_average(by_lang) == pytest.approx(2.5 / 4)
    assert math.isnan(metrics.mean([]))


@pytest.mark.parametrize("n_relevant", [0, 1])
def test_bad_relevant_counts_raise(n_relevant):
    with pytest.raises(ValueError):
        metrics.average_precision([1, 2], n_relevant=n_relevant)


def _evaluate(qrels, run, measures):
    return pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)


def test_full_pool_metrics_match_trec_eval(xquad_small, xquad_vectors):
    q, p = xquad_vectors
    task = xquad_small
    pid = [passage.id for passage in task.passages]
    scores = q @ p.T
    run = {
        query.id: dict(zip(pid, map(float, row), strict=True)) for query, row in zip(task.queries, scores, strict=True)
    }
    cut = {qid: dict(sorted(docs.items(), key=lambda kv: -kv[1])[:10]) for qid, docs in run.items()}
    full = _evaluate(task.qrels, run, {"map", "recall_10", "ndcg_cut_10"})
    first = _evaluate(task.qrels, cut, {"recip_rank"})
    index = {p_id: i for i, p_id in enumerate(pid)}
    relevant = [np.array([index[d] for d in task.qrels[query.id]]) for query in task.queries]
    ranks = rank_relevant(q, p, relevant).pool
    assert len(task.queries) > 300
    for query, r in zip(task.queries, ranks, strict=True):
        expected = full[query.id]
        assert metrics.average_precision(r) == pytest.approx(expected["map"], abs=1e-6)
        assert metrics.recall_at_k(r, 10) == pytest.approx(expected["recall_10"], abs=1e-6)
        assert metrics.ndcg_at_k(r, 10) == pytest.approx(expected["ndcg_cut_10"], abs=1e-6)
        assert metrics.reciprocal_rank_at_k(r, 10) == pytest.approx(first[query.id]["recip_rank"], abs=1e-6)
    assert np.mean([v["map"] for v in full.values()]) > 0.1, "the fixture run should rank relevant items well"


def test_cut_off_run_metrics_match_trec_eval(xquad_small, xquad_vectors):
    """With only the top 20 retrieved, unretrieved relevant items count through ``n_relevant``."""
    q, p = xquad_vectors
    task = xquad_small
    scores, indices = top_k(q, p, 20)
    run = {
        query.id: {task.passages[j].id: float(s) for s, j in zip(srow, irow, strict=True)}
        for query, srow, irow in zip(task.queries, scores, indices, strict=True)
    }
    expected = _evaluate(task.qrels, run, {"map", "recall_5", "ndcg_cut_10"})
    for query, irow in zip(task.queries, indices, strict=True):
        retrieved = [task.passages[j].id for j in irow]
        ranks = [rank for rank, d in enumerate(retrieved, start=1) if d in task.qrels[query.id]]
        total = len(task.qrels[query.id])
        assert metrics.average_precision(ranks, total) == pytest.approx(expected[query.id]["map"], abs=1e-6)
        assert metrics.recall_at_k(ranks, 5, total) == pytest.approx(expected[query.id]["recall_5"], abs=1e-6)
        assert metrics.ndcg_at_k(ranks, 10, total) == pytest.approx(expected[query.id]["ndcg_cut_10"], abs=1e-6)
