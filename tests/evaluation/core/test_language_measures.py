"""The field's language-bias measures: hand-computed rankings, and PEER against its reference implementation."""

from __future__ import annotations

import math

import ir_measures
import numpy as np
import pytest
from core_encoders import TableEncoder, aligned_table
from peer_measure import PEER

from polyret.evaluation.language_measures import (
    PooledRanking,
    own_and_other,
    peer_at_k,
    preference_gap,
    target_language_recall_at_k,
)
from polyret.evaluation.lareqa import evaluate_lareqa
from polyret.evaluation.search import RelevantRanks, rank_relevant
from polyret.evaluation.store import EmbeddingStore


def _view(top: list[list[int]], relevant: list[list[int]], ranks: list[list[int]], langs: str, query_langs: str,
          k: int) -> PooledRanking:
    """A view of hand-written rankings: ``langs[i]`` is the language of pool item ``i`` (one letter each)."""
    found = RelevantRanks([np.array(r) for r in ranks], [np.array(r) for r in ranks], np.array(top))
    return PooledRanking.from_ranks(found, [np.array(r) for r in relevant], list(langs), list(query_langs), k)


def _chi2_sf_1(x: float) -> float:
    """The chi-square survival function with one degree of freedom, in closed form."""
    return math.erfc(math.sqrt(x / 2))


def test_peer_of_two_languages_in_two_blocks():
    # e e d d | d: the non-relevant top 4 are e at 1, 2 and d at 3, 4; the only relevant item (d) is ranked 5th.
    view = _view([[0, 1, 2, 3]], [[4]], [[5]], "eeddd", "e", k=4)
    # H = (N - 1) * between / total = 3 * 4 / 5 = 2.4 with one degree of freedom
    p_nonrel = _chi2_sf_1(2.4)
    assert peer_at_k(view, {0: 1.0})[0] == pytest.approx(p_nonrel, abs=1e-12)
    assert peer_at_k(view, {1: 1.0})[0] == 1.0  # no relevant item in the top 4: nothing to test
    assert peer_at_k(view)[0] == pytest.approx(0.5 * p_nonrel + 0.5, abs=1e-12)


def test_peer_of_single_items_per_language_ignores_their_order():
    # relevant d at 1 and e at 3; non-relevant d at 2 and e at 4: each group holds one value, so H = N - 1 = 1
    first = _view([[2, 3, 0, 1]], [[2, 0]], [[1, 3]], "eedd", "d", k=4)
    swapped = _view([[0, 3, 2, 1]], [[2, 0]], [[3, 1]], "eedd", "d", k=4)
    for view in (first, swapped):
        assert peer_at_k(view, {1: 1.0})[0] == pytest.approx(_chi2_sf_1(1.0), abs=1e-12)
        assert peer_at_k(view, {0: 1.0})[0] == pytest.approx(_chi2_sf_1(1.0), abs=1e-12)


def test_peer_values_a_relevant_item_below_k_as_the_reference_does():
    # relevant: e at 1, d at 2, another e below k = 3 -> valued M + (U + 1) / 2 = 3 + 1 = 4
    view = _view([[0, 2, 3]], [[0, 2, 1]], [[1, 2, 7]], "eedd", "e", k=3)
    # e {1, 4}, d {2}: mean 7/3, between 1/6, total 14/3 -> H = 2 * (1/6) / (14/3) = 1/14
    assert peer_at_k(view, {1: 1.0})[0] == pytest.approx(_chi2_sf_1(1 / 14), abs=1e-12)


def test_peer_calls_a_one_language_top_k_fair():
    view = _view([[0, 1, 2]], [[3]], [[4]], "eeed", "e", k=3)
    assert peer_at_k(view, {0: 1.0})[0] == 1.0  # one language only: the reference defines p = 1


def test_peer_weights_name_levels_0_and_1():
    view = _view([[0, 1, 2]], [[3]], [[4]], "eeed", "e", k=3)
    with pytest.raises(ValueError, match="levels 0 and 1"):
        peer_at_k(view, {2: 1.0})


