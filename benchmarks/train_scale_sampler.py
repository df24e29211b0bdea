"""Training data at scale: the sampler and its text resolution at 10 K / 100 K / 1 M questions x 9 languages.

Each measurement runs in a fresh subprocess on synthetic questions (9 languages, 60-character questions,
200-character answers with their paragraph). From data in memory to the texts of the first batch it times what
``polyret.training.train`` does before its first step: the pair table, the sampler, its fingerprint (written to
``config.json``), the epoch plan and the first batch's texts. It reports the RSS that stays with the pair table, the
sampler and its cached epoch plan (per question, after ``malloc_trim``; the texts excluded: they are the data's),
the peak RSS rise, and batches/s of drawing plus text resolution over the following batches.

- ``columns``: this checkout, on a synthetic :class:`~polyret.data.columns.QuestionColumns` that makes each text
  when it is read (nothing held per question), at every size.
- ``records``: this checkout on ``list[ParallelQA]`` (the in-memory adapter), and ``--old REV`` the same records
  through the samplers of git revision ``REV`` (one ``PairRef`` per pair, every pair written into an in-memory
  ``datasets.Dataset``), at the sizes of ``--record-sizes`` only: that code needs about 2.7 GiB at 10 K.
- ``mixture`` (``--mixture``): the same questions as two data sets of half the size each, through the trainer's
  path for several data sets (:mod:`polyret.training.sources`: one sampler per data set under a
  ``SourceMixture``, by size); printed beside ``columns`` with the ratios mixture / one data set.

    nice -n 10 python benchmarks/train_scale_sampler.py --sizes 10000 100000 1000000 --old fa9c4c2
    nice -n 15 python benchmarks/train_scale_sampler.py --sizes 200000 --mixture --batches 2000

- ``--baseline REV``: the ``columns`` measurement with the samplers of git revision ``REV`` too, at every size (side
  by side, in alternating order), and a power-law fit of each kind's time to the first batch and kept RSS against
  the size, extrapolated to 40 M questions.
- ``--walk``: after the timed batches, draw the rest of the epoch (pair codes only) and report the most RSS kept at
  any quarter of it (an epoch drawn as it is read holds more as it goes).
- ``--corpus DIR...``: the same on prepared corpora (``polyret data prepare``; their shared answers make pools with
  ids of several members), and with ``--train-steps K`` a training run of ``K`` steps on each
  (:func:`polyret.training.train`, ``--model``, hybrid batches of ``--batch-size``): time to the first step's end and
  steps/s after it.

    nice -n 15 python benchmarks/train_scale_sampler.py --sizes 10000 100000 1000000 --baseline c0c28c9 --walk
    nice -n 15 python benchmarks/train_scale_sampler.py --sizes --corpus /tmp/s/corpus-10000 /tmp/s/corpus-1000000 \
        --baseline c0c28c9 --batches 200 --train-steps 6 --model multilingual-e5-small
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

LANGS = ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh")
REPO = Path(__file__).resolve().parents[1]


class SyntheticColumns:
    """``size`` fully aligned questions in :data:`LANGS`; texts are made when read, so they cost no memory."""

    def __init__(self, size: int, source: str = "") -> None:
        self.size = size
        self.source = source or f"synthetic-{size}"
        self.languages = LANGS

    def __len__(self) -> int:
        return self.size

    def answer_keys(self) -> np.ndarray:
        return np.arange(self.size, dtype=np.int64)

    def has(self, field: str, lang: str) -> np.ndarray:
        return np.full(self.size, lang in LANGS)

    def ids(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        return [f"q{int(row)}" for row in rows]

    def texts(self, field: str, lang: str, rows: Sequence[int] | np.ndarray) -> list[str | None]:
        return [synthetic_text(field, lang, int(row)) for row in rows]

    def negatives(self, lang: str, rows: Sequence[int] | np.ndarray) -> list[list[str]]:
        return [[] for _ in rows]

    def negative_counts(self, lang: str) -> np.ndarray:
        return np.zeros(self.size, dtype=np.int64)


def synthetic_text(field: str, lang: str, row: int) -> str:
    """A question (60 characters), answer (200) or paragraph (400) of ``row`` in ``lang``."""
    width = {"question": 60, "answer": 200, "context": 400}[field]
    return f"{field} {row} in {lang} ".ljust(width, "x")


def synthetic_records(size: int) -> list:
    from polyret.data.records import ParallelQA

    return [ParallelQA(f"q{row}", {lang: synthetic_text("question", lang, row) for lang in LANGS},
                       {lang: synthetic_text("answer", lang, row) for lang in LANGS},
                       {lang: synthetic_text("context", lang, row) for lang in LANGS}) for row in range(size)]


def rss_bytes() -> tuple[int, int]:
    """Current and peak resident set size of this process, after handing freed heap memory back to the system
    (so the current size counts what is still held, not what the allocator kept)."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def open_data(kind: str, source: str):
    """The questions of one measurement: synthetic columns or records of ``source`` questions, or a corpus folder."""
    if kind.startswith("corpus"):
        from polyret.data.corpus import PreparedCorpus

        return PreparedCorpus.open(source)
    size = int(source)
    return SyntheticColumns(size) if kind.startswith("columns") else synthetic_records(size)


