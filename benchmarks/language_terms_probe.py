"""Language-erasure and parallel-query alignment: does adding the term help an arm, in a small probe?

Trains each ``--arms`` entry once per seed in one small study (the standard preset's training options, shorter:
``--steps`` x 16 pairs, frozen word embeddings, max length 96, no paragraph context; XQuAD-R split into 16 article
folds, fold 0 held out), evaluates every run on the held-out fold (OpenVINO bf16 like the standard study, torch
where that runtime is missing) and compares each ``<arm>+<term>`` with its ``<arm>`` the way the study compares
arms (:func:`polyret.experiments.analysis.compare`: paired per query over the shared seeds, TOST within the study's
margins, Holm over the four scores of each comparison). The study folder (``-o``) keeps finished runs, so a rerun
with another ``--erasure-weight`` trains only the arms with that term.

    POLYRET_DATA_DIR=../shared/data nice -n 10 python benchmarks/language_terms_probe.py -o runs/language-terms
    POLYRET_DATA_DIR=../shared/data nice -n 10 python benchmarks/language_terms_probe.py --erasure-weight 1000 \
        --arms hybrid,hybrid+erasure -o runs/language-terms
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
from rich.console import Console
from train_precision import comparison_row

from polyret.cli.quiet import quiet_libraries
from polyret.experiments import run_experiment
from polyret.experiments.analysis import adjust_holm, compare, group_by_label, outcome
from polyret.experiments.config import load_config
from polyret.experiments.report import comparison_settings

METRICS = ("mono.map", "cross.map", "multi.map", "multi.bias")
"""XQuAD-R scores compared: monolingual, cross-lingual and pooled multilingual mAP, language bias (ranks)."""
DEFAULT_ARMS = "hybrid,hybrid+erasure,hybrid+alignment,multi_positive,multi_positive+erasure"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output-dir", type=Path, default=Path("runs/language-terms"))
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--arms", default=DEFAULT_ARMS, help="comma-separated study arms")
    parser.add_argument("--seeds", default="13,42", help="comma-separated; at least two")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--erasure-weight", type=float, default=100.0)
    parser.add_argument("--alignment-weight", type=float, default=1.0)
    args = parser.parse_args()
    args.seeds = [int(seed) for seed in args.seeds.split(",")]
    if len(args.seeds) < 2:
        parser.error("--seeds needs at least two seeds: the comparison is against seed noise")
    return args


def study_mapping(args: argparse.Namespace) -> dict:
    """The probe's study config."""
    return {
        "name": "language-terms", "base_model": args.model, "arms": args.arms.split(","), "seeds": args.seeds,
        "erasure_weight": args.erasure_weight, "alignment_weight": args.alignment_weight,
        "training": {"max_steps": args.steps, "batch_size": 16, "lr": 3.0e-5, "max_seq_length": 96,
                     "freeze_word_embeddings": True, "with_context": False, "save_steps": args.steps},
        "data": {"folds": 16, "test_fold": 0},
        "evaluation": {"in_domain": ["xquad-r"], "domain_shift": [], "with_context": False, "max_seq_length": 96,
                       "backend": "openvino", "precision": "bf16"},
    }


def main() -> None:
    args = parse_args()
    quiet_libraries(verbose=False)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    config_file = args.output_dir / "config.yaml"
    config_file.write_text(yaml.safe_dump(study_mapping(args), sort_keys=False))
    config = load_config(config_file)
    groups = group_by_label(run_experiment(config, output_dir=args.output_dir, console=Console()).arms)
    settings = comparison_settings(config)
    print(f"\n{args.steps} steps x 16 pairs, seeds {', '.join(map(str, args.seeds))}, erasure weight "
          f"{args.erasure_weight:g}, alignment weight {args.alignment_weight:g}; XQuAD-R held-out fold "
          "(paired per query over seeds, Holm over the four scores of each comparison)")
    print(f"{'arm vs base':<36}{'score':<22}{'base':>19}{'arm':>19}{'diff':>9}{'95% CI':>20}{'p Holm':>8}{'TOST':>12}"
          "  outcome")
    for label, runs in groups.items():
        base, *terms = label.split("+")  # an arm with loss terms, e.g. hybrid+erasure
        if not terms or base not in groups:
            continue
        cells = [compare(runs, groups[base], "xquad-r", settings, metric) | {"task": "xquad-r"} for metric in METRICS]
        adjust_holm(cells)
        for cell in cells:
            cell["outcome"] = outcome(cell, settings.level)
            print(f"{label + ' vs ' + base:<36}{comparison_row(cell)}")


if __name__ == "__main__":
    main()
