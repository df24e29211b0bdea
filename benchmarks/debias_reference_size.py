"""How many reference articles each post-hoc debiasing method needs: score on the held-out XQuAD-R fold by size.

The study's default split (4 folds, fold seed 0, test fold 0; what ``polyret debias --fit-on default`` fits on) is
built, the zero-shot model's test fold is encoded once, and every method is fitted on the first N training articles
(the order :func:`polyret.experiments.debias_rows.study_reference` takes them in, so the references nest) for each
N of ``--sizes``, then scored on the test fold: pooled multilingual mAP and language bias (max - min rank). The last
size is the full reference (all training articles). Every text is encoded once (the on-disk embedding cache, so a
second run encodes nothing) on ``--backend``; the script prints, per method, each size's scores and their distance
to the full reference's, the smallest size from which on every size lies within ``--tolerance`` of it on mAP and
within ``--bias-tolerance`` ranks on bias, and a
table of every method's multilingual, monolingual and cross-lingual mAP and bias at ``--table-size`` articles.

    python benchmarks/debias_reference_size.py --backend openvino --precision bf16
    python benchmarks/debias_reference_size.py --no-context --methods center,lsar --sizes 1,2,4
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from polyret.debias import parse_specs
from polyret.evaluation.debiased import run_debiased
from polyret.evaluation.suite import run_tasks, suite_context
from polyret.experiments.config import ExperimentConfig
from polyret.experiments.debias_rows import study_reference
from polyret.experiments.study_data import prepare_study_data
from polyret.models.backends import InferenceBackend
from polyret.models.encoders import get_encoder
from polyret.settings import cache_dir

SCORES = ("multi.map", "multi.bias", "mono.map", "cross.map")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="multilingual-e5-small", help="model directory or polyret alias")
    parser.add_argument("--methods", default="center,lir,lsar:4,lsar:7,lsar,shift", help="comma-separated specs")
    parser.add_argument("--sizes", default="1,2,3,4,6,9,12,18", help="reference sizes in training articles; the "
                        "full reference is added as the last size")
    parser.add_argument("--tolerance", type=float, default=0.005, help="largest mAP distance to the full reference")
    parser.add_argument("--bias-tolerance", type=float, default=5.0, help="largest bias distance (ranks)")
    parser.add_argument("--table-size", type=int, default=None, help="also print every method's scores fitted on "
                        "this many articles (default: the largest of --sizes)")
    parser.add_argument("--backend", default="torch", help="torch, onnx or openvino")
    parser.add_argument("--precision", default="fp32", help="fp32 or bf16")
    parser.add_argument("--no-context", action="store_true", help="encode answers without their paragraph")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per forward pass")
    parser.add_argument("--data-dir", type=Path, default=None, help="polyret data directory")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    config = ExperimentConfig()
    config.evaluation = replace(config.evaluation, in_domain=["xquad-r"], domain_shift=[],
                                with_context=not args.no_context, batch_size=args.batch_size)
    study = prepare_study_data(config, data_dir=args.data_dir)
    encoder = get_encoder(args.model, backend=InferenceBackend(args.backend, args.precision), warn=print)
    ctx = suite_context(encoder, study.suite, data_dir=args.data_dir, cache_root=cache_dir() / "embeddings")
    specs = parse_specs(args.methods.split(","))
    sizes = [int(size) for size in args.sizes.split(",")]
    started = time.perf_counter()
    full = study_reference(config, data_dir=args.data_dir)
    full.embed(ctx.store, args.batch_size)  # every subset's texts are in it: encoded once, largest first
    plain = run_tasks(ctx, study.suite)["xquad-r"].scores
    seconds = time.perf_counter() - started
    print(f"{args.model} on {encoder.backend.label}, with_context={not args.no_context}; test fold "
          f"{study.test_groups} ({len(study.test_groups)} articles); encoding took {seconds:.0f} s")
    print(f"zero-shot: multi.map {plain['multi.map']:.4f}  multi.bias {plain['multi.bias']:.1f}")
    table: dict[str, list[tuple[int, int, dict[str, float]]]] = {spec.label: [] for spec in specs}
    for size in [*sizes, None]:
        sized = replace(config, debias_reference_articles=size)
        reference = study_reference(sized, data_dir=args.data_dir)
        for run in run_debiased(ctx, study.suite, specs, reference):
            scores = run.results["xquad-r"].scores
            table[run.spec.label].append((reference.description["articles"], reference.description["texts"],
                                          {name: scores[name] for name in SCORES}))
    for label, rows in table.items():
        print_method(label, rows, args.tolerance, args.bias_tolerance)
    print_table(plain, table, args.table_size or max(sizes))


def print_table(plain: dict[str, float], table: dict[str, list[tuple[int, int, dict[str, float]]]], size: int) -> None:
    """Every method's held-out scores fitted on ``size`` articles, beside the zero-shot model's."""
    print(f"\nfitted on {size} articles:")
    print("| | multi mAP | bias (ranks) | mono mAP | cross mAP |\n|---|---|---|---|---|")
    rows = [("zero-shot", plain)] + [(f"+ {label}", scores) for label, found in table.items()
                                      for articles, _, scores in found if articles == size]
    for name, scores in rows:
        print(f"| {name} | {scores['multi.map']:.3f} | {scores['multi.bias']:.0f} | {scores['mono.map']:.3f} | "
              f"{scores['cross.map']:.3f} |")


def print_method(label: str, rows: list[tuple[int, int, dict[str, float]]], tolerance: float, bias_tolerance: float
                 ) -> None:
    """One method's curve, the distance of each size to the full reference, and the smallest size from which on
    every size lies within both tolerances of it."""
    full = rows[-1][2]
    print(f"\n{label}\n  articles   texts  multi.map  multi.bias   d map   d bias")
    smallest = None
    for articles, texts, scores in rows:
        d_map = scores["multi.map"] - full["multi.map"]
        d_bias = scores["multi.bias"] - full["multi.bias"]
        print(f"  {articles:8d} {texts:7d}  {scores['multi.map']:9.4f}  {scores['multi.bias']:10.1f}  "
              f"{d_map:+.4f}  {d_bias:+7.1f}")
        close = abs(d_map) <= tolerance and abs(d_bias) <= bias_tolerance
        smallest = (smallest or articles) if close else None
    print(f"  smallest size within {tolerance} mAP and {bias_tolerance:g} ranks of bias of the full reference (and "
          f"at every larger size): {smallest} articles")


if __name__ == "__main__":
    main()
