"""Peak memory of one large-batch training step: CachedMultipleNegativesRankingLoss vs MultipleNegativesRankingLoss.

Each loss runs in its own fresh subprocess (so one cannot inherit the other's allocator high-water mark): it loads
the model, tokenizes ``--batch-size`` XQuAD-R question/answer-with-paragraph pairs, then takes one step (forward,
backward, AdamW update). Reported: on CUDA ``torch.cuda.max_memory_allocated`` during the step; on the CPU the rise
of the process's peak RSS (``resource.getrusage``) over its RSS just before the step. The script prints both losses'
values (close, not equal: dropout draws differ; GradCache changes memory, not the loss) and the memory ratio. On
CUDA the step runs under bf16 autocast by default (``--precision``), as training does; a loss that runs out of GPU
memory is reported as such (with the memory it had reached), not as a failure.

``--synthetic`` (random English texts of XQuAD-R-like length, see ``synthetic.py``) and ``--model-config`` (a
random-init model of a real architecture) need no data files and no downloads.

    python benchmarks/cached_loss_memory.py --batch-size 256                 # CPU, tiny model
    python benchmarks/cached_loss_memory.py --model models/multilingual-e5-small --device cuda --batch-size 1024
    python benchmarks/cached_loss_memory.py --synthetic --model-config xlmr-base --device cuda --mini-batch-size 64
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from synthetic import add_model_arguments, build_model, record_texts, synthetic_records

LOSSES = ("MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=1024, help="pairs in the step")
    parser.add_argument("--mini-batch-size", type=int, default=32, help="GradCache chunk size")
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default=None,
                        help="default: fp32 on CPU, bf16 autocast on CUDA")
    parser.add_argument("--data-dir", type=Path, default=None, help="polyret data directory")
    parser.add_argument("--synthetic", action="store_true", help="synthetic texts instead of XQuAD-R")
    parser.add_argument("--child", choices=LOSSES, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.child:
        print(json.dumps(one_step(args)))
        return
    with tempfile.TemporaryDirectory(prefix="polyret-cached-loss-") as tmp:
        model = args.model or str(build_model(
            Path(tmp) / "model", args.model_config, record_texts(_records(args)),
            max_seq_length=args.max_seq_length, vocab_size=8000, hidden_size=128, num_layers=4,
        ))
        results = {name: _run_child(name, model, args) for name in LOSSES}
    plain, cached = (results[name] for name in LOSSES)
    unit = "peak CUDA memory allocated" if args.device == "cuda" else "peak RSS rise"
    print(f"model {args.model or args.model_config}; device {args.device}; precision {_precision(args)}; "
          f"batch {args.batch_size}; mini-batch {args.mini_batch_size}; max_seq_length {args.max_seq_length}; "
          f"{'synthetic' if args.synthetic else 'XQuAD-R'} texts")
    for name in LOSSES:
        r = results[name]
        if r.get("out_of_memory"):
            print(f"{name:>36}: out of GPU memory ({unit} {r['peak_mib']:8.1f} MiB when it failed)")
        else:
            print(f"{name:>36}: {unit} {r['peak_mib']:8.1f} MiB, loss {r['loss']:.5f}, step {r['seconds']:.2f} s")
    if not (plain.get("out_of_memory") or cached.get("out_of_memory")):
        print(f"memory ratio cached / plain: {cached['peak_mib'] / plain['peak_mib']:.3f}; "
              f"time ratio: {cached['seconds'] / plain['seconds']:.2f}")


def _precision(args: argparse.Namespace) -> str:
    return args.precision or ("bf16" if args.device == "cuda" else "fp32")


def _run_child(name: str, model: str, args: argparse.Namespace) -> dict[str, float]:
    """Run :func:`one_step` for loss ``name`` in a fresh interpreter; its result."""
    argv = ["--model", model, "--device", args.device, "--batch-size", str(args.batch_size),
            "--mini-batch-size", str(args.mini_batch_size), "--max-seq-length", str(args.max_seq_length),
            "--precision", _precision(args), "--child", name]
    if args.data_dir is not None:
        argv += ["--data-dir", str(args.data_dir)]
    if args.synthetic:
        argv.append("--synthetic")
    done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} step failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _records(args: argparse.Namespace) -> list:
    """``--batch-size`` English records: synthetic, or the first XQuAD-R questions."""
    if args.synthetic:
        return synthetic_records(args.batch_size, languages=["en"])
    from polyret.data.lareqa import load_parallel_qa

    records = load_parallel_qa("xquad-r", languages=["en"], data_dir=args.data_dir)
    if len(records) < args.batch_size:
        raise SystemExit(f"--batch-size {args.batch_size}: XQuAD-R has only {len(records)} English questions")
    return records[: args.batch_size]


def one_step(args: argparse.Namespace) -> dict[str, float]:
    """One optimizer step with the loss ``args.child``: its peak memory in MiB, loss value and seconds, or
    ``out_of_memory`` with the peak reached."""
    import contextlib
    import time

    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import losses

    from polyret.data.records import passage_input

    records = _records(args)
    model = SentenceTransformer(args.model, device=args.device)
    model.max_seq_length = args.max_seq_length
    model.train()
    queries = model.tokenize([f"Query: {r.questions['en']}" for r in records])
    passages = model.tokenize([f"Passage: {passage_input(r.answers['en'], r.contexts.get('en'))}" for r in records])
    features = [{k: v.to(args.device) if torch.is_tensor(v) else v for k, v in f.items()} for f in (queries, passages)]
    loss_fn = getattr(losses, args.child)
    loss = (loss_fn(model, mini_batch_size=args.mini_batch_size) if args.child.startswith("Cached")
            else loss_fn(model))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    if args.device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        before = _rss_mib() * 2**20
    started = time.perf_counter()
    autocast = (torch.autocast(args.device, dtype=torch.bfloat16) if args.precision == "bf16"
                else contextlib.nullcontext())
    try:
        with autocast:
            value = loss(features, None)
        value.backward()
        optimizer.step()
    except torch.cuda.OutOfMemoryError:
        return {"out_of_memory": True, "peak_mib": (torch.cuda.max_memory_allocated() - before) / 2**20}
    if args.device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - before
    else:
        peak = _peak_rss_mib() * 2**20 - before
    return {"peak_mib": peak / 2**20, "loss": float(value.detach()), "seconds": time.perf_counter() - started}


def _rss_mib() -> float:
    """Current resident set size (Linux ``/proc``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mib() -> float:
    """Peak resident set size so far (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
