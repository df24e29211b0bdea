"""Inference backends side by side: speed against torch fp32 and the largest change of every reported metric.

Each backend (``--backends``, default all five) loads the model afresh and runs the same evaluation suite through
:func:`polyret.evaluation.suite.run_suite` with a fresh in-memory embedding store: XQuAD-R (all 121 X-X / X-Y
settings, the multilingual pool and the language bias, on the first ``--xquad-articles`` of its 48 articles, 0 = all)
and CLSD WMT19 de<->fr (the first ``--clsd-rows`` rows, 0 = all). Each run is timed end to end (data loading,
encoding, search and metrics), wall clock and process CPU time (``time.process_time``, all threads; less sensitive
to other jobs on a shared machine), after an untimed warm-up that also builds (or finds) the backend's cached export.
The script prints every backend's speed ratio to torch fp32 of the same run, the change of every metric the suite
reports against torch fp32, and the largest change of the checked ones (:data:`CHECKED`: mAP, accuracy, P@1)
against the default-backend tolerance (0.002, i.e. 0.2 accuracy points).

Close to the limit (``--limit-check``, default ``torch-fp32``): for these backends the script also records the
distinct texts the suite asked the encoder for, encodes them once more in one call per role with a fresh encoder of
the same backend, and prints the ratio of the suite's time to that pure encoding time.

    python benchmarks/eval_backends.py --xquad-articles 2 --clsd-rows 100 --max-seq-length 128
    python benchmarks/eval_backends.py --xquad-articles 0 --clsd-rows 0 --backends torch-fp32,torch-bf16

Stored results (``--compare-results FP32 OTHER``): the same change table for two ``results.json`` files of one model
on the same tasks (a study arm's, or ``polyret evaluate``'s), e.g. a study's zero-shot arm evaluated once with each
backend; nothing is encoded, so no speed is measured.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from polyret.models.protocol import Role

TOLERANCE = 0.002
"""Largest change of a checked score (mAP, accuracy, P@1 as fractions) that lets a backend become the default."""
CHECKED = ("map", "map_all", "acc", "p@1", "r@1")
"""Score names (after the last dot) the tolerance applies to; R@1 is P@1 with one relevant candidate. The others
(MRR, nDCG, recall@10, bias, language shares) are printed for information."""
ALL_BACKENDS = "torch-fp32,openvino-bf16,torch-bf16,openvino-fp32,onnx-fp32"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="multilingual-e5-small", help="model directory or polyret alias")
    parser.add_argument("--backends", default=ALL_BACKENDS, help="comma-separated BACKEND-PRECISION labels")
    parser.add_argument("--xquad-articles", type=int, default=2, help="first N XQuAD-R articles (0: all 48)")
    parser.add_argument("--clsd-rows", type=int, default=100, help="first N CLSD WMT19 rows (0: all)")
    parser.add_argument("--max-seq-length", type=int, default=None, help="token limit (default: the model's)")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per forward pass")
    parser.add_argument("--limit-check", default="torch-fp32",
                        help="backends whose suite time is compared with encoding their unique texts once ('': none)")
    parser.add_argument("--data-dir", type=Path, default=None, help="polyret data directory")
    parser.add_argument("--compare-results", type=Path, nargs=2, metavar=("FP32", "OTHER"),
                        help="compare the scores of two stored results.json files instead of running backends")
    return parser.parse_args()


class RecordingEncoder:
    """Passes every call to ``inner`` and records the texts it was asked for, per role (same name, fingerprint)."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.texts: dict[Role, list[str]] = {"query": [], "passage": []}

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def encode(self, texts: Sequence[str], role: Role, *, batch_size: int = 32, show_progress: bool = False):
        if texts and texts[0] != "dimension probe":
            self.texts[role].extend(texts)
        return self.inner.encode(texts, role, batch_size=batch_size)


