"""Bitext P@1 per direction, pooled multilingual mAP and bias, and the Tatoeba-style aggregate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polyret.data.records import ParallelCorpus
from polyret.errors import UsageError
from polyret.evaluation.bitext import evaluate_bitext, evaluate_bitext_corpora, language_pairs

LANGS = ("de", "en", "fr")


def _corpus(n: int, languages=LANGS, name="toy") -> ParallelCorpus:
    texts = {lang: [f"{lang}{i}" for i in range(n)] for lang in languages}
    return ParallelCorpus(name, [f"r{i}" for i in range(n)], texts)


def _aligned_table(n: int) -> dict[str, list[float]]:
    """Vectors of :func:`_corpus`: the row's direction plus a small offset shared by the sentences of a language."""
    table = {}
    for li, lang in enumerate(LANGS):
        for i in range(n):
            v = np.zeros(n + len(LANGS))
            v[i], v[n + li] = 1.0, 0.1
            table[f"{lang}{i}"] = v.tolist()
    return table


def test_perfectly_aligned_vectors_score_perfectly(table_store):
    result = evaluate_bitext(_corpus(4), table_store(_aligned_table(4)), name="toy")
    assert result.main == "p@1" and result.scores["p@1"] == 1.0 and result.scores["xsim_error"] == 0.0
    assert set(result.matrices["p@1"]) == set(LANGS) and result.matrices["p@1"]["de"] == {"en": 1.0, "fr": 1.0}
    assert result.scores["multi.map"] == pytest.approx(1.0)
    assert result.scores["multi.bias"] == 1.0  # two translations at ranks 1 and 2
    assert result.scores["multi.bias_norm"] == pytest.approx(1 / 11)
    assert len(result.per_query["p@1"]) == 4 * 6 and len(result.per_query["multi.ap"]) == 4 * 3


def test_pooled_bias_measures_by_hand(table_store):
    result = evaluate_bitext(_corpus(4), table_store(_aligned_table(4)), name="toy")
    # de0's pooled ranking: en0, fr0 (its translations), de1-de3 (shared language offset), then en1-en3, fr1, fr2
    # (score 0, by pool position) in the top 10. Non-relevant positions: de {3, 4, 5}, en {6, 7, 8}, fr {9, 10}:
    # H = 7 * 37.5 / 42 = 6.25 on 2 degrees of freedom, p = exp(-6.25 / 2); relevant: en {1}, fr {2}, H = 1.
    p_nonrel, p_rel = math.exp(-3.125), math.erfc(math.sqrt(0.5))
    assert result.per_query["multi.peer@10"]["r0|de"] == pytest.approx(0.5 * p_nonrel + 0.5 * p_rel, abs=1e-12)
    assert result.per_query["multi.pref_gap@10"]["r0|de"] == pytest.approx(0.3)  # 3 of 10 in de, no answer in de
    assert result.scores["multi.pref_gap@10"] == pytest.approx(0.3)  # every query alike
    assert result.per_query["multi.other_r@10"]["r0|de"] == 1.0
    assert result.scores["multi.other_r@10"] == 1.0 and "multi.own_r@10" not in result.scores
    assert result.matrices["target_r@10"]["de"] == {"en": 1.0, "fr": 1.0}
    assert result.details["multi_by_lang"]["fr"]["peer@10"] == pytest.approx(
        np.mean([result.per_query["multi.peer@10"][f"r{i}|fr"] for i in range(4)]))


def test_scores_match_brute_force_on_random_vectors(table_store):
    rng = np.random.default_rng(0)
    n = 6
    corpus = _corpus(n)
    vec = {lang: rng.normal(size=(n, 5)) for lang in LANGS}
    vec = {lang: v / np.linalg.norm(v, axis=1, keepdims=True) for lang, v in vec.items()}
    table = {f"{lang}{i}": vec[lang][i].tolist() for lang in LANGS for i in range(n)}
    result = evaluate_bitext(corpus, table_store(table), name="toy")

    for src in LANGS:
        for tgt in LANGS:
            if src != tgt:
                expected = np.mean(np.argmax(vec[src] @ vec[tgt].T, axis=1) == np.arange(n))
                assert result.scores[f"{src}-{tgt}.p@1"] == pytest.approx(expected)

    pool = [(lang, i) for lang in LANGS for i in range(n)]
    aps, spreads = {}, {}
    for lang in LANGS:
        for i in range(n):
            others = [item for item in pool if item != (lang, i)]
            order = sorted(others, key=lambda item: -(vec[lang][i] @ vec[item[0]][item[1]]))
            ranks = sorted(order.index((other, i)) + 1 for other in LANGS if other != lang)
            aps.setdefault(lang, []).append(np.mean([k / r for k, r in enumerate(ranks, start=1)]))
            spreads.setdefault(lang, []).append(ranks[-1] - ranks[0])
    assert result.scores["multi.map"] == pytest.approx(np.mean([np.mean(v) for v in aps.values()]))
    assert result.scores["multi.bias"] == pytest.approx(np.mean([np.mean(v) for v in spreads.values()]))
    assert result.per_query["multi.ap"]["r2|fr"] == pytest.approx(aps["fr"][2])


def test_a_duplicate_of_the_translation_counts_as_correct(table_store):
    corpus = ParallelCorpus("dup", ["a", "b"], {"en": ["Hi.", "Hello."], "de": ["Hallo.", "Hallo."]})
    table = {"Hi.": [1, 0], "Hello.": [0.9, 0.1], "Hallo.": [1, 0.05]}
    result = evaluate_bitext(corpus, table_store(table), name="dup")
    assert result.scores["en-de.p@1"] == 1.0
    assert "multi.bias" not in result.scores  # one relevant item per query: no spread


def test_pivot_restricts_pairs_and_must_exist():
    assert language_pairs(["de", "en", "fr"]) == [("de", "en"), ("de", "fr"), ("en", "fr")]
    assert language_pairs(["de", "en", "fr"], pivot="en") == [("en", "de"), ("en", "fr")]
    with pytest.raises(UsageError, match="pivot"):
        language_pairs(["de", "fr"], pivot="en")


def test_corpora_aggregate_merges_pairs_and_prefixes_query_ids(table_store):
    corpora = [_corpus(3, ("de", "en"), "tatoeba:deu-eng"), _corpus(3, ("en", "fr"), "tatoeba:fra-eng")]
    result = evaluate_bitext_corpora(corpora, table_store({}), name="tatoeba")
    assert set(result.matrices["p@1"]["en"]) == {"de", "fr"}
    directions = [result.scores[k] for k in ("de-en.p@1", "en-de.p@1", "en-fr.p@1", "fr-en.p@1")]
    assert result.scores["p@1"] == pytest.approx(np.mean(directions))
    assert "tatoeba:fra-eng|r0|en-fr" in result.per_query["p@1"]
    assert set(result.details["corpora"]) == {"tatoeba:deu-eng", "tatoeba:fra-eng"}
