"""The training pairs as a map-style dataset keyed by pair code: texts are read only for the batch being built."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from datasets import Dataset
from torch.utils.data import Dataset as TorchDataset

from polyret.data.records import passage_input
from polyret.sampling import PairTable

PREVIEW_PAIRS = 1000


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
    """

    def __init__(self, table: PairTable, *, with_context: bool, group_labels: bool = False) -> None:
        self.table = table
        self.with_context = with_context
        self.group_labels = group_labels
        self.column_names = ["query", "passage", *(["label"] if group_labels else [])]

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
        if self.group_labels:
            for item, row in zip(items, rows.tolist(), strict=True):
                item["label"] = row
        return items

    def _texts(self, field: str, rows: np.ndarray, langs: np.ndarray) -> list[Any]:
        """``field`` of each row in its language, one column read per language."""
        out: list[Any] = [None] * len(rows)
        for lang in np.unique(langs).tolist():
            where = np.flatnonzero(langs == lang)
            texts = self.table.columns.texts(field, self.table.languages[lang], rows[where])  # type: ignore[arg-type]
            for position, text in zip(where.tolist(), texts, strict=True):
                out[position] = text
        return out

    def preview(self, count: int = PREVIEW_PAIRS) -> Dataset:
        """The first ``count`` pairs (in code order) as a ``datasets.Dataset``, for the model card's statistics."""
        return Dataset.from_list(self.__getitems__(self.table.codes_at(np.arange(min(count, len(self)))).tolist()))
