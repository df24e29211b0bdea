"""BEIR evaluation on a small corpus written by the test: metrics against pytrec_eval, exact vs FAISS, index cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import pytrec_eval

from polyret.data.beir import load_beir
from polyret.data.records import Passage, Query, RetrievalTask
from polyret.errors import UsageError
from polyret.evaluation.beir import evaluate_beir
from polyret.evaluation.store import EmbeddingStore

N_DOCS, N_QUERIES, DIM = 60, 8, 6


@pytest.fixture
def beir_files(tmp_path, table_encoder):
    rng = np.random.default_rng(7)
    docs = [{"_id": f"d{i}", "title": f"T{i}", "text": f"document {i}"} for i in range(N_DOCS)]
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    (tmp_path / "topics.tsv").write_text("".join(f"q{i}\tquery {i}\n" for i in range(N_QUERIES)), encoding="utf-8")
    qrels = {f"q{i}": {f"d{j}": 1 for j in rng.choice(N_DOCS, size=3, replace=False)} for i in range(N_QUERIES)}
    qrels["q0"]["d59"] = 0  # a judged non-relevant pair
    lines = [f"{q} Q0 {d} {g}\n" for q, docs_ in qrels.items() for d, g in docs_.items()]
    (tmp_path / "qrels.txt").write_text("".join(lines), encoding="utf-8")
    table = {f"T{i} document {i}": rng.normal(size=DIM).tolist() for i in range(N_DOCS)}
    table |= {f"query {i}": rng.normal(size=DIM).tolist() for i in range(N_QUERIES)}
    return tmp_path, table_encoder(table)


def _trec_scores(task: RetrievalTask, encoder) -> dict[str, float]:
    q = encoder.encode([x.text for x in task.queries], "query")
    p = encoder.encode([x.text for x in task.passages], "passage")
    ids = [x.id for x in task.passages]
    scores = q @ p.T
    run = {query.id: dict(zip(ids, map(float, scores[i]), strict=True)) for i, query in enumerate(task.queries)}
    measures = pytrec_eval.RelevanceEvaluator(task.qrels, {"ndcg_cut_10", "recall_100"}).evaluate(run)
    return {"ndcg@10": np.mean([m["ndcg_cut_10"] for m in measures.values()]),
            "recall@100": np.mean([m["recall_100"] for m in measures.values()])}


def test_exact_search_matches_pytrec_eval(beir_files):
    folder, encoder = beir_files
    task = load_beir(folder / "corpus.jsonl", folder / "topics.tsv", folder / "qrels.txt", name="toy")
    result = evaluate_beir(task, EmbeddingStore(encoder))
    expected = _trec_scores(task, encoder)
    assert result.main == "ndcg@10" and result.task == "toy"
    assert result.scores["ndcg@10"] == pytest.approx(expected["ndcg@10"])
    assert result.scores["recall@100"] == pytest.approx(expected["recall@100"]) == pytest.approx(1.0)
    assert set(result.per_query["ndcg@10"]) == {f"q{i}" for i in range(N_QUERIES)}


def test_faiss_index_is_cached_on_disk_and_agrees_with_exact_search(beir_files, tmp_path):
    folder, encoder = beir_files
    task = load_beir(folder / "corpus.jsonl", folder / "topics.tsv", folder / "qrels.txt", name="toy")
    exact = evaluate_beir(task, EmbeddingStore(encoder), k=20)
    cache = tmp_path / "cache"
    built = evaluate_beir(task, EmbeddingStore(encoder), k=20, index="faiss", faiss_kind="flat", cache_root=cache)
    assert len(list((cache / "faiss").glob("*.index"))) == 1
    reused_store = EmbeddingStore(encoder)
    reused = evaluate_beir(task, reused_store, k=20, index="faiss", faiss_kind="flat", cache_root=cache)
    assert reused_store.counts.encoded == N_QUERIES  # passages came from the cached index, not the encoder
    assert built.scores == pytest.approx(exact.scores) and reused.scores == pytest.approx(exact.scores)
    assert reused.details["search"] == "faiss-flat"


def test_queries_without_relevant_passages_are_counted_not_scored(table_store):
    passages = [Passage(f"d{i}", "en", f"doc {i}") for i in range(12)]
    queries = [Query("a", "en", "qa", "a"), Query("b", "en", "qb", "b")]
    task = RetrievalTask("t", queries, passages, {"a": {"d1": 1}, "b": {"d2": 0}})
    result = evaluate_beir(task, table_store({}), k=10)
    assert result.details["queries_without_relevant"] == 1 and list(result.per_query["ndcg@10"]) == ["a"]
    with pytest.raises(UsageError, match="too small"):
        evaluate_beir(task, table_store({}), k=5)


def test_graded_ndcg_matches_pytrec_eval_on_graded_qrels(beir_files):
    folder, encoder = beir_files
    rng = np.random.default_rng(11)
    lines = [f"q{i} Q0 d{j} {rng.integers(1, 4)}\n" for i in range(N_QUERIES)
             for j in rng.choice(N_DOCS, size=6, replace=False)]
    (folder / "graded.txt").write_text("".join(lines), encoding="utf-8")
    task = load_beir(folder / "corpus.jsonl", folder / "topics.tsv", folder / "graded.txt", name="graded")
    assert len({g for docs in task.qrels.values() for g in docs.values()}) == 3  # grades 1, 2 and 3 all occur
    result = evaluate_beir(task, EmbeddingStore(encoder))
    expected = _trec_scores(task, encoder)
    assert result.scores["ndcg@10"] == pytest.approx(expected["ndcg@10"])
    binary = {q: dict.fromkeys(docs, 1) for q, docs in task.qrels.items()}
    binary_score = evaluate_beir(RetrievalTask("b", task.queries, task.passages, binary), EmbeddingStore(encoder))
    assert binary_score.scores["ndcg@10"] != pytest.approx(result.scores["ndcg@10"])  # the grades matter


def test_the_written_trec_run_scores_as_the_result_with_pytrec_eval(beir_files, tmp_path):
    from polyret.evaluation.trec import read_qrels, read_run

    folder, encoder = beir_files
    task = load_beir(folder / "corpus.jsonl", folder / "topics.tsv", folder / "qrels.txt", name="toy")
    result = evaluate_beir(task, EmbeddingStore(encoder), k=20, run_file=tmp_path / "trec" / "toy.run")
    run, qrels = read_run(tmp_path / "trec" / "toy.run"), read_qrels(tmp_path / "trec" / "toy.qrels")
    assert set(run) == set(qrels) == set(result.per_query["ndcg@10"]) and all(len(d) == 20 for d in run.values())
    measures = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10", "recall_20"}).evaluate(run)
    assert result.scores["ndcg@10"] == pytest.approx(np.mean([m["ndcg_cut_10"] for m in measures.values()]))
    assert result.scores["recall@20"] == pytest.approx(np.mean([m["recall_20"] for m in measures.values()]))
