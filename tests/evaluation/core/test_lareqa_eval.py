"""LAReQA evaluator: every setting agrees with pytrec_eval on a real XQuAD-R run; hand-computed bias; MLQA skips."""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval
from core_encoders import HashEncoder, TableEncoder, aligned_table

from polyret.data.records import Passage, Query, RetrievalTask
from polyret.errors import DataError
from polyret.evaluation.lareqa import evaluate_lareqa
from polyret.evaluation.store import EmbeddingStore


@pytest.fixture(scope="module")
def evaluated(xquad_small):
    store = EmbeddingStore(TableEncoder(aligned_table(xquad_small)))
    return evaluate_lareqa(xquad_small, store), store


def _trec(task: RetrievalTask, scores: np.ndarray, pool_lang: str | None, cut: int | None = None):
    """pytrec_eval per-query measures of the run restricted to one pool language (``None``: the whole pool)."""
    keep = [j for j, p in enumerate(task.passages) if pool_lang in (None, p.lang)]
    run, qrels = {}, {}
    for i, query in enumerate(task.queries):
        rel = {pid: g for pid, g in task.qrels[query.id].items() if pool_lang in (None, pid.split("|")[0])}
        if not rel:
            continue
        docs = sorted(((task.passages[j].id, float(scores[i, j])) for j in keep), key=lambda d: (-d[1], d[0]))
        run[query.id], qrels[query.id] = dict(docs[:cut] if cut else docs), rel
    measures = {"recip_rank"} if cut else {"map", "recall_1", "recall_10", "ndcg_cut_10"}
    return pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)


def _trec_lang_means(task: RetrievalTask, scores: np.ndarray, pool_lang: str | None, recall: str):
    """``{our metric name: {query language: mean of the matching trec_eval measure}}`` for one pool."""
    full, first = _trec(task, scores, pool_lang), _trec(task, scores, pool_lang, cut=10)
    sources = {
        "map": (full, "map"),
        recall.replace("recall_", "r@"): (full, recall),
        "ndcg@10": (full, "ndcg_cut_10"),
        "mrr@10": (first, "recip_rank"),
    }
    means = {}
    for key, (source, measure) in sources.items():
        by_lang: dict[str, list[float]] = {}
        for query in task.queries:
            if query.id in source:
                by_lang.setdefault(query.lang, []).append(source[query.id][measure])
        means[key] = {lang: float(np.mean(v)) for lang, v in by_lang.items()}
    return full, means


def test_multilingual_setting_matches_trec_eval(xquad_small, xquad_vectors, evaluated):
    result, _ = evaluated
    q, p = xquad_vectors
    full, means = _trec_lang_means(xquad_small, q @ p.T, None, "recall_10")
    for qid, measures in full.items():
        assert result.per_query["multi.ap"][qid] == pytest.approx(measures["map"], abs=1e-6)
    for key, by_lang in means.items():
        assert result.scores[f"multi.{key}"] == pytest.approx(np.mean(list(by_lang.values())), abs=1e-6)
        for lang, value in by_lang.items():
            assert result.details["multi_by_lang"][lang][key] == pytest.approx(value, abs=1e-6)
    assert result.scores["multi.map_all"] == pytest.approx(np.mean([m["map"] for m in full.values()]), abs=1e-6)
    assert result.main == "multi.map" and result.main_score > 0.1


def test_mono_and_cross_settings_match_trec_eval(xquad_small, xquad_vectors, evaluated):
    result, _ = evaluated
    q, p = xquad_vectors
    pair_means = {}
    for pool_lang in xquad_small.passage_languages:
        full, means = _trec_lang_means(xquad_small, q @ p.T, pool_lang, "recall_1")
        for query in xquad_small.queries:
            setting = "mono" if query.lang == pool_lang else "cross"
            ap = result.per_query[f"{setting}.ap"][f"{query.id}@{pool_lang}"]
            assert ap == pytest.approx(full[query.id]["map"], abs=1e-6)
        for key, by_lang in means.items():
            for query_lang, value in by_lang.items():
                assert result.matrices[key][query_lang][pool_lang] == pytest.approx(value, abs=1e-6)
                pair_means[key, query_lang, pool_lang] = value
    for key in ("map", "r@1", "mrr@10", "ndcg@10"):
        mono = [v for (k, ql, pl), v in pair_means.items() if k == key and ql == pl]
        cross = [v for (k, ql, pl), v in pair_means.items() if k == key and ql != pl]
        assert len(mono) == 3 and len(cross) == 6
        assert result.scores[f"mono.{key}"] == pytest.approx(np.mean(mono), abs=1e-6)
        assert result.scores[f"cross.{key}"] == pytest.approx(np.mean(cross), abs=1e-6)
    assert result.details["skipped_settings"] == 0


def test_one_encoding_pass(xquad_small, evaluated):
    _, store = evaluated
    encoder = store.encoder
    assert store.counts.encoded == len(encoder.encoded)
    assert len(encoder.encoded) == len({q.text for q in xquad_small.queries}) + len(xquad_small.passages)
    again = evaluate_lareqa(xquad_small, store)
    assert len(encoder.encoded) == store.counts.encoded  # nothing new encoded
    assert again.scores == evaluated[0].scores


