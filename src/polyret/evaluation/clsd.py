"""CLSD: cross-lingual semantic discrimination (Michail, Clematide & Sennrich, arXiv 2502.08638).

Each item is a query sentence and five candidates in the other language: its true translation first, then four
LLM-written adversarial distractors. An item is correct when the true translation has the *strictly* highest
cosine similarity to the query; a tie counts as an error, as in the paper's notebook.

CLSD is symmetric sentence matching, so both the query and the candidates are encoded with role ``"query"`` (the
paper's notebook prefixes every text with mE5's ``"query: "``). The store embeds identical texts once, so a
distractor that equals the true translation (it happens after machine translation to English) scores a tie and
counts as an error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from polyret.data.clsd import SwapAnnotation, clsd_direction
from polyret.data.records import DiscriminationItem
from polyret.errors import UsageError
from polyret.evaluation.kinds import DISCRIMINATION
from polyret.evaluation.metrics import mean
from polyret.evaluation.result import TaskResult
from polyret.evaluation.store import EmbeddingStore

ROLE = "query"
"""Both sides of a CLSD item are encoded as queries (symmetric sentence matching)."""

SWAP_FIELDS = ("operation", "entity_type", "pos_tag")
"""Attributes of a swap annotation by which the distractor accuracy is broken down."""


def evaluate_clsd(
    items: list[DiscriminationItem],
    store: EmbeddingStore,
    *,
    name: str,
    swaps: Iterable[SwapAnnotation] | None = None,
    batch_size: int = 32,
    show_progress: bool = False,
) -> TaskResult:
    """Score CLSD items: accuracy per direction (``de-fr.acc``, ``fr-de.acc``) and their mean (``acc``, main).

    Args:
        items: discrimination items (both directions), each with the true translation as candidate 0.
        store: the embedding store of the encoder under test.
        name: the task name (e.g. ``"clsd-wmt19-mt"`` for the English machine-translated variant).
        swaps: optional swap annotations of the same WMT year (``polyret.data.clsd.load_swap_annotations``,
            filtered on ``dataset``); ``details["swaps"][field][value]`` then gives how often the true translation
            beat a distractor with that ``operation`` / ``entity_type`` / ``pos_tag``.
        batch_size / show_progress: passed to the encoder for texts not cached yet.

    Returns:
        A :class:`TaskResult` with ``per_query["acc"]["<item id>|<direction>"]`` in {0, 1}.
    """
    if not items:
        raise UsageError(f"{name}: no items to evaluate")
    scores = candidate_scores(items, store, batch_size=batch_size, show_progress=show_progress)
    correct = [bool(s[0] > s[1:].max(initial=-np.inf)) for s in scores]

    by_direction: dict[str, list[bool]] = defaultdict(list)
    per_item: dict[str, float] = {}
    for item, ok in zip(items, correct, strict=True):
        direction = clsd_direction(item)
        by_direction[direction].append(ok)
        per_item[f"{item.id}|{direction}"] = float(ok)

    result_scores = {f"{d}.acc": mean(v) for d, v in sorted(by_direction.items())}
    result_scores["acc"] = mean(result_scores[f"{d}.acc"] for d in by_direction)
    details: dict[str, object] = {"n_items": {d: len(v) for d, v in sorted(by_direction.items())}}
    if swaps is not None:
        details["swaps"] = swap_accuracy(items, scores, swaps)
    return TaskResult(task=name, main=DISCRIMINATION.main_score, scores=result_scores, per_query={"acc": per_item},
                      details=details)


def candidate_scores(items: list[DiscriminationItem], store: EmbeddingStore, **embed_options) -> list[np.ndarray]:
    """Cosine similarity of each item's query to each of its candidates (one array per item, candidate order)."""
    vectors = store.embed(  # queries and candidates in one call, so the encoder batches them by length together
        [it.query for it in items] + [c for it in items for c in it.candidates], ROLE,
        languages=[it.query_lang for it in items] + [it.candidate_lang for it in items for _ in it.candidates],
        **embed_options,
    )
    queries, candidates = vectors[: len(items)], vectors[len(items) :]
    ends = np.cumsum([len(it.candidates) for it in items])
    return [block @ q for q, block in zip(queries, np.split(candidates, ends[:-1]), strict=True)]


def swap_accuracy(
    items: list[DiscriminationItem], scores: list[np.ndarray], swaps: Iterable[SwapAnnotation]
) -> dict[str, dict[str, dict[str, float]]]:
    """How often the true translation strictly beats an annotated distractor, per swap operation / entity / POS.

    A distractor is matched to its annotation by row (``item.id`` = ``row_index``) and column name
    (``item.candidate_names`` = ``adversarial_column``); annotations of rows or columns not among ``items`` are
    ignored (a file covers the distractors of one language).

    Returns:
        ``{field: {value: {"n": count, "acc": fraction}}}`` for ``field`` in :data:`SWAP_FIELDS`.
    """
    beaten: dict[tuple[str, str], bool] = {}
    for item, s in zip(items, scores, strict=True):
        for pos, column in enumerate(item.candidate_names[1:], start=1):
            beaten[(str(item.id), column)] = bool(s[0] > s[pos])
    tallies: dict[str, dict[str, list[bool]]] = {f: defaultdict(list) for f in SWAP_FIELDS}
    for swap in swaps:
        outcome = beaten.get((str(swap.row_index), swap.adversarial_column))
        if outcome is None:
            continue
        for f in SWAP_FIELDS:
            value = getattr(swap, f)
            if value:
                tallies[f][value].append(outcome)
    return {
        f: {v: {"n": len(o), "acc": mean(o)} for v, o in sorted(tallies[f].items())}
        for f in SWAP_FIELDS
    }

