"""Translation groups of the ``multi_positive`` design: one question in one language with its answer in M languages.

A group is M rows of the :class:`~polyret.sampling.PairTable` that share the example and the query language and
differ in the answer language, so the M answers are translations of each other: all of them are positives of the
group's query. Each epoch cuts every (example, query language)'s rows into groups anew; rows that do not fill a
group stay unused that epoch.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from polyret.sampling.pairs import PairTable

QuestionRows = list[list[list[int]]]
"""Per example, per query language: the table rows of that question, one per answer language."""


def rows_by_question(table: PairTable) -> QuestionRows:
    """The rows of each (example, query language), examples in table order, query languages sorted."""
    by_question: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row, ref in enumerate(table.rows):
        by_question[ref.example_index][ref.query_lang].append(row)
    return [[rows for _, rows in sorted(by_question[index].items())] for index in sorted(by_question)]


def group_counts(questions: QuestionRows, size: int) -> list[int]:
    """How many groups of ``size`` rows each example yields per epoch (the same in every epoch)."""
    return [sum(len(rows) // size for rows in example) for example in questions]


def draw_groups(questions: QuestionRows, size: int, rng: np.random.Generator) -> list[list[list[int]]]:
    """Per example, its groups for one epoch: each query language's rows shuffled and cut into groups of ``size``.

    Which answer languages end up together, and which are left over, is drawn from ``rng``.
    """
    groups: list[list[list[int]]] = []
    for example in questions:
        example_groups = []
        for rows in example:
            shuffled = [int(row) for row in rng.permutation(np.asarray(rows, dtype=np.int64))]
            example_groups.extend(shuffled[start : start + size] for start in range(0, len(rows) - size + 1, size))
        groups.append(example_groups)
    return groups
