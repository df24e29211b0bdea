"""Encoding in bf16 against fp32 with torch, on the CPU or a GPU: speed ratio and agreement, without data files.

Encodes the same texts (the questions and answer sentences of ``--synthetic N`` random aligned records in nine
languages, see ``synthetic.py``) with a polyret encoder on ``torch-fp32`` and on ``torch-bf16`` (``torch.autocast``
on the model's device), after one untimed warm-up each, alternating ``--repeats`` times, and prints texts/s per run,
the ratio of the medians, the smallest cosine between a text's two embeddings and the share of texts whose nearest
neighbour among all texts is the same in both ("NN agree"). A random-init model (``--model-config``) measures speed
only (its embeddings carry no meaning, so near-ties make NN agreement low); give a trained model (``--model``) for
the agreement too. This is the GPU half of the evaluation-speed target (bf16 at least 1.8x fp32 on a GPU);
``eval_backends.py`` measures the metrics on the real tasks.

    python benchmarks/encode_precision.py --synthetic 100                                    # tiny model, CPU
    python benchmarks/encode_precision.py --device cuda --model-config xlmr-base --synthetic 2000 --batch-size 128
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
from eval_speed import Timed, timed
from synthetic import add_model_arguments, build_model, record_texts, synthetic_records

from polyret.models.backends import InferenceBackend
from polyret.models.encoders import get_encoder

PRECISIONS = ("fp32", "bf16")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_arguments(parser)
    parser.add_argument("--synthetic", type=int, default=300, help="aligned records; 2 texts per record and language")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    return parser.parse_args()


def timed_encode(encoder, texts: list[str], batch_size: int) -> Timed:
    """The embeddings of ``texts`` and the seconds they took (numpy output: the device has finished)."""
    return timed(lambda: encoder.encode(texts, "passage", batch_size=batch_size))


def agreement(reference: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """Smallest cosine between the two embeddings of a text, and the share of texts with the same nearest neighbour."""
    cosines = np.sum(reference * other, axis=1)
    neighbours = []
    for embeddings in (reference, other):
        similarity = embeddings @ embeddings.T
        np.fill_diagonal(similarity, -np.inf)
        neighbours.append(similarity.argmax(axis=1))
    return float(cosines.min()), float(np.mean(neighbours[0] == neighbours[1]))


def main() -> None:
    args = parse_args()
    texts = record_texts(synthetic_records(args.synthetic))
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or build_model(Path(scratch), args.model_config, texts, max_seq_length=args.max_seq_length)
        encoders = {precision: get_encoder(model, device=args.device, max_seq_length=args.max_seq_length,
                                           backend=InferenceBackend("torch", precision)) for precision in PRECISIONS}
        embeddings, seconds = {}, {precision: [] for precision in PRECISIONS}
        for encoder in encoders.values():
            timed_encode(encoder, texts[: 2 * args.batch_size], args.batch_size)  # warm-up
        for repeat in range(args.repeats):
            for precision in PRECISIONS if repeat % 2 == 0 else PRECISIONS[::-1]:
                run = timed_encode(encoders[precision], texts, args.batch_size)
                embeddings[precision], took = run.value, run.wall_s
                seconds[precision].append(took)
                print(f"run {repeat + 1} torch-{precision}: {len(texts) / took:8.1f} texts/s ({took:.2f} s)")
    ratio = statistics.median(seconds["fp32"]) / statistics.median(seconds["bf16"])
    min_cosine, nn_agree = agreement(embeddings["fp32"], embeddings["bf16"])
    print(f"model {model if args.model else args.model_config}; device {args.device}; {len(texts)} texts, batch "
          f"{args.batch_size}, max length {args.max_seq_length}")
    print(f"ratio bf16 / fp32 (median texts/s): {ratio:.2f}x; min cosine {min_cosine:.5f}; NN agree {nn_agree:.3f}")


if __name__ == "__main__":
    main()