def test_target_language_recall_and_preference_gap():
    # query e; relevant e at 1, d at 5 and d at 12 (k = 10); no relevant item in z
    top = [[0, 3, 4, 5, 1, 6, 7, 8, 9, 10]]
    view = _view(top, [[0, 1, 2]], [[1, 5, 12]], "eddeeeeeeeez", "e", k=10)
    recall = target_language_recall_at_k(view)
    assert view.languages == ["d", "e", "z"]
    np.testing.assert_array_equal(recall, [[0.5, 1.0, np.nan]])
    own, other = own_and_other(recall, view.query_languages)
    assert (own[0], other[0]) == (1.0, 0.5)
    # the top 10 holds 9 items in e (all but the d at 5); 1 of the 3 relevant items is in e
    assert preference_gap(view)[0] == pytest.approx(0.9 - 1 / 3)


@pytest.fixture
def reference_peer(monkeypatch):
    """peer-measure 0.0.1 made runnable: it calls ``ir_measures.util.flatten_measures``, which no released
    ir-measures has (0.3.7 and 0.4.3 checked); the measures it is given here are single ones, so ``list`` does."""
    monkeypatch.setattr(ir_measures.util, "flatten_measures", list, raising=False)
    return _reference_peer


def _reference_peer(scores: np.ndarray, relevant: list[np.ndarray], langs: list[str], k: int, weights: dict):
    """peer-measure on the same run: every pool item scored, and a dummy level-0 judgement per query (the reference
    needs level 0 among the qrels to count non-relevant items)."""
    doc_ids = [f"d{j:05d}" for j in range(scores.shape[1])]
    run = {f"q{i}": {doc_ids[j]: float(s) for j, s in enumerate(row)} for i, row in enumerate(scores)}
    qrels = {f"q{i}": {**{doc_ids[j]: 1 for j in rel}, "unjudged": 0} for i, rel in enumerate(relevant)}
    measure = PEER(weights=weights, lang_mapping=dict(zip(doc_ids, langs, strict=True))) @ k
    values = {m.query_id: m.value for m in ir_measures.iter_calc([measure], qrels, run)}
    return np.array([values[f"q{i}"] for i in range(len(relevant))])


@pytest.mark.parametrize("weights", [{0: 0.5, 1: 0.5}, {0: 1.0}, {1: 1.0}])
def test_peer_matches_peer_measure_on_a_random_run(weights, reference_peer):
    rng = np.random.default_rng(7)
    langs = rng.choice(["ar", "de", "en"], size=60).tolist()
    q, p = rng.standard_normal((40, 8)).astype(np.float32), rng.standard_normal((60, 8)).astype(np.float32)
    relevant = [np.sort(rng.choice(60, size=rng.integers(1, 7), replace=False)) for _ in range(40)]
    k = 8
    view = PooledRanking.from_ranks(rank_relevant(q, p, relevant, top=k), relevant, langs, ["en"] * 40, k)
    reference = reference_peer(q @ p.T, relevant, langs, k, weights)
    ours = peer_at_k(view, weights)
    finite = np.isfinite(reference)
    np.testing.assert_allclose(ours[finite], reference[finite], atol=1e-9)
    assert np.all(ours[~finite] == 1.0)  # the reference's 0/0 (all values equal): equal expected rank
    assert len(set(np.round(ours, 6))) > 5  # the run exercises many different values


def test_lareqa_peer_matches_peer_measure_on_xquad(xquad_small, xquad_vectors, reference_peer):
    result = evaluate_lareqa(xquad_small, EmbeddingStore(TableEncoder(aligned_table(xquad_small))))
    q, p = xquad_vectors
    position = {passage.id: j for j, passage in enumerate(xquad_small.passages)}
    queries = [query for query in xquad_small.queries if xquad_small.qrels.get(query.id)]
    relevant = [np.array([position[pid] for pid, g in xquad_small.qrels[query.id].items() if g > 0])
                for query in queries]
    rows = [i for i, query in enumerate(xquad_small.queries) if xquad_small.qrels.get(query.id)]
    langs = [passage.lang for passage in xquad_small.passages]
    reference = reference_peer((q @ p.T)[rows], relevant, langs, 10, {0: 0.5, 1: 0.5})
    ours = result.per_query["multi.peer@10"]
    np.testing.assert_allclose([ours[query.id] for query in queries], reference, atol=1e-9)
