"""Fine-tuning with language-aware batches on top of sentence-transformers' trainer.

Usage::

    config = TrainConfig.paper("multilingual-e5-small", max_steps=1000)
    outcome = train(config, load_parallel_qa("xquad-r", groups=train_groups), output_dir="runs/hybrid")
    SentenceTransformer(outcome.model_dir)
"""

from __future__ import annotations

from polyret.training.config import PAPER_HELD_OUT_LANGUAGES, TrainConfig
from polyret.training.trainer import TrainOutcome, train

__all__ = ["PAPER_HELD_OUT_LANGUAGES", "TrainConfig", "TrainOutcome", "train"]
