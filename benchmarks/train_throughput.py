"""Training throughput: polyret's hybrid batches vs plain sentence-transformers training, side by side.

Both arms train the same model on the same XQuAD-R pairs (:func:`polyret.training.dataset.build_pair_dataset`) with
``MultipleNegativesRankingLoss``, the same batch size, steps, learning rate, precision and prompts:

- **polyret**: :func:`polyret.training.train` with ``sampler="hybrid"`` (language-aware batches, per-step log with the
  language plan, sampler state in checkpoints).
- **sentence-transformers**: ``SentenceTransformerTrainer`` with its default batch sampler.

The rate is measured between the end of the first and the end of the last optimizer step (a callback that the same
wrapper of ``trainer.train()`` adds in both arms), so start-up work (model card, data loader, first-step warm-up)
counts in neither arm. The arms alternate, in
a changing order, ``--repeats`` times; the script prints pairs/s per run, the median of each arm and the ratio.

    python benchmarks/train_throughput.py                                   # tiny model, CPU
    python benchmarks/train_throughput.py --model models/multilingual-e5-small --device cuda --batch-size 128
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sentence_transformers import SentenceTransformerTrainer
from transformers import TrainerCallback

DEFAULT_LANGUAGES = "ar,de,el,en,es,hi,ru,th,tr,vi,zh"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="sentence-transformers model directory (default: a tiny random BERT)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--batch-size", type=int, default=32, help="pairs per step")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per arm (alternating)")
    parser.add_argument("--languages", default=DEFAULT_LANGUAGES, help="comma-separated XQuAD-R languages")
    parser.add_argument("--max-seq-length", type=int, default=None, help="truncate inputs (default: the model's)")
    parser.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default=None,
                        help="default: fp32 on CPU, bf16 on CUDA")
    parser.add_argument("--data-dir", type=Path, default=None, help="polyret data directory")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before CUDA is initialised: the trainers stay on the CPU
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    from polyret.data.lareqa import load_parallel_qa

    _clock_every_train(CLOCKS)

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device visible")
    precision = args.precision or ("bf16" if args.device == "cuda" else "fp32")
    records = load_parallel_qa("xquad-r", languages=args.languages.split(","), data_dir=args.data_dir)
    with tempfile.TemporaryDirectory(prefix="polyret-throughput-") as tmp:
        work = Path(tmp)
        model = args.model or str(_tiny_model(work / "tiny", records))
        arms: dict[str, Callable[[Path], float]] = {
            "polyret hybrid": lambda out: _polyret_seconds(model, records, args, precision, out),
            "sentence-transformers": lambda out: _st_seconds(model, records, args, precision, out),
        }
        rates: dict[str, list[float]] = {name: [] for name in arms}
        pairs = args.batch_size * (args.steps - 1)  # timed from the end of step 1
        print(f"model {model}; device {args.device} ({_device_name(torch, args.device)}); precision {precision}; "
              f"batch {args.batch_size} x {args.steps} steps; {len(records)} aligned questions")
        for repeat in range(args.repeats):
            order = list(arms) if repeat % 2 == 0 else list(reversed(arms))
            for name in order:
                seconds = arms[name](work / f"{name.split()[0]}-{repeat}")
                rates[name].append(pairs / seconds)
                print(f"  run {repeat + 1} {name:>22}: {pairs / seconds:9.1f} pairs/s ({seconds:.2f} s)")
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in medians.items():
        print(f"median {name:>22}: {value:9.1f} pairs/s")
    per_run = [p / s for p, s in zip(rates["polyret hybrid"], rates["sentence-transformers"], strict=True)]
    print(f"ratio polyret / sentence-transformers: {medians['polyret hybrid'] / medians['sentence-transformers']:.3f} "
          f"(per run: {', '.join(f'{r:.3f}' for r in per_run)})")


def _tiny_model(out_dir: Path, records: list) -> Path:
    from polyret.models.tiny import build_tiny_model

    texts = [text for r in records[:2000] for text in (*r.questions.values(), *r.answers.values())]
    return build_tiny_model(out_dir, texts, vocab_size=8000, hidden_size=64, max_seq_length=128)


def _device_name(torch, device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"{torch.get_num_threads()} threads"


class StepClock(TrainerCallback):
    """Records when each optimizer step ends."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(time.perf_counter())


def _clock_every_train(clocks: list[StepClock]) -> None:
    """Make ``SentenceTransformerTrainer.train`` (polyret's trainer subclasses it) add a fresh :class:`StepClock`."""
    original = SentenceTransformerTrainer.train

    def clocked(self, *args, **kwargs):
        clocks.append(StepClock())
        self.add_callback(clocks[-1])
        return original(self, *args, **kwargs)

    SentenceTransformerTrainer.train = clocked


CLOCKS: list[StepClock] = []


def _steady_seconds() -> float:
    """Seconds from the end of the first to the end of the last step of the latest run."""
    ends = CLOCKS[-1].ends
    return ends[-1] - ends[0]


def _polyret_seconds(model: str, records: list, args: argparse.Namespace, precision: str, out: Path) -> float:
    """:func:`polyret.training.train` with hybrid batches; the time of its ``trainer.train()``."""
    from polyret.training import TrainConfig, train

    config = TrainConfig(model=model, sampler="hybrid", batch_size=args.batch_size, max_steps=args.steps,
                         max_seq_length=args.max_seq_length, precision=precision, save_steps=args.steps + 1)
    train(config, records, output_dir=out)
    return _steady_seconds()


def _st_seconds(model_path: str, records: list, args: argparse.Namespace, precision: str, out: Path) -> float:
    """Plain sentence-transformers: default batch sampler, MNRL, the pairs polyret's hybrid run draws from."""
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from polyret.sampling import PairTable
    from polyret.training import TrainConfig
    from polyret.training.dataset import build_pair_dataset

    defaults = TrainConfig()
    model = SentenceTransformer(model_path, device=args.device)
    if args.max_seq_length is not None:
        model.max_seq_length = args.max_seq_length
    own = model.prompts or {}
    prompts = ({"query": own["query"], "passage": own["passage"]} if own.get("query") and own.get("passage")
               else {"query": defaults.query_prompt, "passage": defaults.passage_prompt})
    dataset = build_pair_dataset(PairTable(records), with_context=defaults.with_context)
    training_args = SentenceTransformerTrainingArguments(
        output_dir=str(out), per_device_train_batch_size=args.batch_size, max_steps=args.steps,
        learning_rate=defaults.lr, weight_decay=defaults.weight_decay, warmup_steps=defaults.warmup_ratio,
        seed=defaults.seed, fp16=precision == "fp16", bf16=precision == "bf16", prompts=prompts,
        save_strategy="no", report_to="none", disable_tqdm=True, dataloader_drop_last=True,
    )
    trainer = SentenceTransformerTrainer(model=model, args=training_args, train_dataset=dataset,
                                         loss=MultipleNegativesRankingLoss(model, scale=defaults.scale))
    trainer.train()
    return _steady_seconds()


if __name__ == "__main__":
    main()
