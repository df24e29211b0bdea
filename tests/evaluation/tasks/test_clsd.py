"""CLSD accuracy: strict wins, ties as errors, per direction and per swap type."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.data.clsd import SwapAnnotation
from polyret.data.records import DiscriminationItem
from polyret.evaluation.clsd import evaluate_clsd

COLUMNS = {"de": ("German", "de_adv1", "de_adv2"), "fr": ("French", "fr_adv1", "fr_adv2")}


def _item(idx: str, query_lang: str, candidate_lang: str, candidates: tuple[str, ...]) -> DiscriminationItem:
    names = COLUMNS[candidate_lang]
    return DiscriminationItem(idx, f"q{idx}{query_lang}", query_lang, candidates, candidate_lang, names)


def _swap(row: int, column: str, operation: str, entity_type: str | None, pos_tag: str | None) -> SwapAnnotation:
    return SwapAnnotation("wmt19", row, column, operation, "", entity_type, pos_tag, None, "fr", "de", "adv")


@pytest.fixture
def items_and_table():
    # Query vectors point along x; candidate cosines are set by their x component.
    table = {
        "q1fr": [1, 0], "true1": [1, 0.1], "d1a": [0, 1], "d1b": [1, -0.5],  # correct
        "q2fr": [1, 0], "true2": [0.2, 1], "d2a": [1, 0], "d2b": [0, 1],  # a distractor wins
        "q1de": [1, 0], "same": [1, 0.3], "d3b": [0, 1],  # tie: distractor text equals the truth
    }
    items = [
        _item("1", "fr", "de", ("true1", "d1a", "d1b")),
        _item("2", "fr", "de", ("true2", "d2a", "d2b")),
        _item("1", "de", "fr", ("same", "same", "d3b")),
    ]
    return items, table


def test_accuracy_per_direction_counts_ties_as_errors(items_and_table, table_store):
    items, table = items_and_table
    result = evaluate_clsd(items, table_store(table), name="clsd-test")
    assert result.task == "clsd-test" and result.main == "acc"
    assert result.scores["fr-de.acc"] == pytest.approx(0.5)
    assert result.scores["de-fr.acc"] == 0.0
    assert result.scores["acc"] == pytest.approx(0.25)
    assert result.per_query["acc"] == {"1|fr-de": 1.0, "2|fr-de": 0.0, "1|de-fr": 0.0}
    assert result.details["n_items"] == {"de-fr": 1, "fr-de": 2}


def test_accuracy_matches_brute_force_on_random_vectors(table_store):
    rng = np.random.default_rng(3)
    items = [_item(str(i), "de", "fr", (f"t{i}", f"a{i}", f"b{i}")) for i in range(40)]
    table = {t: rng.normal(size=8).tolist() for it in items for t in (it.query, *it.candidates)}
    result = evaluate_clsd(items, table_store(table), name="clsd-wmt19")

    def cos(a, b):
        a, b = np.asarray(table[a]), np.asarray(table[b])
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)

    expected = np.mean(
        [cos(it.query, it.candidates[0]) > max(cos(it.query, c) for c in it.candidates[1:]) for it in items]
    )
    assert result.scores["de-fr.acc"] == pytest.approx(expected)
    assert 0 < expected < 1


def test_swap_breakdown_counts_each_annotated_distractor(items_and_table, table_store):
    items, table = items_and_table
    swaps = [
        _swap(1, "de_adv2", "Swap", "PER", None),  # beaten by the true translation
        _swap(2, "de_adv1", "Swap", None, "NOUN"),  # wins over the true translation
        _swap(2, "de_adv2", "Addition", None, None),  # beaten
        _swap(99, "de_adv1", "Swap", None, None),  # no such row: ignored
        _swap(1, "fr_adv1", "Swap", None, None),  # a French distractor: not among these items
    ]
    swaps_out = evaluate_clsd(items[:2], table_store(table), name="clsd-wmt19", swaps=swaps).details["swaps"]
    assert swaps_out["operation"] == {"Addition": {"n": 1.0, "acc": 1.0}, "Swap": {"n": 2.0, "acc": 0.5}}
    assert swaps_out["entity_type"] == {"PER": {"n": 1.0, "acc": 1.0}}
    assert swaps_out["pos_tag"] == {"NOUN": {"n": 1.0, "acc": 0.0}}
