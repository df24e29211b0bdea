"""Training precision on the CPU: bf16 autocast against fp32, final metrics over seeds and step time, in one run.

Trains ``--arm`` once per seed in fp32 and once in bf16, everything else equal: the credible-study issue's probe
setting (100 steps x 32 pairs, frozen word embeddings, max length 96, questions and sentences without context, 4
XQuAD-R folds with fold 1 held out). Every run is evaluated with torch fp32 on the held-out fold and on CLSD WMT19,
and bf16 is compared with fp32 the way the study compares arms (:func:`polyret.experiments.analysis.compare`: paired
per query over the shared seeds, hierarchical bootstrap over seeds and queries, TOST within the study's margins, Holm
over the metrics). A metric where bf16 comes out **worse** is a loss beyond seed noise; ``precision: auto`` may pick
bf16 on a CPU only when no metric does.

The two precisions are two small studies (:func:`polyret.experiments.run_experiment`) in ``OUT/fp32`` and
``OUT/bf16``, so a rerun skips the runs that finished. Step time is each run's training wall time over its steps (the
machine should be otherwise idle: the precisions run one after the other).

    POLYRET_DATA_DIR=../shared/data python benchmarks/train_precision.py -o runs/train-precision
    POLYRET_DATA_DIR=../shared/data python benchmarks/train_precision.py --seeds 13,42,87 --arm hybrid
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import yaml
from rich.console import Console

from polyret.cli.quiet import quiet_libraries
from polyret.experiments import run_experiment
from polyret.experiments.analysis import adjust_holm, compare, outcome
from polyret.experiments.arm_result import ArmResult
from polyret.experiments.config import ExperimentConfig, load_config
from polyret.experiments.report import comparison_settings

PRECISIONS = ("fp32", "bf16")
METRICS = (("xquad-r", "mono.map"), ("xquad-r", "cross.map"), ("xquad-r", "multi.map"), ("xquad-r", "multi.bias"),
           ("clsd-wmt19", "acc"))
"""The scores compared: LAReQA mAP in the three settings, the language bias, CLSD accuracy."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output-dir", type=Path, default=Path("runs/train-precision"))
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--arm", default="mixed", help="the batch design trained in both precisions")
    parser.add_argument("--seeds", default="13,42", help="comma-separated; at least two")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-items", type=int, default=400, help="CLSD rows")
    args = parser.parse_args()
    args.seeds = [int(seed) for seed in args.seeds.split(",")]
    if len(args.seeds) < 2:
        parser.error("--seeds needs at least two seeds: the comparison is against seed noise")
    return args


def study_mapping(args: argparse.Namespace, precision: str) -> dict:
    """The study config of one precision (the probe setting)."""
    return {
        "name": f"train-precision-{precision}", "base_model": args.model, "arms": [args.arm], "seeds": args.seeds,
        "training": {"max_steps": args.steps, "batch_size": args.batch_size, "lr": 3.0e-5, "max_seq_length": 96,
                     "freeze_word_embeddings": True, "with_context": False, "save_steps": args.steps,
                     "precision": precision},
        "data": {"folds": 4, "test_fold": 1},
        "evaluation": {"in_domain": ["xquad-r"], "domain_shift": ["clsd-wmt19"], "max_items": args.max_items,
                       "with_context": False, "max_seq_length": 96},
    }


def write_config(args: argparse.Namespace, precision: str) -> ExperimentConfig:
    """The study config of one precision, written to its folder (``OUT/<precision>/config.yaml``) and loaded."""
    folder = args.output_dir / precision
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / "config.yaml"
    config_file.write_text(yaml.safe_dump(study_mapping(args, precision), sort_keys=False))
    return load_config(config_file)


def step_seconds(runs: list[ArmResult]) -> list[float]:
    return [run.info["train_wall_s"] / run.info["train_steps"] for run in runs]


def main() -> None:
    args = parse_args()
    quiet_libraries(verbose=False)
    console = Console()
    configs = {precision: write_config(args, precision) for precision in PRECISIONS}
    runs = {precision: run_experiment(config, output_dir=args.output_dir / precision, console=console).arms
            for precision, config in configs.items()}
    settings = comparison_settings(configs["fp32"])  # the study's level, resamples and margins
    cells = [compare(runs["bf16"], runs["fp32"], task, settings, metric) | {"task": task} for task, metric in METRICS]
    adjust_holm(cells)
    print(f"\n{args.arm}, {args.steps} steps x {args.batch_size}, seeds {', '.join(map(str, args.seeds))}; "
          "bf16 against fp32 (paired per query over seeds, Holm over the metrics)")
    print(f"{'score':<22}{'fp32':>19}{'bf16':>19}{'diff':>9}{'95% CI':>20}{'p Holm':>8}{'TOST':>12}  outcome")
    for cell in cells:
        cell["outcome"] = outcome(cell, settings.level)
        print(comparison_row(cell))
    fp32, bf16 = step_seconds(runs["fp32"]), step_seconds(runs["bf16"])
    print(f"training s/step: fp32 {', '.join(f'{s:.2f}' for s in fp32)}; bf16 {', '.join(f'{s:.2f}' for s in bf16)}; "
          f"step rate bf16 / fp32 {statistics.median(fp32) / statistics.median(bf16):.2f}x (medians)")
    worse = [f"{cell['task']} {cell['metric']}" for cell in cells if cell["outcome"] == "worse"]
    print("bf16 loses beyond seed noise on: " + ", ".join(worse) if worse else "bf16: no loss beyond seed noise")


def comparison_row(cell: dict) -> str:
    """One table line: both scores, the difference, its interval, Holm p, the equivalence test and the outcome."""
    low, high = cell["ci_queries"]
    interval, tost = f"[{low:+.4f}, {high:+.4f}]", f"{'yes' if cell['equivalent'] else 'no'} ±{cell['margin']:g}"
    return (f"{cell['task'] + ' ' + cell['metric']:<22}{_mean_sd(cell, 'baseline'):>19}{_mean_sd(cell, 'arm'):>19}"
            f"{cell['diff']:>+9.4f}{interval:>20}{cell['p_holm']:>8.3f}{tost:>12}  {cell['outcome']}")


def _mean_sd(cell: dict, side: str) -> str:
    sd = cell[f"{side}_sd"]
    return f"{cell[side]:.4f}" + (f" ± {sd:.4f}" if sd is not None else "")


if __name__ == "__main__":
    main()