def child(kind: str, source: str, args: argparse.Namespace) -> dict:
    """One measurement (runs in its own process; ``kind`` is ``columns``, ``records``, ``old`` or ``corpus``, with
    ``@REV`` for a baseline revision's sources)."""
    from polyret.sampling import LanguageBatchSampler, PairTable
    from polyret.training import dataset as pair_datasets  # imported before the baseline RSS is taken

    if kind == "mixture":
        size = int(source)
        base, _ = rss_bytes()
        started = time.perf_counter()
        sampler, dataset = mixture_of_halves(size, args.design, args.batch_size)
        fingerprint = sampler.fingerprint
    else:
        data = open_data(kind, source)
        size = len(data)
        base, _ = rss_bytes()
        started = time.perf_counter()
        table = PairTable(data)
        sampler = LanguageBatchSampler(table, args.batch_size, kind=args.design, seed=13)
        fingerprint = sampler.fingerprint
        if kind == "old":
            dataset = pair_datasets.build_pair_dataset(table, with_context=True)
        else:
            dataset = pair_datasets.PairTexts(table, with_context=True)
    stream = sampler.row_batches()
    first = dataset.__getitems__(next(stream))
    first_batch_s = time.perf_counter() - started
    kept, peak = rss_bytes()
    started = time.perf_counter()
    done = 0
    for batch in stream:
        dataset.__getitems__(batch)
        done += 1
        if done == args.batches:
            break
    rate = done / (time.perf_counter() - started)
    out = {"kind": kind, "size": size, "design": args.design, "batch_size": args.batch_size,
           "first_batch_s": first_batch_s, "kept_bytes_per_question": (kept - base) / size,
           "peak_rise_gib": (peak - base) / 2**30, "batches_per_s": rate,
           "steps_per_epoch": sampler.steps_per_epoch, "fingerprint": fingerprint,
           "first_query": first[0]["query"][:20]}
    if args.walk:
        out.update(walk_epoch(stream, done + 1, len(sampler), base, size))
    return out


