"""Fine-tuning with language-aware batches on top of sentence-transformers' trainer.

Usage::

    config = TrainConfig.paper("multilingual-e5-small", max_steps=1000)
    outcome = train(config, load_parallel_qa("xquad-r", groups=train_groups), output_dir="runs/hybrid")
    SentenceTransformer(outcome.model_dir)
    train(config, [DataSource("nq", nq_corpus), DataSource("mmarco", mmarco_corpus, weight=0.5)], output_dir="mixed")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polyret.training.config import PAPER_HELD_OUT_LANGUAGES, TrainConfig

if TYPE_CHECKING:
    from polyret.training.sources import DataSource
    from polyret.training.trainer import TrainOutcome, train


def __getattr__(name: str) -> Any:
    """``train``, ``TrainOutcome`` and ``DataSource`` load torch and sentence-transformers: import them on first use
    only."""
    if name in ("train", "TrainOutcome"):
        from polyret.training import trainer

        return getattr(trainer, name)
    if name == "DataSource":
        from polyret.training import sources

        return sources.DataSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["PAPER_HELD_OUT_LANGUAGES", "DataSource", "TrainConfig", "TrainOutcome", "train"]
