"""One rank of the DDP test: trains with :func:`polyret.training.train` and records what this rank received.

Run under ``torchrun``. It trains ``STEPS`` steps into ``ROOT/full`` (checkpoints every 2 steps), then resumes a
copy without the last checkpoint in ``ROOT/resumed``, then starts ``ROOT/terminated``, where rank 1 alone sends
itself SIGTERM during step ``SIGNAL_STEP``, then trains ``ROOT/multi`` with the ``multi_positive`` design (one launch
for all four saves the start-up of more). For each run it
writes ``ROOT/<run>-rank<r>.json``: the (query, passage) texts of every batch this rank's collator got, the loss
this rank computed at each step and, when training was interrupted, the error message and checkpoint. The recording
wraps sentence-transformers' collator and loss in this process only; the library runs unchanged.

    torchrun --standalone --nproc-per-node 2 tests/distributed/ddp_worker.py MODEL RECORDS ROOT STEPS

``RECORDS`` is a JSON list of ``{"id", "questions", "answers"}`` objects.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from polyret.data.records import ParallelQA
from polyret.errors import TrainingInterrupted
from polyret.training import TrainConfig, train
from polyret.training.losses import MultiPositiveRankingLoss

BATCH_SIZE = 4
SIGNAL_STEP = 2
SIGNALLED_RANK = "1"
POSITIVES = 2  # multi_positive run: two questions per rank and step, each with its answer in two languages


def record_batches_and_losses(batches: list[list[list[str]]], losses: list[float],
                              signal_at_step: int | None = None) -> Callable[[], None]:
    """Wrap the collator and the loss so each call appends what this rank saw; returns the undo function.

    With ``signal_at_step``, this process sends itself SIGTERM while computing that step's loss.
    """
    collate = SentenceTransformerDataCollator.__call__
    losses_classes = (MultipleNegativesRankingLoss, MultiPositiveRankingLoss)
    computes = [cls.compute_loss_from_embeddings for cls in losses_classes]

    def recording_collate(self: Any, features: list[dict[str, Any]]) -> dict[str, Any]:
        batches.append([[row["query"], row["passage"]] for row in features])
        return collate(self, features)

    def recording(compute: Callable[..., Any]) -> Callable[..., Any]:
        def recording_loss(self: Any, embeddings: Any, labels: Any) -> Any:
            loss = compute(self, embeddings, labels)
            losses.append(float(loss.detach()))
            if len(losses) == signal_at_step:
                os.kill(os.getpid(), signal.SIGTERM)
            return loss

        return recording_loss

    SentenceTransformerDataCollator.__call__ = recording_collate
    for cls, compute in zip(losses_classes, computes, strict=True):
        cls.compute_loss_from_embeddings = recording(compute)

    def restore() -> None:
        SentenceTransformerDataCollator.__call__ = collate
        for cls, compute in zip(losses_classes, computes, strict=True):
            cls.compute_loss_from_embeddings = compute

    return restore


def train_and_record(config: TrainConfig, train_data: list[ParallelQA], run_dir: Path, out: Path,
                     signal_at_step: int | None = None) -> None:
    """Train, then write ``out`` with this rank's collated batches, per-step losses and interruption if any."""
    batches: list[list[list[str]]] = []
    losses: list[float] = []
    interrupted = None
    restore = record_batches_and_losses(batches, losses, signal_at_step)
    try:
        train(config, train_data, output_dir=run_dir)
    except TrainingInterrupted as exc:
        interrupted = {"message": str(exc), "exit_code": exc.exit_code, "checkpoint": str(exc.checkpoint)}
    finally:
        restore()
    out.write_text(json.dumps({"world_size": int(os.environ["WORLD_SIZE"]), "batches": batches, "losses": losses,
                               "interrupted": interrupted}), encoding="utf-8")


def main(model: str, records: str, root: str, steps: str) -> None:
    """Train ``steps`` steps into ``root/full``; copy it to ``root/resumed`` less the last checkpoint and resume;
    train ``root/terminated`` until rank 1's SIGTERM stops it; train ``root/multi`` with multi-positive batches."""
    root_dir, rank = Path(root), os.environ["RANK"]
    train_data = [ParallelQA(**row) for row in json.loads(Path(records).read_text(encoding="utf-8"))]
    config = TrainConfig(model=model, sampler="hybrid", batch_size=BATCH_SIZE, max_steps=int(steps), save_steps=2,
                         lr=1e-3, warmup_ratio=0.0, with_context=False, save_total_limit=None)
    train_and_record(config, train_data, root_dir / "full", root_dir / f"full-rank{rank}.json")
    if rank == "0":
        shutil.copytree(root_dir / "full", root_dir / "resumed")
        shutil.rmtree(root_dir / "resumed" / "checkpoints" / f"checkpoint-{steps}")
        shutil.rmtree(root_dir / "resumed" / "final")
    torch.distributed.barrier()
    train_and_record(config.replace(resume=True), train_data, root_dir / "resumed",
                     root_dir / f"resumed-rank{rank}.json")
    train_and_record(config.replace(save_steps=100), train_data, root_dir / "terminated",
                     root_dir / f"terminated-rank{rank}.json", SIGNAL_STEP if rank == SIGNALLED_RANK else None)
    multi = config.replace(sampler="multi_positive", positives_per_query=POSITIVES, save_steps=100)
    train_and_record(multi, train_data, root_dir / "multi", root_dir / f"multi-rank{rank}.json")


if __name__ == "__main__":
    main(*sys.argv[1:])