def main() -> None:
    args = parse_args()
    if args.compare_results:
        compare_stored(*args.compare_results)
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    from polyret.evaluation.suite import ClsdSpec, LareqaSpec, SuiteConfig

    labels = [label for label in args.backends.split(",") if label]
    if "torch-fp32" not in labels:
        labels.insert(0, "torch-fp32")
    suite = SuiteConfig("backends", (
        LareqaSpec("xquad-r", max_groups=args.xquad_articles or None),
        ClsdSpec(limit=args.clsd_rows or None, swap_analysis=False),
    ), batch_size=args.batch_size)
    print(f"model {args.model}; {torch.get_num_threads()} torch threads; xquad-r articles "
          f"{args.xquad_articles or 'all'}, clsd-wmt19 rows {args.clsd_rows or 'all'}; batch {args.batch_size}; "
          f"max_seq_length {args.max_seq_length or 'model'}")
    runs: dict[str, dict] = {}
    for label in labels:
        runs[label] = _run(label, suite, args)
        if label != "torch-fp32":  # printed as each backend finishes: an interrupted run still reports
            print(f"{label}: change of every score vs torch-fp32")
            for name, value in sorted(_changes(runs["torch-fp32"]["scores"], runs[label]["scores"]).items()):
                print(f"  {name:<40} {value:+.4f}", flush=True)
    reference = runs["torch-fp32"]
    print(f"\n{'backend':>14} {'wall s':>8} {'CPU s':>8} {'wall x':>7} {'CPU x':>7}  largest checked change")
    for label, run in runs.items():
        change, key = _largest_change(reference["scores"], run["scores"])
        verdict = "" if label == "torch-fp32" else ("  within tolerance" if change <= TOLERANCE else "  OUTSIDE")
        print(f"{label:>14} {run['wall']:8.1f} {run['cpu']:8.1f} {reference['wall'] / run['wall']:6.2f}x "
              f"{reference['cpu'] / run['cpu']:6.2f}x  {change:.4f} ({key}){verdict}")


def _encoder(label: str, args: argparse.Namespace):
    from polyret.models.backends import InferenceBackend
    from polyret.models.encoders import get_encoder

    backend, precision = label.split("-")
    return get_encoder(args.model, max_seq_length=args.max_seq_length, backend=InferenceBackend(backend, precision),
                       warn=print)


def _run(label: str, suite, args: argparse.Namespace) -> dict:
    """Time the suite on ``label``; with ``--limit-check``, also time encoding its unique texts once."""
    from polyret.evaluation.suite import run_suite

    encoder = _encoder(label, args)
    started = time.perf_counter()
    encoder.encode(["warm-up text"] * args.batch_size, "query", batch_size=args.batch_size)  # export, warm caches
    print(f"{label}: loaded and warmed up in {time.perf_counter() - started:.1f} s", flush=True)
    recording = RecordingEncoder(encoder)
    wall, cpu = time.perf_counter(), time.process_time()
    results = run_suite(recording, suite, data_dir=args.data_dir)
    run = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
           "scores": {f"{task}/{key}": value for task, result in results.items()
                      for key, value in result.scores.items()}}
    print(f"{label}: suite {run['wall']:.1f} s wall, {run['cpu']:.1f} s CPU", flush=True)
    if label in args.limit_check.split(","):
        fresh = _encoder(label, args)
        fresh.encode(["warm-up text"] * args.batch_size, "query", batch_size=args.batch_size)
        wall, cpu = time.perf_counter(), time.process_time()
        for role, texts in recording.texts.items():
            fresh.encode(texts, role, batch_size=args.batch_size)
        encode_wall, encode_cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"close to the limit, {label}: suite {run['wall']:.1f} s wall / encoding its "
              f"{sum(len(texts) for texts in recording.texts.values())} unique texts once {encode_wall:.1f} s = "
              f"{run['wall'] / encode_wall:.3f}x (CPU {run['cpu'] / encode_cpu:.3f}x)", flush=True)
    return run


def compare_stored(reference_path: Path, other_path: Path) -> None:
    """Print every score's change from ``reference_path`` to ``other_path`` and the largest checked one."""
    import json

    reference, other = ({f"{task}/{key}": value for task, result in json.loads(path.read_text())["tasks"].items()
                         for key, value in result["scores"].items()} for path in (reference_path, other_path))
    for name, value in sorted(_changes(reference, other).items()):
        print(f"  {name:<40} {value:+.4f}")
    change, key = _largest_change(reference, other)
    print(f"largest checked change {change:.4f} ({key}): "
          f"{'within tolerance' if change <= TOLERANCE else 'OUTSIDE'} {TOLERANCE}")


def _changes(reference: dict[str, float], other: dict[str, float]) -> dict[str, float]:
    return {key: other[key] - reference[key] for key in reference if key in other and np.isfinite(reference[key])}


def _largest_change(reference: dict[str, float], other: dict[str, float]) -> tuple[float, str]:
    """The largest absolute change of a :data:`CHECKED` score, and its name."""
    changes = {key: value for key, value in _changes(reference, other).items()
               if key.rsplit("/", 1)[-1].rsplit(".", 1)[-1] in CHECKED}
    key = max(changes, key=lambda k: abs(changes[k]))
    return abs(changes[key]), key


if __name__ == "__main__":
    main()
