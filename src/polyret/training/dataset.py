"""The training pairs as a map-style dataset keyed by pair code: texts are read only for the batch being built
(:class:`PairTexts` for one data set, :class:`MixedPairTexts` for several)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from datasets import Dataset
from torch.utils.data import Dataset as TorchDataset

from polyret.data.records import passage_input
from polyret.sampling import PairTable, SourceTables

PREVIEW_PAIRS = 1000


def negative_columns(count: int) -> list[str]:
    """The names of ``count`` hard-negative columns: ``negative_1`` .. ``negative_<count>``."""
    return [f"negative_{i}" for i in range(1, count + 1)]


def missing_negatives(table: PairTable, count: int) -> dict[str, tuple[int, int]]:
    """Per passage language: how many rows usable as a positive there have fewer than ``count`` hard negatives
    in it, and the first such row (languages where every row has enough are left out). Reads list lengths only.
    """
    missing = {}
    for index, lang in enumerate(table.languages):
        usable = table.answers[index] & table.questions.any(axis=0)
        short = np.flatnonzero(usable & (table.columns.negative_counts(lang) < count))
        if short.size:
            missing[lang] = (int(short.size), int(short[0]))
    return missing


class PairTexts(TorchDataset):
    """``texts[code]`` is ``{"query": question in X, "passage": answer in Y}`` of the pair ``code`` of ``table``.

    The keys are the pair codes a :class:`~polyret.sampling.LanguageBatchSampler` yields (not ``0..len-1``);
    ``__getitems__`` reads a whole batch with one :meth:`~polyret.data.columns.QuestionColumns.texts` call per
    language and field, which is how a DataLoader with that batch sampler fetches it. Nothing is held per pair, so
    the size of the training set costs no memory here. ``len`` is the number of usable pairs.

    Example:
        >>> texts = PairTexts(PairTable([ParallelQA("1", {"en": "q"}, {"en": "a", "de": "a-de"})]),
        ...                   with_context=False)
        >>> texts[int(texts.table.pair_codes()[0])]
        {'query': 'q', 'passage': 'a-de'}

    Args:
        table: the usable pairs.
        with_context: the passage is the answer, a blank line and its paragraph
            (:func:`polyret.data.records.passage_input`).
        group_labels: add ``label``, the question row: rows with equal labels hold translations of one answer (the
            positives of :class:`~polyret.training.losses.MultiPositiveRankingLoss`).
        language_labels: end ``label`` with the index of the pair's query and passage language (in
            ``table.languages``), as :class:`~polyret.training.language_losses.LanguageErasureLoss` reads them.
        parallel_queries: add ``parallel_query``, the question in another language (:meth:`parallel_languages`),
            for :class:`~polyret.training.language_losses.ParallelQueryAlignmentLoss`.
        hard_negatives: add ``negative_1`` .. ``negative_k``: ``k`` hard negatives of the row in the passage's
            language (:meth:`negative_texts`), the extra columns of ``MultipleNegativesRankingLoss``. Every usable
            row must have ``k`` of them there (:func:`missing_negatives` counts those that do not).
    """

    def __init__(
        self, table: PairTable, *, with_context: bool, group_labels: bool = False, language_labels: bool = False,
        parallel_queries: bool = False, hard_negatives: int = 0,
    ) -> None:
        self.table = table
        self.with_context = with_context
        self.group_labels = group_labels
        self.language_labels = language_labels
        self.parallel_queries = parallel_queries
        self.hard_negatives = hard_negatives
        labelled = group_labels or language_labels
        self.column_names = ["query", "passage", *negative_columns(hard_negatives),
                             *(["parallel_query"] if parallel_queries else []), *(["label"] if labelled else [])]

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, code: int) -> dict[str, Any]:
        return self.__getitems__([code])[0]

    def __getitems__(self, codes: Sequence[int]) -> list[dict[str, Any]]:
        rows, query, passage = self.table.decode(codes)
        queries = self._texts("question", rows, query)
        passages = self._texts("answer", rows, passage)
        if self.with_context:
            contexts = self._texts("context", rows, passage)
            passages = [passage_input(text, context) for text, context in zip(passages, contexts, strict=True)]
        items: list[dict[str, Any]] = [{"query": q, "passage": p} for q, p in zip(queries, passages, strict=True)]
        if self.hard_negatives:
            for item, chosen in zip(items, self.negative_texts(rows, passage, set(passages)), strict=True):
                item.update(zip(negative_columns(self.hard_negatives), chosen, strict=True))
        if self.parallel_queries:
            parallel = self._texts("question", rows, self.parallel_languages(rows, query, passage))
            for item, text in zip(items, parallel, strict=True):
                item["parallel_query"] = text
        for item, label in zip(items, self._labels(rows, query, passage), strict=True):
            if label is not None:
                item["label"] = label
        return items

    def _labels(self, rows: np.ndarray, query: np.ndarray, passage: np.ndarray) -> list[Any]:
        """Per pair: its question row (group labels), that row followed by the query's and the passage's language
        index (language labels), only the two indices, or ``None`` (no label column)."""
        if not self.language_labels:
            return rows.tolist() if self.group_labels else [None] * len(rows)
        groups = [[row] for row in rows.tolist()] if self.group_labels else [[] for _ in rows]
        return [[*group, q, p] for group, q, p in zip(groups, query.tolist(), passage.tolist(), strict=True)]

    def negative_texts(self, rows: np.ndarray, passage: np.ndarray, positives: set[str]) -> list[list[str]]:
        """``hard_negatives`` negatives of each row in its passage's language, in their stored order (hardest
        first when mined), passing over those that are the positive passage of a pair in the batch (they would
        be false negatives) while the row has others."""
        stored = self._texts("negatives", rows, passage)
        chosen = []
        for found in stored:
            clean = [text for text in found if text not in positives]
            chosen.append((clean + [text for text in found if text in positives])[: self.hard_negatives])
        return chosen

    def parallel_languages(self, rows: np.ndarray, query: np.ndarray, passage: np.ndarray) -> np.ndarray:
        """The language index of each pair's parallel query: the passage's language for a cross-lingual pair
        whose question exists in it, else the next of the question's languages (in ``table.languages`` order,
        cyclically) after the query's; the query's own language when the question has no other."""
        has = self.table.questions[:, rows].T  # (pairs, L): the languages each pair's question exists in
        out = np.empty(len(rows), dtype=np.int64)
        for i, (q, p) in enumerate(zip(query.tolist(), passage.tolist(), strict=True)):
            langs = np.flatnonzero(has[i])
            out[i] = p if p != q and has[i, p] else langs[(int(np.searchsorted(langs, q)) + 1) % len(langs)]
        return out

    def _texts(self, field: str, rows: np.ndarray, langs: np.ndarray) -> list[Any]:
        """``field`` of each row in its language (``negatives``: their list), one column read per language."""
        out: list[Any] = [None] * len(rows)
        columns = self.table.columns
        for lang in np.unique(langs).tolist():
            where = np.flatnonzero(langs == lang)
            name = self.table.languages[lang]
            texts = (columns.negatives(name, rows[where]) if field == "negatives"
                     else columns.texts(field, name, rows[where]))  # type: ignore[arg-type]
            for position, text in zip(where.tolist(), texts, strict=True):
                out[position] = text
        return out

    def preview(self, count: int = PREVIEW_PAIRS) -> Dataset:
        """The first ``count`` pairs (in code order) as a ``datasets.Dataset``, for the model card's statistics."""
        return Dataset.from_list(self.__getitems__(self.table.codes_at(np.arange(min(count, len(self)))).tolist()))