def test_context_changes_the_encoded_passages(xquad_small):
    encoder = HashEncoder()
    evaluate_lareqa(xquad_small, EmbeddingStore(encoder), with_context=False)
    assert set(p.text for p in xquad_small.passages) <= set(encoder.encoded)
    assert not any("\n\n" in text for text in encoder.encoded)


def _tiny_task() -> RetrievalTask:
    """Two languages; MLQA-like: query b has no relevant item in ``de``."""
    queries = [Query("a|en", "en", "qa-en", "a"), Query("a|de", "de", "qa-de", "a"), Query("b|en", "en", "qb-en", "b")]
    passages = [Passage(f"p{i}", lang, f"p{i}") for i, lang in enumerate(["en", "en", "de", "de", "en"])]
    qrels = {"a|en": {"p0": 1, "p2": 1}, "a|de": {"p0": 1, "p2": 1}, "b|en": {"p4": 1, "p1": 0}}
    return RetrievalTask("tiny", queries, passages, qrels)


def test_hand_computed_bias_and_skips():
    # scores: qa-en ranks p0 > p1 > p3 > p2 > p4; qa-de ranks p2 > p3 > p4 > p1 > p0; qb-en ranks p4 first.
    table = {
        ("query", "qa-en"): [1.0, 0.0, 0.0],
        ("query", "qa-de"): [0.0, 1.0, 0.0],
        ("query", "qb-en"): [0.0, 0.0, 1.0],
        ("passage", "p0"): [0.9, 0.0, 0.1],
        ("passage", "p1"): [0.8, 0.1, 0.0],
        ("passage", "p2"): [0.5, 0.9, 0.0],
        ("passage", "p3"): [0.6, 0.8, 0.0],
        ("passage", "p4"): [0.0, 0.7, 0.9],
    }
    encoder = TableEncoder({k: np.asarray(v, dtype=np.float32) for k, v in table.items()})
    result = evaluate_lareqa(_tiny_task(), EmbeddingStore(encoder))
    # a|en: relevant p0 (rank 1), p2 (rank 4) -> spread 3; a|de: p2 (1), p0 (5) -> 4; b|en has one relevant: no spread
    assert result.per_query["multi.bias"] == {"a|en": 3, "a|de": 4}
    assert result.scores["multi.bias"] == pytest.approx((3 + 4) / 2)
    assert result.scores["multi.bias_norm"] == pytest.approx((3 / 5 + 4 / 5) / 2)
    assert result.details["bias_skipped_queries"] == 1
    # multi AP: a|en (1/1 + 2/4)/2, b|en 1 -> en mean; a|de (1/1 + 2/5)/2
    en, de = ((1 + 0.5) / 2 + 1) / 2, (1 + 0.4) / 2
    assert result.scores["multi.map"] == pytest.approx((en + de) / 2)
    assert result.scores["multi.map_all"] == pytest.approx(((1 + 0.5) / 2 + 1 + (1 + 0.4) / 2) / 3)
    # b|en has no relevant item in de: that setting is skipped and counted
    assert result.details["skipped_settings"] == 1
    assert result.details["skipped_settings_by_pair"] == {"en-de": 1}
    assert "b|en@de" not in result.per_query["cross.ap"]
    # de pool for a|en: p3 above p2 -> rank 2; en pool for a|de: p1 above p0? p1 (0.1) > p0 (0.0) -> rank 3 of 3
    assert result.matrices["map"]["en"]["de"] == pytest.approx(0.5)
    assert result.matrices["map"]["de"]["en"] == pytest.approx(1 / 3)
    # own-language share of the top 10 (the whole pool of 5 here) vs share of relevant items
    assert result.details["multi_by_lang"]["en"]["own_lang_share@10"] == pytest.approx(3 / 5)
    assert result.details["multi_by_lang"]["en"]["relevant_own_lang_share"] == pytest.approx((1 / 2 + 1) / 2)
    # preference gap per query: a|en 3/5 - 1/2, b|en 3/5 - 1 (en); a|de 2/5 - 1/2 (de); ratio of the macro shares
    assert result.scores["multi.pref_gap@10"] == pytest.approx(((0.1 - 0.4) / 2 + -0.1) / 2)
    assert result.scores["multi.pref_ratio@10"] == pytest.approx(((3 / 5 + 2 / 5) / 2) / ((0.75 + 0.5) / 2))
    assert result.details["multi_by_lang"]["de"]["pref_ratio@10"] == pytest.approx((2 / 5) / (1 / 2))
    # the pool of 5 is the whole top 10: every relevant item is found; b|en has no answer outside en (no value)
    assert result.per_query["multi.other_r@10"] == {"a|en": 1.0, "a|de": 1.0}
    assert result.matrices["target_r@10"] == {"de": {"de": 1.0, "en": 1.0}, "en": {"de": 1.0, "en": 1.0}}
    assert set(result.per_query["multi.peer@10"]) == {"a|en", "a|de", "b|en"}


def test_unknown_judged_passage_is_a_data_error():
    task = _tiny_task()
    task.qrels["a|en"]["missing"] = 1
    with pytest.raises(DataError, match="a\\|en"):
        evaluate_lareqa(task, EmbeddingStore(HashEncoder()))
