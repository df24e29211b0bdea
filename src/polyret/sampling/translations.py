"""Translation groups of the ``multi_positive`` design: one question in one language with its answer in M languages.

A group is M pairs that share the question row and the query language and differ in the answer language, so the M
answers are translations of each other: all of them are positives of the group's query. Each epoch cuts every
(question, query language)'s answer languages into groups anew; languages that do not fill a group stay unused that
epoch.
"""

from __future__ import annotations

import numpy as np

from polyret.sampling.pairs import PairTable


def group_counts(table: PairTable, size: int) -> np.ndarray:
    """How many groups of ``size`` pairs each question row yields per epoch (the same in every epoch)."""
    return table.questions.sum(axis=0) * (table.answers.sum(axis=0) // size)


def draw_groups(table: PairTable, size: int, rng: np.random.Generator) -> np.ndarray:
    """The epoch's groups as pair codes, one group per line, questions in row order, query languages sorted.

    Each (question, query language)'s answer languages are shuffled (one ``rng.permutation`` each, as every
    epoch always drew them) and cut into groups of ``size``; which languages end up together, and which are left
    over, is drawn from ``rng``.
    """
    answer_count = table.answers.sum(axis=0)
    usable = answer_count - answer_count % size
    groups: list[np.ndarray] = []
    for row in np.flatnonzero(table.questions.any(axis=0) & (answer_count > 0)).tolist():
        passages = np.flatnonzero(table.answers[:, row])
        for query in np.flatnonzero(table.questions[:, row]).tolist():
            order = rng.permutation(passages) if len(passages) > 1 else passages
            if usable[row]:
                groups.append(table.encode(row, query, order[: usable[row]]).reshape(-1, size))
    return np.concatenate(groups) if groups else np.empty((0, size), dtype=np.int64)