class MixedPairTexts(TorchDataset):
    """:class:`PairTexts` of several data sets under the code space of a
    :class:`~polyret.sampling.SourceTables` (the keys a :class:`~polyret.sampling.SourceMixture` yields).

    Each code is read from its own data set's :class:`PairTexts`; language labels are re-indexed into the
    languages of all data sets (``tables.languages``), so one index means one language across the run.

    Args:
        tables: the data sets' pair tables under one code space.
        **options: the options of :class:`PairTexts`, the same for every data set.
    """

    def __init__(self, tables: SourceTables, **options: Any) -> None:
        self.tables = tables
        self.parts = [PairTexts(table, **options) for table in tables.tables]
        self.column_names = self.parts[0].column_names
        self._relabel = options.get("language_labels", False)

    def __len__(self) -> int:
        return len(self.tables)

    def __getitem__(self, code: int) -> dict[str, Any]:
        return self.__getitems__([code])[0]

    def __getitems__(self, codes: Sequence[int]) -> list[dict[str, Any]]:
        out: list[Any] = [None] * len(codes)
        for source, where, local in self.tables.split(codes):
            items = self.parts[source].__getitems__(local.tolist())
            if self._relabel:  # the label ends with the query's and the passage's language index
                index = self.tables.language_index(source).tolist()
                for item in items:
                    item["label"] = [*item["label"][:-2], index[item["label"][-2]], index[item["label"][-1]]]
            for position, item in zip(where.tolist(), items, strict=True):
                out[position] = item
        return out

    def preview(self, count: int = PREVIEW_PAIRS) -> Dataset:
        """The first pairs of each data set (``count`` in all), for the model card's statistics."""
        share = max(1, count // len(self.parts))
        codes = [table.codes_at(np.arange(min(share, len(table)))) + offset
                 for table, offset in zip(self.tables.tables, self.tables.offsets.tolist(), strict=False)]
        return Dataset.from_list(self.__getitems__(np.concatenate(codes).tolist()))
