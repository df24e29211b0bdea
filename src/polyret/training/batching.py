"""How a :class:`~polyret.sampling.LanguageBatchSampler` plugs into sentence-transformers' trainer.

The trainer builds its DataLoader with ``batch_sampler=trainer.get_batch_sampler(...)`` and hands it to
``accelerator.prepare``. :class:`LanguageAwareTrainer` overrides only ``get_batch_sampler``: the training dataset
gets the language-aware sampler (row indices of the materialised pair dataset), an evaluation dataset gets its
own fixed-seed sampler. Under DDP accelerate gives rank r every W-th batch; the sampler emits the W per-rank
slices of each global batch consecutively, so every rank follows the same language plan at each step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sentence_transformers import SentenceTransformerTrainer
from sentence_transformers.base.sampler import DefaultBatchSampler
from torch.utils.data import BatchSampler

from polyret.sampling import LanguageBatchSampler


class RowBatchSampler(DefaultBatchSampler):
    """A sentence-transformers batch sampler yielding the row indices of a :class:`LanguageBatchSampler`."""

    def __init__(self, sampler: LanguageBatchSampler) -> None:
        super().__init__(range(len(sampler.table)), batch_size=sampler.batch_size, drop_last=True, seed=sampler.seed)
        self.language_sampler = sampler

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        self.language_sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.language_sampler)

    def __iter__(self) -> Iterator[list[int]]:
        return self.language_sampler.row_batches()


class LanguageAwareTrainer(SentenceTransformerTrainer):
    """``SentenceTransformerTrainer`` whose batches come from language-aware samplers.

    Args:
        train_sampler: batches of the training dataset.
        eval_sampler: batches of the evaluation dataset (optional).
        *args, **kwargs: passed to :class:`SentenceTransformerTrainer`.
    """

    def __init__(
        self, *args: Any, train_sampler: LanguageBatchSampler, eval_sampler: LanguageBatchSampler | None = None,
        **kwargs: Any,
    ) -> None:
        self.train_sampler = train_sampler
        self.eval_sampler = eval_sampler
        super().__init__(*args, **kwargs)

    def get_batch_sampler(self, dataset: Any, *args: Any, **kwargs: Any) -> BatchSampler | None:
        if dataset is self.train_dataset:
            return RowBatchSampler(self.train_sampler)
        if self.eval_sampler is not None and dataset is self.eval_dataset:
            return RowBatchSampler(self.eval_sampler)
        return super().get_batch_sampler(dataset, *args, **kwargs)
