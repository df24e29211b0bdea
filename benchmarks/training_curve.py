"""Training curves of a study's arms: in-domain scores at checkpoints, to pick a step budget where the arms separate.

For each arm (``--arms``, one seed) the script trains with the preset's training options, data and test fold,
keeping a checkpoint every ``gcd(--steps)`` steps (the last step is the run's length, so the learning-rate schedule
is that of one run of that length, and step 50 of it is not a 50-step run), then evaluates the listed
checkpoints on the preset's first in-domain task (XQuAD-R test fold: monolingual, cross-lingual and pooled
multilingual mAP, language bias) with the preset's inference backend. Step 0 is the base model. It prints one table
per metric (steps x arms) and writes every number to ``--output/curve.json``; models stay in ``--output``.

    python benchmarks/training_curve.py --preset standard --arms monolingual,cross_lingual,hybrid,mixed \
        --steps 25,50,75,100 --seed 13 --output runs/curve
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path

METRICS = ("mono.map", "cross.map", "multi.map", "multi.bias")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="standard", help="study preset whose data, training and suite to use")
    parser.add_argument("--arms", default="monolingual,cross_lingual,hybrid,mixed", help="comma-separated arms")
    parser.add_argument("--steps", default="25,50,75,100", help="comma-separated checkpoint steps (last: run length)")
    parser.add_argument("--seed", type=int, default=13, help="training seed")
    parser.add_argument("--output", type=Path, default=Path("runs/curve"), help="folder for runs and curve.json")
    parser.add_argument("--data-dir", type=Path, default=None, help="polyret data directory")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from polyret.experiments.arm_names import ArmChoice
    from polyret.experiments.config import load_config
    from polyret.experiments.study_data import prepare_study_data

    config = load_config(preset=args.preset)
    study = prepare_study_data(config, data_dir=args.data_dir)
    suite = replace(study.suite, tasks=study.suite.tasks[:1])
    steps = sorted(int(step) for step in args.steps.split(","))
    curve: dict[str, dict[int, dict[str, float]]] = {"zero-shot": {0: _scores(config, config.base_model, suite, args)}}
    for arm in args.arms.split(","):
        run_dir = _train(config, study.train, ArmChoice.from_config(arm), steps, args, args.output / arm)
        curve[arm] = {0: curve["zero-shot"][0]}
        for step in steps:
            model = run_dir / "final" if step == steps[-1] else run_dir / "checkpoints" / f"checkpoint-{step}"
            curve[arm][step] = _scores(config, str(model), suite, args)
            print(f"{arm} step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in curve[arm][step].items()), flush=True)
    (args.output / "curve.json").write_text(json.dumps({"preset": args.preset, "seed": args.seed,
                                                        "task": suite.task_names[0], "curve": curve}, indent=1))
    for metric in METRICS:
        print(f"\n{metric} on {suite.task_names[0]} by step")
        trained = [arm for arm in curve if arm != "zero-shot"]
        print("step  " + "  ".join(f"{arm:>13}" for arm in trained))
        for step in [0, *steps]:
            print(f"{step:>4}  " + "  ".join(f"{curve[arm][step][metric]:13.4f}" for arm in trained))


def _train(config, records, arm, steps: list[int], args, run_dir: Path) -> Path:
    """Train one arm to the last step with a checkpoint at every step of ``steps``; reuse a finished run."""
    from polyret.experiments.config import train_config
    from polyret.training.trainer import train

    if (run_dir / "final").is_dir():
        return run_dir
    options = train_config(config, arm, seed=args.seed)
    every = math.gcd(*steps)
    options = options.replace(max_steps=steps[-1], save_steps=every, save_total_limit=steps[-1] // every + 1)
    started = time.perf_counter()
    train(options, records, output_dir=run_dir)
    print(f"{arm}: {steps[-1]} steps in {time.perf_counter() - started:.0f} s", flush=True)
    return run_dir


def _scores(config, model: str, suite, args) -> dict[str, float]:
    from polyret.evaluation.suite import run_suite
    from polyret.models.encoders import get_encoder

    max_seq_length = config.evaluation.max_seq_length or config.training.get("max_seq_length")
    encoder = get_encoder(model, max_seq_length=max_seq_length, backend=config.evaluation.inference_backend())
    result = next(iter(run_suite(encoder, suite, data_dir=args.data_dir).values()))
    return {metric: float(result.scores[metric]) for metric in METRICS}


if __name__ == "__main__":
    main()
