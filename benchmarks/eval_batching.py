"""Batching of evaluation texts: sorted by token count (polyret's encoder) vs by characters (sentence-transformers).

Runs a study preset's evaluation suite once through polyret's encoder, recording every ``encode`` call (the texts
and the role each task asks for), then encodes those same calls again ``--repeats`` times each way, alternating:
``SentenceTransformer.encode`` (each call's texts sorted by characters, its default) and
:class:`~polyret.models.encoders.SentenceTransformerEncoder` (sorted by token count). Prints wall and CPU seconds per
run, the ratio of the medians, the token positions each ordering feeds the model (batches padded to their longest
text) against the tokens the texts have, and the largest difference between a text's two embeddings.

    python benchmarks/eval_batching.py --data-dir ../shared/data          # quick study slices, multilingual-e5-small
    python benchmarks/eval_batching.py --data-dir ../shared/data --backend openvino --precision bf16
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence

import numpy as np
from eval_speed import timed

from polyret.evaluation.suite import run_suite
from polyret.experiments.config import load_config
from polyret.experiments.study_data import prepare_study_data
from polyret.models.backends import InferenceBackend, autocast
from polyret.models.encoders import SentenceTransformerEncoder, backend_label, get_encoder
from polyret.models.protocol import Role

Call = tuple[list[str], Role]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="multilingual-e5-small", help="alias or model directory")
    parser.add_argument("--preset", default="quick", help="the study preset whose evaluation suite is encoded")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx", "openvino"])
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    return parser.parse_args()


class RecordingEncoder:
    """An encoder that keeps every ``encode`` call it passes on."""

    def __init__(self, encoder: SentenceTransformerEncoder):
        self.encoder, self.calls = encoder, []

    def __getattr__(self, name: str):
        return getattr(self.encoder, name)

    def encode(self, texts: Sequence[str], role: Role, **options) -> np.ndarray:
        self.calls.append((list(texts), role))
        return self.encoder.encode(texts, role, **options)


def by_characters(encoder: SentenceTransformerEncoder, calls: list[Call], batch_size: int) -> list[np.ndarray]:
    model = encoder.model  # its transformer runs on the encoder's backend once the encoder has encoded
    with autocast(model, encoder.backend):
        return [model.encode(texts, prompt_name=role if role in model.prompts else None, batch_size=batch_size,
                             convert_to_numpy=True, normalize_embeddings=True) for texts, role in calls]


def by_tokens(encoder: SentenceTransformerEncoder, calls: list[Call], batch_size: int) -> list[np.ndarray]:
    return [encoder.encode(texts, role, batch_size=batch_size) for texts, role in calls]


def positions_fed(encoder: SentenceTransformerEncoder, calls: list[Call], batch_size: int) -> dict[str, int]:
    """Token positions fed to the model under each ordering, and the tokens the texts have."""
    counts = {"characters": 0, "tokens": 0, "used": 0}
    for texts, role in calls:
        lengths = encoder.token_counts(texts, role if role in encoder.model.prompts else None)
        orders = {"characters": np.argsort([-len(t) for t in texts]), "tokens": np.argsort(-lengths, kind="stable")}
        for name, order in orders.items():
            batches = (lengths[order[start : start + batch_size]] for start in range(0, len(order), batch_size))
            counts[name] += sum(int(batch.max()) * len(batch) for batch in batches)
        counts["used"] += int(lengths.sum())
    return counts


def main() -> None:
    args = parse_args()
    study = prepare_study_data(load_config(preset=args.preset), data_dir=args.data_dir)
    backend = InferenceBackend(args.backend, args.precision)
    encoder = get_encoder(args.model, max_seq_length=args.max_seq_length, backend=backend)
    recorder = RecordingEncoder(encoder)
    run_suite(recorder, study.suite, data_dir=args.data_dir)
    calls = recorder.calls
    print(f"{args.preset} suite: {len(calls)} encode calls, {sum(len(t) for t, _ in calls)} texts; "
          f"batch {args.batch_size}, max length {args.max_seq_length}, {backend_label(encoder)}")
    ways = {"characters": by_characters, "tokens": by_tokens}
    runs: dict[str, list] = {name: [] for name in ways}
    for repeat in range(args.repeats):
        for name in (list(ways) if repeat % 2 == 0 else list(ways)[::-1]):
            runs[name].append(run := timed(lambda way=ways[name]: way(encoder, calls, args.batch_size)))
            print(f"  {name:<10} run {repeat + 1}: {run.wall_s:6.1f} s wall, {run.cpu_s:6.1f} s CPU")
    wall = {name: statistics.median(r.wall_s for r in results) for name, results in runs.items()}
    cpu = {name: statistics.median(r.cpu_s for r in results) for name, results in runs.items()}
    print(f"sorted by tokens: {wall['characters'] / wall['tokens']:.3f}x wall, "
          f"{cpu['characters'] / cpu['tokens']:.3f}x CPU of sorted by characters (medians)")
    fed = positions_fed(encoder, calls, args.batch_size)
    print(f"token positions fed: by characters {fed['characters']} ({fed['characters'] / fed['used']:.3f}x the "
          f"{fed['used']} used), by tokens {fed['tokens']} ({fed['tokens'] / fed['used']:.3f}x)")
    first, second = (np.concatenate(runs[name][0].value) for name in ways)
    identical = int(np.all(first == second, axis=1).sum())
    print(f"largest difference of a text's two embeddings {np.abs(first - second).max():.2e}; "
          f"bit-identical rows {identical} of {len(first)}")


if __name__ == "__main__":
    main()
