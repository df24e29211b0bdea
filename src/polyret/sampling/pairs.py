"""The (example, query language, passage language) combinations a training set offers, materialised as rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from polyret.data.records import ParallelQA
from polyret.errors import DataError, UsageError


@dataclass(frozen=True, slots=True)
class PairRef:
    """One training pair: the question of ``examples[example_index]`` in ``query_lang`` with its answer in
    ``passage_lang``."""

    example_index: int
    query_lang: str
    passage_lang: str

    @property
    def is_monolingual(self) -> bool:
        return self.query_lang == self.passage_lang


class PairTable:
    """Every usable (example, X, Y): question X and answer Y both exist and both languages are allowed.

    Row ``i`` of the table is row ``i`` of the materialised training dataset (see
    :func:`polyret.training.dataset.build_pair_dataset`), so samplers can hand out row indices.

    Two examples whose answers are one text in some language (XQuAD-R: several questions of a paragraph share
    their gold sentence) get one :attr:`answer_keys` entry; samplers keep a key out of a batch twice, since the
    second example's passage would be a false negative of the first.

    Args:
        examples: the training records; their ``id`` is the alignment id and must be unique.
        languages: keep only these languages (``None``: every language in the data).
        exclude_languages: drop these languages (held-out, e.g. the paper's ``el`` and ``vi``).
        source: a name for error messages (file or data set name).

    Raises:
        DataError: two records share an alignment id (they would become false in-batch negatives).
        UsageError: a language of ``languages`` occurs in no record, or no usable pair is left after the language
            filters.
    """

    def __init__(
        self,
        examples: Sequence[ParallelQA],
        *,
        languages: Iterable[str] | None = None,
        exclude_languages: Iterable[str] = (),
        source: str = "training data",
    ) -> None:
        self.examples = examples
        self.alignment_ids = [ex.id for ex in examples]
        _check_unique_ids(self.alignment_ids, source)
        self.answer_keys = shared_answer_keys(examples)
        allowed = set(languages) if languages is not None else None
        excluded = set(exclude_languages)
        _check_present(allowed, examples, source)
        self.rows: list[PairRef] = []
        for index, example in enumerate(examples):
            query_langs = _usable(example.questions, allowed, excluded)
            passage_langs = _usable(example.answers, allowed, excluded)
            self.rows.extend(PairRef(index, x, y) for x in query_langs for y in passage_langs)
        if not self.rows:
            raise UsageError(
                f"{source}: no usable question/answer pair in languages {sorted(allowed) if allowed else 'any'}"
                f"{f' excluding {sorted(excluded)}' if excluded else ''}"
            )

    def __len__(self) -> int:
        return len(self.rows)


def shared_answer_keys(examples: Sequence[ParallelQA]) -> list[int]:
    """Per example, the smallest index of the examples it shares an answer with, directly or through others.

    Examples share an answer when their answers in one language are the same text.

    Example:
        >>> a = ParallelQA("1", {"en": "q1"}, {"en": "s", "de": "s-de"})
        >>> b = ParallelQA("2", {"en": "q2"}, {"de": "s-de"})
        >>> shared_answer_keys([a, b, ParallelQA("3", {"en": "q3"}, {"en": "t"})])
        [0, 0, 2]
    """
    parent = list(range(len(examples)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first_with: dict[tuple[str, str], int] = {}
    for index, example in enumerate(examples):
        for lang_text in example.answers.items():
            low, high = sorted((root(index), root(first_with.setdefault(lang_text, index))))
            parent[high] = low
    return [root(index) for index in range(len(examples))]


def _usable(texts: object, allowed: set[str] | None, excluded: set[str]) -> list[str]:
    return sorted(lang for lang in texts if (allowed is None or lang in allowed) and lang not in excluded)


def _check_present(languages: set[str] | None, examples: Sequence[ParallelQA], source: str) -> None:
    """A language asked for that no record has is a typo, not a wish to train without it."""
    present = {lang for example in examples for lang in (*example.questions, *example.answers)}
    absent = sorted((languages or set()) - present)
    if absent:
        raise UsageError(
            f"{source}: no usable pair in language(s) {', '.join(absent)}: no record has them "
            f"(the data has {', '.join(sorted(present))})"
        )


def _check_unique_ids(ids: Sequence[str], source: str) -> None:
    seen: set[str] = set()
    for alignment_id in ids:
        if alignment_id in seen:
            raise DataError(
                source, "alignment id occurs in two records", record=alignment_id,
                expected="one record per aligned question (merge its languages into one ParallelQA)",
            )
        seen.add(alignment_id)
