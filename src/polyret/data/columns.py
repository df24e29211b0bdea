"""Parallel training questions as columns: the one read interface samplers and trainers use for training data.

Row ``i`` is one aligned question: its text in each language it has, its gold answer (and optional context and
hard negatives) in each language, an alignment id, and an integer answer key (rows with equal keys share an
answer text in some language, so they must never meet in one batch). Two implementations satisfy it: the
in-memory view of a ``list[ParallelQA]`` and a prepared, memory-mapped corpus on disk; samplers keep only integer
arrays of rows and resolve texts for the batch being built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from polyret.data.records import ParallelQA
from polyret.errors import DataError

TextField = Literal["question", "answer", "context"]


@runtime_checkable
class QuestionColumns(Protocol):
    """Read access to parallel questions by row number; nothing here materialises (row, language pair) pairs.

    Attributes:
        source: a name for messages (the file, folder or data set it came from).
        languages: every language that occurs in any field, sorted.
    """

    source: str
    languages: tuple[str, ...]

    def __len__(self) -> int:
        """Number of aligned questions (rows)."""
        ...

    def answer_keys(self) -> np.ndarray:
        """``int64`` per row: rows with equal keys share an answer text (in any language)."""
        ...

    def has(self, field: TextField, lang: str) -> np.ndarray:
        """``bool`` per row: whether the row has ``field`` in ``lang``."""
        ...

    def ids(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The alignment ids of ``rows``."""
        ...

    def texts(self, field: TextField, lang: str, rows: Sequence[int] | np.ndarray) -> list[str | None]:
        """``field`` in ``lang`` of ``rows`` (``None`` where a row lacks it)."""
        ...

    def negatives(self, lang: str, rows: Sequence[int] | np.ndarray) -> list[list[str]]:
        """Hard-negative passages in ``lang`` of ``rows`` (empty lists where there are none)."""
        ...

    def negative_counts(self, lang: str) -> np.ndarray:
        """``int64`` per row: how many hard negatives the row has in ``lang`` (no text is read)."""
        ...


class InMemoryColumns:
    """:class:`QuestionColumns` over a ``list[ParallelQA]``: row ``i`` is ``records[i]``; nothing is copied.

    Example:
        >>> columns = InMemoryColumns([ParallelQA("1", {"en": "q"}, {"en": "a", "de": "a-de"})])
        >>> columns.languages, columns.has("answer", "de").tolist(), columns.texts("answer", "de", [0])
        (('de', 'en'), [True], ['a-de'])

    Args:
        records: the aligned questions; their ``id`` is the alignment id and must be unique.
        source: a name for messages.

    Raises:
        DataError: two records share an alignment id (they would become false in-batch negatives).
    """

    def __init__(self, records: Sequence[ParallelQA], source: str = "training data") -> None:
        self.records = records
        self.source = source
        _check_unique_ids(records, source)
        self.languages = tuple(sorted({lang for r in records for field in (r.questions, r.answers, r.contexts)
                                       for lang in field}))
        self._has: dict[TextField, dict[str, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def answer_keys(self) -> np.ndarray:
        """Per row, the smallest row it shares an answer text with, directly or through others
        (:func:`shared_answer_keys`)."""
        return shared_answer_keys(self.records)

    def has(self, field: TextField, lang: str) -> np.ndarray:
        if field not in self._has:  # one pass over the records per field, every language at once
            present = {lang: np.zeros(len(self.records), dtype=bool) for lang in self.languages}
            for row, record in enumerate(self.records):
                for text_lang in _field(record, field):
                    present[text_lang][row] = True
            self._has[field] = present
        return self._has[field].get(lang, np.zeros(len(self.records), dtype=bool))

    def ids(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        return [self.records[int(row)].id for row in rows]

    def texts(self, field: TextField, lang: str, rows: Sequence[int] | np.ndarray) -> list[str | None]:
        return [_field(self.records[int(row)], field).get(lang) for row in rows]

    def negatives(self, lang: str, rows: Sequence[int] | np.ndarray) -> list[list[str]]:
        return [list(self.records[int(row)].negatives.get(lang, ())) for row in rows]

    def negative_counts(self, lang: str) -> np.ndarray:
        return np.fromiter((len(record.negatives.get(lang, ())) for record in self.records), dtype=np.int64,
                           count=len(self.records))


def as_columns(data: Sequence[ParallelQA] | QuestionColumns, source: str = "training data") -> QuestionColumns:
    """``data`` itself when it is already :class:`QuestionColumns`, else the in-memory view of the records."""
    return data if isinstance(data, QuestionColumns) else InMemoryColumns(data, source)


def shared_answer_keys(records: Sequence[ParallelQA]) -> np.ndarray:
    """Per record, the smallest index of the records it shares an answer with, directly or through others.

    Records share an answer when their answers in one language are the same text.

    Example:
        >>> a = ParallelQA("1", {"en": "q1"}, {"en": "s", "de": "s-de"})
        >>> b = ParallelQA("2", {"en": "q2"}, {"de": "s-de"})
        >>> shared_answer_keys([a, b, ParallelQA("3", {"en": "q3"}, {"en": "t"})]).tolist()
        [0, 0, 2]
    """
    count = len(records)
    links: list[tuple[int, int]] = []
    for lang in sorted({lang for record in records for lang in record.answers}):
        first_with: dict[str, int] = {}
        for row, record in enumerate(records):
            text = record.answers.get(lang)
            if text is not None and first_with.setdefault(text, row) != row:
                links.append((first_with[text], row))
    if not links:
        return np.arange(count, dtype=np.int64)
    pairs = np.asarray(links, dtype=np.int64)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(count, count))
    _, component = connected_components(graph, directed=False)
    smallest = np.full(component.max() + 1, count, dtype=np.int64)
    np.minimum.at(smallest, component, np.arange(count, dtype=np.int64))
    return smallest[component]


def canonical_keys(keys: np.ndarray) -> np.ndarray:
    """Answer keys renamed to the smallest row holding each key, so equal groupings give equal keys."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first[inverse].astype(np.int64)


_ATTRIBUTES = {"question": "questions", "answer": "answers", "context": "contexts"}


def _field(record: ParallelQA, field: TextField) -> Mapping[str, str]:
    return getattr(record, _ATTRIBUTES[field])


def _check_unique_ids(records: Sequence[ParallelQA], source: str) -> None:
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            raise DataError(
                source, "alignment id occurs in two records", record=record.id,
                expected="one record per aligned question (merge its languages into one ParallelQA)",
            )
        seen.add(record.id)
