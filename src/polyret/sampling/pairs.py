"""The (question, query language, passage language) pairs a training set offers, as masks and integer codes.

Nothing here holds one object per pair. A pair is the integer code ``(row * L + x) * L + y`` (``row`` a question
row of the :class:`~polyret.data.columns.QuestionColumns`, ``x`` / ``y`` indices into the table's ``L`` sorted
languages), so codes ascend in the order the pairs were always numbered (question, then query language, then
passage language); samplers hold arrays of codes and texts are read only for the batch being built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from polyret.data.columns import QuestionColumns, as_columns, canonical_keys
from polyret.data.records import ParallelQA
from polyret.errors import UsageError


@dataclass(frozen=True, slots=True)
class PairRef:
    """One training pair: the question of row ``example_index`` in ``query_lang`` with its answer in
    ``passage_lang``."""

    example_index: int
    query_lang: str
    passage_lang: str

    @property
    def is_monolingual(self) -> bool:
        return self.query_lang == self.passage_lang


class PairTable:
    """Every usable (question, X, Y): question X and answer Y both exist and both languages are allowed.

    Held as one boolean mask per language and field (``L`` bytes per question and field) and one answer key per
    question; :meth:`slot_rows`, :meth:`pair_codes` and :meth:`codes_at` build the integer arrays a sampler draws
    from. Questions whose answers are one text in some language (XQuAD-R: several questions of a paragraph share
    their gold sentence) share an :attr:`answer_keys` entry; samplers keep a key out of a batch twice, since the
    second question's passage would be a false negative of the first.

    Args:
        data: the training questions, as records (viewed through
            :class:`~polyret.data.columns.InMemoryColumns`) or any :class:`~polyret.data.columns.QuestionColumns`.
        languages: keep only these languages (``None``: every language in the data).
        exclude_languages: drop these languages (held-out, e.g. the paper's ``el`` and ``vi``).
        source: a name for error messages (default: the columns' ``source``).

    Raises:
        DataError: two records share an alignment id (records only; a prepared corpus is checked when written).
        UsageError: a language of ``languages`` occurs in no record, or no usable pair is left after the language
            filters.
    """

    def __init__(
        self,
        data: Sequence[ParallelQA] | QuestionColumns,
        *,
        languages: Iterable[str] | None = None,
        exclude_languages: Iterable[str] = (),
        source: str | None = None,
    ) -> None:
        self.columns = as_columns(data, source or "training data")
        source = source or self.columns.source
        allowed = set(languages) if languages is not None else None
        excluded = set(exclude_languages)
        _check_present(allowed, self.columns, source)
        self.languages: tuple[str, ...] = tuple(
            lang for lang in self.columns.languages if (allowed is None or lang in allowed) and lang not in excluded
        )
        self.questions = self._masks("question")
        self.answers = self._masks("answer")
        self.answer_keys = canonical_keys(np.asarray(self.columns.answer_keys(), dtype=np.int64))
        self.shared_answers = not np.array_equal(self.answer_keys, np.arange(len(self.answer_keys)))
        self.pairs_per_row = self.questions.sum(axis=0, dtype=np.int64) * self.answers.sum(axis=0, dtype=np.int64)
        self._len = int(self.pairs_per_row.sum())
        if not self._len:
            raise UsageError(
                f"{source}: no usable question/answer pair in languages {sorted(allowed) if allowed else 'any'}"
                f"{f' excluding {sorted(excluded)}' if excluded else ''}"
            )

    def _masks(self, field: str) -> np.ndarray:
        """``(L, rows)`` booleans: whether each question has ``field`` in each of the table's languages."""
        masks = np.zeros((len(self.languages), len(self.columns)), dtype=bool)
        for index, lang in enumerate(self.languages):
            masks[index] = self.columns.has(field, lang)  # type: ignore[arg-type]
        return masks

    def __len__(self) -> int:
        """Usable pairs."""
        return self._len

    @property
    def num_questions(self) -> int:
        return len(self.columns)

    # -- codes ----------------------------------------------------------------------------------------------------
    def encode(self, rows: np.ndarray, query: int | np.ndarray, passage: int | np.ndarray) -> np.ndarray:
        """Pair codes of ``rows`` with query / passage language indices."""
        width = len(self.languages)
        return (np.asarray(rows, dtype=np.int64) * width + query) * width + passage

    def decode(self, codes: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Question rows, query and passage language indices of ``codes``."""
        width = len(self.languages)
        rows_and_query, passage = np.divmod(np.asarray(codes, dtype=np.int64), width)
        rows, query = np.divmod(rows_and_query, width)
        return rows, query, passage

    def pair(self, code: int) -> PairRef:
        """The pair of one code."""
        return self.pairs([code])[0]

    def pairs(self, codes: Sequence[int] | np.ndarray) -> list[PairRef]:
        rows, query, passage = self.decode(codes)
        langs = self.languages
        return [PairRef(int(r), langs[x], langs[y]) for r, x, y in zip(rows, query, passage, strict=True)]

    def alignment_ids(self, codes: Sequence[int] | np.ndarray) -> list[str]:
        """The alignment ids of the questions of ``codes``."""
        return self.columns.ids(self.decode(codes)[0])

    def slot_rows(self, query: int, passage: int) -> np.ndarray:
        """The rows (ascending) that have the question in language ``query`` and the answer in ``passage``."""
        return np.flatnonzero(self.questions[query] & self.answers[passage])

    def pair_codes(self, *, monolingual: bool | None = None) -> np.ndarray:
        """Codes of every usable pair (ascending), or only the X-X (``True``) or X≠Y (``False``) ones."""
        usable = self.questions.T[:, :, None] & self.answers.T[:, None, :]  # (rows, X, Y)
        if monolingual is not None:
            same = np.eye(len(self.languages), dtype=bool)
            usable &= same if monolingual else ~same
        return np.flatnonzero(usable)

    def codes_at(self, positions: np.ndarray) -> np.ndarray:
        """The codes at ``positions`` of the ascending list of usable pairs, without building that list."""
        offsets = np.concatenate([[0], np.cumsum(self.pairs_per_row)])
        rows = np.searchsorted(offsets, positions, side="right") - 1
        per_query = self.answers[:, rows].sum(axis=0)
        query_rank, passage_rank = np.divmod(positions - offsets[rows], per_query)
        return self.encode(rows, _nth_true(self.questions[:, rows], query_rank),
                           _nth_true(self.answers[:, rows], passage_rank))

    def fingerprint_lines(self, digest: hashlib._Hash, chunk: int = 4096) -> None:
        """Feed ``"<id>\\t<x>\\t<y>\\n"`` for every usable pair, in code order, into ``digest``."""
        width = len(self.languages)
        weights = 1 << np.arange(width, dtype=np.int64)
        signatures = (weights @ self.questions) * (1 << width) + weights @ self.answers
        templates: dict[int, list[str]] = {}
        for start in range(0, self.num_questions, chunk):
            rows = np.arange(start, min(start + chunk, self.num_questions))
            rows = rows[self.pairs_per_row[rows] > 0]
            blocks = []
            for alignment_id, signature in zip(self.columns.ids(rows), signatures[rows].tolist(), strict=True):
                if signature not in templates:
                    templates[signature] = self._pair_suffixes(signature)
                blocks.append(f"{alignment_id}\t" + f"\n{alignment_id}\t".join(templates[signature]) + "\n")
            digest.update("".join(blocks).encode())

    def _pair_suffixes(self, signature: int) -> list[str]:
        width = len(self.languages)
        query = [lang for bit, lang in enumerate(self.languages) if signature >> (width + bit) & 1]
        passage = [lang for bit, lang in enumerate(self.languages) if signature >> bit & 1]
        return [f"{x}\t{y}" for x in query for y in passage]


def _nth_true(masks: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Per column of ``masks`` (languages x items), the index of its ``ranks``-th ``True`` (0-based)."""
    return np.argmax(np.cumsum(masks, axis=0) > ranks, axis=0)


def _check_present(languages: set[str] | None, columns: QuestionColumns, source: str) -> None:
    """A language asked for that no record has is a typo, not a wish to train without it."""
    present = {lang for lang in columns.languages
               if columns.has("question", lang).any() or columns.has("answer", lang).any()}
    absent = sorted((languages or set()) - present)
    if absent:
        raise UsageError(
            f"{source}: no usable pair in language(s) {', '.join(absent)}: no record has them "
            f"(the data has {', '.join(sorted(present))})"
        )