def mixture_of_halves(size: int, design: str, batch_size: int) -> tuple:
    """The sampler and dataset the trainer builds for two data sets of ``size // 2`` questions each."""
    from polyret.training import TrainConfig
    from polyret.training.sources import DataSource, batch_sampler, pair_tables, pair_texts

    sources = [DataSource(name, SyntheticColumns(size // 2, name)) for name in ("first-half", "second-half")]
    config = TrainConfig(batch_size=batch_size, sampler=design, seed=13)
    tables = pair_tables(config, sources)
    sampler = batch_sampler(config, tables, [source.name for source in sources], [1.0, 1.0], world_size=1)
    return sampler, pair_texts(sampler.table, with_context=True)


def print_ratios(rows: list[dict]) -> None:
    """Per size with both rows: mixture / one data set of the summed size, for time and memory."""
    by_kind = {(row["kind"], row["size"]): row for row in rows}
    for (kind, size), mixed in by_kind.items():
        single = by_kind.get(("columns", size))
        if kind != "mixture" or single is None:
            continue
        print(f"two data sets of {size // 2:,} / one of {size:,}: first batch "
              f"{mixed['first_batch_s'] / single['first_batch_s']:.2f}x, kept bytes per question "
              f"{mixed['kept_bytes_per_question'] / single['kept_bytes_per_question']:.2f}x, peak rise "
              f"{mixed['peak_rise_gib'] / max(single['peak_rise_gib'], 1e-9):.2f}x, batches/s "
              f"{mixed['batches_per_s'] / single['batches_per_s']:.2f}x", flush=True)


def walk_epoch(stream, done: int, total: int, base: int, size: int) -> dict:
    """Draw the rest of the epoch from ``stream``; the most RSS kept (per question) at its quarters, and the rate."""
    started, most = time.perf_counter(), 0
    marks = {total * quarter // 4 for quarter in (1, 2, 3)}
    for position, _ in enumerate(stream, start=done + 1):
        if position in marks:
            most = max(most, rss_bytes()[0] - base)
    most = max(most, rss_bytes()[0] - base)
    seconds = time.perf_counter() - started
    return {"epoch_kept_bytes_per_question": most / size, "walk_s": seconds,
            "walk_batches_per_s": (total - done) / seconds}


def train_child(source: str, args: argparse.Namespace) -> dict:
    """A short training run on the corpus ``source``: time to the end of the first step, steps/s after it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    from train_throughput import CLOCKS, _clock_every_train

    from polyret.data.corpus import PreparedCorpus
    from polyret.training import TrainConfig, train

    _clock_every_train(CLOCKS)
    config = TrainConfig(model=args.model, sampler=args.design, batch_size=args.batch_size,
                         max_steps=args.train_steps, save_steps=args.train_steps + 1, logging_steps=1)
    with tempfile.TemporaryDirectory(prefix="polyret-scale-train-") as out:
        started = time.perf_counter()
        train(config, PreparedCorpus.open(source), output_dir=out, device="cpu")
    ends = CLOCKS[-1].ends
    return {"size": len(PreparedCorpus.open(source)), "first_step_s": ends[0] - started,
            "steps_per_s": (len(ends) - 1) / (ends[-1] - ends[0]), "steps": len(ends)}


def run_child(kind: str, source: str, args: argparse.Namespace, src: Path) -> dict | None:
    command = [sys.executable, __file__, "--child", kind, source, "--design", args.design,
               "--batch-size", str(args.batch_size), "--batches", str(args.batches), "--model", args.model,
               "--train-steps", str(args.train_steps)] + (["--walk"] if args.walk else [])
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=args.timeout)
    if done.returncode:
        print(f"  {kind} {source}: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def old_sources(revision: str, into: Path) -> Path:
    """The ``src`` folder of git revision ``revision``, extracted into ``into``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "src"], check=True, capture_output=True)
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def describe(row: dict) -> str:
    if "first_step_s" in row:
        return (f"{row['kind']:16} {row['size']:>9,} questions: first step {row['first_step_s']:7.2f} s, "
                f"{row['steps_per_s']:.3f} steps/s over {row['steps'] - 1} steps")
    text = (f"{row['kind']:16} {row['size']:>9,} questions: first batch {row['first_batch_s']:7.2f} s, kept "
            f"{row['kept_bytes_per_question']:7.0f} B/question, peak rise {row['peak_rise_gib']:.2f} GiB, "
            f"{row['batches_per_s']:6.0f} batches/s, {row['steps_per_epoch']:,} steps/epoch")
    if "walk_s" in row:
        text += (f"; whole epoch: at most {row['epoch_kept_bytes_per_question']:.0f} B/question kept, "
                 f"{row['walk_batches_per_s']:.0f} batches/s")
    return text


def print_growth(rows: list[dict], target: int = 40_000_000) -> None:
    """Fit ``y = a * size^b`` to each kind's time to the first batch and kept RSS; print the value at ``target``."""
    for kind in dict.fromkeys(row["kind"] for row in rows if "first_batch_s" in row):
        mine = [row for row in rows if row["kind"] == kind and "first_batch_s" in row]
        if len({row["size"] for row in mine}) < 2:
            continue
        sizes = np.log([row["size"] for row in mine])
        for name, unit in (("first_batch_s", "s"), ("kept_bytes_per_question", "B/question")):
            exponent, scale = np.polyfit(sizes, np.log([max(row[name], 1e-9) for row in mine]), 1)
            print(f"growth {kind:16} {name}: ~ size^{exponent:.2f}; at {target:,} questions "
                  f"{np.exp(scale) * target ** exponent:,.1f} {unit}")


def measurements(args: argparse.Namespace, old_src: Path | None, base_src: Path | None) -> list[tuple[str, str, Path]]:
    """(kind, source, sources folder) of every measurement, baseline and this checkout alternating in order."""
    plan = []
    for index, source in enumerate([str(size) for size in args.sizes] + list(args.corpus)):
        prefix = "corpus" if source in args.corpus else "columns"
        pair = [(prefix, source, REPO / "src")] + ([(f"{prefix}@{args.baseline}", source, base_src)]
                                                   if base_src else [])
        plan += pair if index % 2 == 0 else pair[::-1]
        if prefix == "columns" and args.mixture:
            plan.append(("mixture", source, REPO / "src"))
        if prefix == "columns" and int(source) in args.record_sizes:
            plan += [("records", source, REPO / "src")] + ([("old", source, old_src)] if old_src else [])
        if prefix == "corpus" and args.train_steps:
            plan += [(f"train{suffix}", source, src) for suffix, src in pair_suffixes(args, base_src, index)]
    return plan


def pair_suffixes(args: argparse.Namespace, base_src: Path | None, index: int) -> list[tuple[str, Path]]:
    pair = [("", REPO / "src")] + ([(f"@{args.baseline}", base_src)] if base_src else [])
    return pair if index % 2 == 0 else pair[::-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixture", action="store_true", help="also two data sets of half the size each")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--record-sizes", type=int, nargs="*", default=[10_000])
    parser.add_argument("--old", help="git revision to compare with on records (on --record-sizes)")
    parser.add_argument("--baseline", help="git revision whose samplers run beside this checkout's at every size")
    parser.add_argument("--corpus", nargs="+", default=[], help="prepared corpus folders to measure on")
    parser.add_argument("--walk", action="store_true", help="draw the whole epoch and report the RSS it keeps")
    parser.add_argument("--train-steps", type=int, default=0, help="with --corpus: train this many steps on each")
    parser.add_argument("--model", default="multilingual-e5-small", help="the model --train-steps trains")
    parser.add_argument("--design", default="hybrid")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=2000, help="batches timed after the first")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, source = args.child
        result = train_child(source, args) if kind.startswith("train") else child(kind, source, args)
        print(json.dumps({**result, "kind": kind}))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old_src = old_sources(args.old, Path(tmp) / "old") if args.old else None
        base_src = old_sources(args.baseline, Path(tmp) / "baseline") if args.baseline else None
        for kind, source, src in measurements(args, old_src, base_src):
            row = run_child(kind, source, args, src)
            if row:
                rows.append(row)
                print(describe(row), flush=True)
    print_growth(rows)
    print_ratios(rows)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
