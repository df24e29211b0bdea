"""Step time of fine-tuning multilingual-e5-small on CPU, with and without frozen word embeddings.

Two copies of the converted model train side by side on the same batches of English–X news translation pairs
(NTREX-128) with ``MultipleNegativesRankingLoss`` and AdamW: one fully trainable, one with
:func:`polyret.models.freezing.freeze_word_embeddings` applied. Steps alternate between the two copies so that
both see the same machine load; the first step of each is a warm-up and not timed. The script prints the median
wall time and CPU time (all threads of this process) per step of each, and their ratios; on a shared machine the
CPU-time ratio is the steadier one. Speed only: retrieval quality with frozen embeddings is measured elsewhere.

    python benchmarks/freeze_embeddings.py --steps 4 --batch-size 8 --max-seq-length 64
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator

import torch
from rich.console import Console
from rich.table import Table
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from polyret.data.parallel import load_ntrex
from polyret.models.freezing import freeze_word_embeddings
from polyret.models.loading import prepare_model

TARGETS = ("de", "fr", "zh", "ar")


class Arm:
    """One model copy with its loss and optimiser."""

    def __init__(self, model_dir: str, *, max_seq_length: int, freeze: bool):
        self.model = SentenceTransformer(model_dir, device="cpu")
        self.model.max_seq_length = max_seq_length
        self.frozen = freeze_word_embeddings(self.model) if freeze else 0
        self.loss = MultipleNegativesRankingLoss(self.model)
        self.optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad], lr=2e-5)
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def step(self, queries: list[str], passages: list[str]) -> tuple[float, float]:
        """One training step on a batch of (query, passage) pairs; returns its wall and CPU time in seconds."""
        wall, cpu = time.perf_counter(), time.process_time()
        features = [self.model.preprocess(texts) for texts in (queries, passages)]
        loss = self.loss(features, labels=None)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return time.perf_counter() - wall, time.process_time() - cpu


def translation_batches(batch_size: int, count: int) -> Iterator[tuple[list[str], list[str]]]:
    """``count`` batches of e5-prefixed (English query, translated passage) pairs, one target language each."""
    texts = load_ntrex(["en", *TARGETS]).texts
    english = texts["en"]
    for index in range(count):
        target = texts[TARGETS[index % len(TARGETS)]]
        lines = range(index * batch_size, (index + 1) * batch_size)
        yield [f"query: {english[i]}" for i in lines], [f"passage: {target[i]}" for i in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per arm (after one warm-up step)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seq-length", type=int, default=64)
    args = parser.parse_args()

    console = Console()
    torch.manual_seed(0)
    model_dir = str(prepare_model("multilingual-e5-small"))
    arms = {
        "full": Arm(model_dir, max_seq_length=args.max_seq_length, freeze=False),
        "frozen word embeddings": Arm(model_dir, max_seq_length=args.max_seq_length, freeze=True),
    }
    for index, (queries, passages) in enumerate(translation_batches(args.batch_size, args.steps + 1)):
        for arm in arms.values():
            wall, cpu = arm.step(queries, passages)
            if index:  # the first step is a warm-up
                arm.wall.append(wall)
                arm.cpu.append(cpu)

    table = Table(title=f"MNRL step time, batch {args.batch_size}, max length {args.max_seq_length}, "
                  f"{torch.get_num_threads()} threads, {args.steps} steps")
    for column in ("arm", "trainable params", "frozen params", "wall s/step", "CPU s/step"):
        table.add_column(column, justify="right")
    for name, arm in arms.items():
        trainable = sum(p.numel() for p in arm.model.parameters() if p.requires_grad)
        table.add_row(name, f"{trainable:,}", f"{arm.frozen:,}", f"{statistics.median(arm.wall):.2f}",
                      f"{statistics.median(arm.cpu):.2f}")
    console.print(table)
    full, frozen = arms.values()
    for label, attribute in (("wall", "wall"), ("CPU", "cpu")):
        ratio = statistics.median(getattr(full, attribute)) / statistics.median(getattr(frozen, attribute))
        console.print(f"speed-up from freezing word embeddings ({label} time, median per step): {ratio:.2f}x")


if __name__ == "__main__":
    main()
