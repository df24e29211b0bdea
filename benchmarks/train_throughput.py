"""Training throughput: polyret's hybrid batches vs plain sentence-transformers training, side by side.

Both arms train the same model on the same XQuAD-R pairs (:class:`polyret.training.dataset.PairTexts`) with
``MultipleNegativesRankingLoss``, the same batch size, steps, learning rate, precision and prompts:

- **polyret**: :func:`polyret.training.train` with ``sampler="hybrid"`` (language-aware batches, per-step log with the
  language plan, sampler state in checkpoints).
- **sentence-transformers**: ``SentenceTransformerTrainer`` with its default batch sampler.

Both arms load the same model directory (same initial weights), use the same ``max_seq_length``, precision,
``with_context`` setting, optimizer (``adamw_torch``, polyret's choice; ``--st-optim`` gives the plain arm another,
e.g. transformers' default ``adamw_torch_fused``), linear schedule, ``dataloader_drop_last`` and pinned memory, and
draw from the same pair rows. They differ in batch composition (hybrid batches hold one query and one passage
language, so their padded length differs from mixed batches: the script reports padded tokens per step), and in
polyret's per-step work (a log line per step with the batch's language plan and ids; plain sentence-transformers
logs every 500 steps).

The rate is measured (wall clock, and process CPU time for a shared machine) between the end of the first and the
end of the last optimizer step (a callback that the same
wrapper of ``trainer.train()`` adds in both arms), so start-up work (model card, data loader, first-step warm-up)
counts in neither arm. The arms alternate, in a changing order, ``--repeats`` times; the script prints pairs/s and
padded tokens/s per run, the median of each arm and the ratio.

``--compare-precision`` instead compares two polyret arms, fp32 and bf16 (``torch.autocast`` through the trainer's
``bf16`` argument, on the CPU too), everything else equal; ``--no-context --freeze-word-embeddings
--max-seq-length 96`` is the probe setting. Both modes also print the padding: tokens fed to the model (``input_ids``
cells, each column padded to its batch's longest text) against tokens used (``attention_mask`` ones), and the longest
padded length seen against ``max_seq_length``.

Without data files (e.g. on an offline GPU machine) ``--synthetic N`` trains on N random aligned records in nine
languages and ``--model-config`` builds a random-init model of a real architecture (see ``synthetic.py``).

    python benchmarks/train_throughput.py                                   # tiny model, XQuAD-R, CPU
    python benchmarks/train_throughput.py --model models/multilingual-e5-small --device cuda --batch-size 128
    python benchmarks/train_throughput.py --model multilingual-e5-small --compare-precision --no-context \
        --freeze-word-embeddings --max-seq-length 96 --batch-size 16 --steps 12 --repeats 2  # CPU bf16 vs fp32
    python benchmarks/train_throughput.py --synthetic 1000 --model-config xlmr-base --device cuda --batch-size 100
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sentence_transformers import SentenceTransformerTrainer
from synthetic import add_model_arguments, build_model, record_texts, synthetic_records
from transformers import TrainerCallback

from polyret.data.lareqa import LAREQA_LANGUAGES

DEFAULT_LANGUAGES = ",".join(LAREQA_LANGUAGES["xquad-r"])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=32, help="pairs per step")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per arm (alternating)")
    parser.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=True,
                        help="run each arm once, untimed, before the timed runs")
    parser.add_argument("--logging-steps", type=int, default=1,
                        help="polyret's logging_steps (1, the default, logs every step's plan and loss)")
    parser.add_argument("--languages", default=DEFAULT_LANGUAGES, help="comma-separated XQuAD-R languages")
    parser.add_argument("--max-seq-length", type=int, default=None, help="truncate inputs (default: the model's)")
    parser.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default=None,
                        help="default: fp32 on CPU, bf16 on CUDA")
    parser.add_argument("--data-dir", type=Path, default=None, help="polyret data directory")
    parser.add_argument("--synthetic", type=int, metavar="N", help="train on N synthetic records instead of XQuAD-R")
    parser.add_argument("--compare-precision", action="store_true",
                        help="compare polyret fp32 with polyret bf16 instead of polyret with sentence-transformers")
    parser.add_argument("--no-context", action="store_true", help="train on sentences without their paragraph")
    parser.add_argument("--freeze-word-embeddings", action="store_true", help="freeze the word embeddings")
    parser.add_argument("--st-optim", default="adamw_torch", help="optimizer of the plain arm (polyret: adamw_torch)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before CUDA is initialised: the trainers stay on the CPU
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    _clock_every_train(CLOCKS)

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device visible")
    precision = args.precision or ("bf16" if args.device == "cuda" else "fp32")
    records = _records(args)
    with tempfile.TemporaryDirectory(prefix="polyret-throughput-") as tmp:
        work = Path(tmp)
        model = args.model or str(build_model(
            work / "model", args.model_config, record_texts(records[:2000]),
            max_seq_length=args.max_seq_length or (128 if args.model_config == "tiny" else 256),
            vocab_size=8000, hidden_size=64,
        ))
        arms: dict[str, Callable[[Path], Run]] = {
            "polyret hybrid": lambda out: _polyret_run(model, records, args, precision, out),
            "sentence-transformers": lambda out: _st_run(model, records, args, precision, out),
        }
        if args.compare_precision:
            arms = {f"polyret {p}": functools.partial(_polyret_run, model, records, args, p) for p in ("fp32", "bf16")}
        runs: dict[str, list[Run]] = {name: [] for name in arms}
        timed_steps = args.steps - 1  # timed from the end of step 1
        print(f"model {args.model or args.model_config}; device {args.device} ({_device_name(torch, args.device)}); "
              f"precision {precision}; batch {args.batch_size} x {args.steps} steps; {len(records)} aligned "
              f"{'synthetic records' if args.synthetic else 'questions'}")
        if args.warmup:  # one untimed run per arm first: CUDA/cuBLAS initialisation is not part of either arm
            for name, arm in arms.items():
                arm(work / f"{name.replace(' ', '-')}-warmup")
        for repeat in range(args.repeats):
            order = list(arms) if repeat % 2 == 0 else list(reversed(arms))
            for name in order:
                run = arms[name](work / f"{name.replace(' ', '-')}-{repeat}")
                runs[name].append(run)
                print(f"  run {repeat + 1} {name:>22}: {args.batch_size * timed_steps / run.seconds:9.1f} pairs/s, "
                      f"{run.padded_tokens / timed_steps:9.0f} padded tokens/step, "
                      f"{run.padded_tokens / run.seconds:10.0f} tokens/s ({run.seconds:.2f} s, "
                      f"CPU {run.cpu_seconds:.2f} s); "
                      f"tokens fed / used "
                      f"{run.padded_tokens / run.used_tokens:.3f}, longest padded length {run.longest} "
                      f"(max_seq_length {args.max_seq_length or 'model'})", flush=True)
    seconds = {name: statistics.median(run.seconds for run in arm) for name, arm in runs.items()}
    for name, value in seconds.items():
        print(f"median {name:>22}: {args.batch_size * timed_steps / value:9.1f} pairs/s")
    if args.compare_precision:
        per_run = [fp32.seconds / bf16.seconds for fp32, bf16 in zip(*runs.values(), strict=True)]
        cpu = {name: statistics.median(run.cpu_seconds for run in arm) for name, arm in runs.items()}
        print(f"ratio bf16 / fp32 step rate: wall {seconds['polyret fp32'] / seconds['polyret bf16']:.3f} "
              f"(per run: {', '.join(f'{r:.3f}' for r in per_run)}), CPU time "
              f"{cpu['polyret fp32'] / cpu['polyret bf16']:.3f}")
        return
    per_run = [st.seconds / ours.seconds
               for ours, st in zip(runs["polyret hybrid"], runs["sentence-transformers"], strict=True)]
    print(f"ratio polyret / sentence-transformers, pairs/s: "
          f"{seconds['sentence-transformers'] / seconds['polyret hybrid']:.3f} "
          f"(per run: {', '.join(f'{r:.3f}' for r in per_run)})")
    tokens = {name: sum(run.padded_tokens for run in arm) / sum(run.seconds for run in arm)
              for name, arm in runs.items()}
    print(f"ratio polyret / sentence-transformers, padded tokens/s (all runs): "
          f"{tokens['polyret hybrid'] / tokens['sentence-transformers']:.3f}")


def _records(args: argparse.Namespace) -> list:
    """``--synthetic`` records, else the XQuAD-R questions of ``--languages``."""
    if args.synthetic:
        return synthetic_records(args.synthetic)
    from polyret.data.lareqa import load_parallel_qa

    return load_parallel_qa("xquad-r", languages=args.languages.split(","), data_dir=args.data_dir)


def _device_name(torch, device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"{torch.get_num_threads()} threads"


class StepClock(TrainerCallback):
    """Records when each optimizer step ends, and the padded tokens (``input_ids`` cells) the model reads after the
    first step (a forward pre-hook: shapes only, no device sync)."""

    def __init__(self) -> None:
        self.ends: list[float] = []
        self.cpu_ends: list[float] = []
        self.padded_tokens = 0
        self.used_tokens = 0
        self.longest = 0

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(time.perf_counter())
        self.cpu_ends.append(time.process_time())

    def count_tokens(self, module, inputs) -> None:
        if module.training and self.ends:
            self.padded_tokens += inputs[0]["input_ids"].numel()
            self.used_tokens += int(inputs[0]["attention_mask"].sum())
            self.longest = max(self.longest, inputs[0]["input_ids"].shape[1])


@dataclass(frozen=True, slots=True)
class Run:
    """One timed run: seconds from the end of the first to the end of the last step; meanwhile the padded tokens
    read, the tokens among them that are not padding, and the longest padded length."""

    seconds: float
    cpu_seconds: float
    padded_tokens: int
    used_tokens: int
    longest: int


def _clock_every_train(clocks: list[StepClock]) -> None:
    """Make ``SentenceTransformerTrainer.train`` (polyret's trainer subclasses it) add a fresh :class:`StepClock`."""
    original = SentenceTransformerTrainer.train

    def clocked(self, *args, **kwargs):
        clocks.append(StepClock())
        self.add_callback(clocks[-1])
        hook = self.model.register_forward_pre_hook(clocks[-1].count_tokens)
        try:
            return original(self, *args, **kwargs)
        finally:
            hook.remove()

    SentenceTransformerTrainer.train = clocked


CLOCKS: list[StepClock] = []


def _steady_run() -> Run:
    """The timed part of the latest run."""
    clock = CLOCKS[-1]
    return Run(clock.ends[-1] - clock.ends[0], clock.cpu_ends[-1] - clock.cpu_ends[0], clock.padded_tokens,
               clock.used_tokens, clock.longest)


def _polyret_run(model: str, records: list, args: argparse.Namespace, precision: str, out: Path) -> Run:
    """:func:`polyret.training.train` with hybrid batches; the time of its ``trainer.train()``."""
    from polyret.training import TrainConfig, train

    config = TrainConfig(model=model, sampler="hybrid", batch_size=args.batch_size, max_steps=args.steps,
                         max_seq_length=args.max_seq_length, precision=precision, save_steps=args.steps + 1,
                         logging_steps=args.logging_steps, with_context=not args.no_context,
                         freeze_word_embeddings=args.freeze_word_embeddings)
    train(config, records, output_dir=out)
    return _steady_run()


def _st_run(model_path: str, records: list, args: argparse.Namespace, precision: str, out: Path) -> Run:
    """Plain sentence-transformers: default batch sampler, MNRL, the pairs polyret's hybrid run draws from."""
    import torch
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from polyret.sampling import PairTable
    from polyret.training import TrainConfig
    from polyret.training.dataset import PairTexts

    defaults = TrainConfig()
    model = SentenceTransformer(model_path, device=args.device)
    if args.max_seq_length is not None:
        model.max_seq_length = args.max_seq_length
    own = model.prompts or {}
    prompts = ({"query": own["query"], "passage": own["passage"]} if own.get("query") and own.get("passage")
               else {"query": defaults.query_prompt, "passage": defaults.passage_prompt})
    table = PairTable(records)
    dataset = PairTexts(table, with_context=defaults.with_context).preview(len(table))  # every pair, materialised
    training_args = SentenceTransformerTrainingArguments(
        output_dir=str(out), per_device_train_batch_size=args.batch_size, max_steps=args.steps,
        learning_rate=defaults.lr, weight_decay=defaults.weight_decay, warmup_steps=defaults.warmup_ratio,
        seed=defaults.seed, fp16=precision == "fp16", bf16=precision == "bf16", prompts=prompts,
        save_strategy="no", report_to="none", disable_tqdm=True, dataloader_drop_last=True, optim=args.st_optim,
        lr_scheduler_type="linear", dataloader_pin_memory=torch.cuda.is_available(),
    )
    trainer = SentenceTransformerTrainer(model=model, args=training_args, train_dataset=dataset,
                                         loss=MultipleNegativesRankingLoss(model, scale=defaults.scale))
    trainer.train()
    return _steady_run()


if __name__ == "__main__":
    main()
