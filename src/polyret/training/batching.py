"""How a :class:`~polyret.sampling.EpochSampler` plugs into sentence-transformers' trainer.

The trainer builds its DataLoader with ``batch_sampler=trainer.get_batch_sampler(...)`` and hands it to
``accelerator.prepare``. :class:`LanguageAwareTrainer` swaps the batch sampler: the training dataset gets the
language-aware sampler (pair codes, the keys of :class:`~polyret.training.dataset.PairTexts`), an evaluation dataset
gets its own fixed-seed sampler. Its datasets are :class:`PairTexts` (:class:`MixedPairTexts` for several data
sets), which read a batch's texts only when the DataLoader fetches it, so the trainer builds their DataLoader itself
(sentence-transformers' own takes ``datasets`` objects only) with the arguments sentence-transformers would use, and
hands the model card a ``datasets.Dataset`` of the first pairs. Under DDP accelerate gives rank r every W-th batch;
the sampler emits the W per-rank slices of each global batch consecutively, so every rank follows the same language
plan at each step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sentence_transformers import SentenceTransformerTrainer
from sentence_transformers.base.sampler import DefaultBatchSampler
from torch.utils.data import BatchSampler, DataLoader

from polyret.sampling import EpochSampler
from polyret.training.dataset import MixedPairTexts, PairTexts

TEXT_DATASETS = (PairTexts, MixedPairTexts)


class RowBatchSampler(DefaultBatchSampler):
    """A sentence-transformers batch sampler yielding the row indices of a :class:`EpochSampler`."""

    def __init__(self, sampler: EpochSampler) -> None:
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
        self, *args: Any, train_sampler: EpochSampler, eval_sampler: EpochSampler | None = None,
        **kwargs: Any,
    ) -> None:
        self.train_sampler = train_sampler
        self.eval_sampler = eval_sampler
        super().__init__(*args, **kwargs)

    def _build_dataloader(self, dataset: Any, batch_size: int, dataset_kind: str) -> DataLoader:
        """A DataLoader of :class:`PairTexts` with the settings sentence-transformers 6.3's own one uses; other
        datasets go to sentence-transformers."""
        if not isinstance(dataset, TEXT_DATASETS):
            return super()._build_dataloader(dataset, batch_size, dataset_kind)
        return DataLoader(
            dataset, batch_sampler=self.get_batch_sampler(dataset), collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers, pin_memory=self.args.dataloader_pin_memory,
            persistent_workers=self.args.dataloader_persistent_workers,
            prefetch_factor=self.args.dataloader_prefetch_factor,
        )

    def add_model_card_callback(self, default_args_dict: dict[str, Any]) -> None:
        """The model card takes its column statistics, examples and widget texts from the first pairs
        (:meth:`PairTexts.preview`, the first rows the card would read anyway) and its sizes from the whole set."""
        datasets = self.train_dataset, self.eval_dataset
        self.train_dataset, self.eval_dataset = (d.preview() if isinstance(d, TEXT_DATASETS) else d for d in datasets)
        try:
            super().add_model_card_callback(default_args_dict)
        finally:
            self.train_dataset, self.eval_dataset = datasets
        card = self.model.model_card_data
        for infos, dataset in ((card.train_datasets, datasets[0]), (card.eval_datasets, datasets[1])):
            for info in infos if isinstance(dataset, TEXT_DATASETS) else ():
                info["size"] = len(dataset)
        if isinstance(datasets[0], TEXT_DATASETS):
            size = f"dataset_size:{len(datasets[0])}"
            card.tags = [size if tag.startswith("dataset_size:") else tag for tag in card.tags]

    def get_batch_sampler(self, dataset: Any, *args: Any, **kwargs: Any) -> BatchSampler | None:
        if dataset is self.train_dataset:
            return RowBatchSampler(self.train_sampler)
        if self.eval_sampler is not None and dataset is self.eval_dataset:
            return RowBatchSampler(self.eval_sampler)
        return super().get_batch_sampler(dataset, *args, **kwargs)
