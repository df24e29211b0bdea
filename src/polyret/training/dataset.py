"""Materialise the training pairs as the ``datasets.Dataset`` the sentence-transformers trainer reads."""

from __future__ import annotations

from datasets import Dataset

from polyret.data.records import passage_input
from polyret.sampling import PairTable


def build_pair_dataset(table: PairTable, *, with_context: bool, group_labels: bool = False) -> Dataset:
    """One row per usable (example, X, Y): column ``query`` (question in X), column ``passage`` (answer in Y).

    Row ``i`` is ``table.rows[i]``, so a sampler's row indices select these rows. With ``with_context`` the passage
    is the answer, a blank line and its paragraph (:func:`polyret.data.records.passage_input`). With
    ``group_labels`` a column ``label`` holds the example index: rows with equal labels hold translations of one
    answer (the positives of :class:`~polyret.training.losses.MultiPositiveRankingLoss`).
    """
    queries, passages = [], []
    for ref in table.rows:
        example = table.examples[ref.example_index]
        context = example.contexts.get(ref.passage_lang) if with_context else None
        queries.append(example.questions[ref.query_lang])
        passages.append(passage_input(example.answers[ref.passage_lang], context))
    columns = {"query": queries, "passage": passages}
    if group_labels:
        columns["label"] = [ref.example_index for ref in table.rows]
    return Dataset.from_dict(columns)
