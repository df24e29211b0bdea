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


def child(kind: str, size: int, design: str, batch_size: int, batches: int) -> dict:
    """One measurement (runs in its own process; ``kind`` is ``columns``, ``records`` or ``old``)."""
    from polyret.sampling import LanguageBatchSampler, PairTable
    from polyret.training import dataset as pair_datasets  # imported before the baseline RSS is taken

    data = SyntheticColumns(size) if kind in ("columns", "mixture") else synthetic_records(size)
    base, _ = rss_bytes()
    started = time.perf_counter()
    if kind == "mixture":
        sampler, dataset = mixture_of_halves(size, design, batch_size)
    else:
        table = PairTable(data)
        sampler = LanguageBatchSampler(table, batch_size, kind=design, seed=13)
        if kind == "old":
            dataset = pair_datasets.build_pair_dataset(table, with_context=True)
        else:
            dataset = pair_datasets.PairTexts(table, with_context=True)
    fingerprint = sampler.fingerprint
    stream = sampler.row_batches()
    first = dataset.__getitems__(next(stream))
    first_batch_s = time.perf_counter() - started
    kept, peak = rss_bytes()
    started = time.perf_counter()
    done = 0
    for batch in stream:
        dataset.__getitems__(batch)
        done += 1
        if done == batches:
            break
    rate = done / (time.perf_counter() - started)
    return {"kind": kind, "size": size, "design": design, "batch_size": batch_size, "first_batch_s": first_batch_s,
            "kept_bytes_per_question": (kept - base) / size, "peak_rise_gib": (peak - base) / 2**30,
            "batches_per_s": rate, "steps_per_epoch": sampler.steps_per_epoch, "fingerprint": fingerprint,
            "first_query": first[0]["query"][:20]}


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


def run_child(kind: str, size: int, args: argparse.Namespace, src: Path) -> dict | None:
    command = [sys.executable, __file__, "--child", kind, str(size), "--design", args.design,
               "--batch-size", str(args.batch_size), "--batches", str(args.batches)]
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=args.timeout)
    if done.returncode:
        print(f"  {kind} {size}: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def old_sources(revision: str, into: Path) -> Path:
    """The ``src`` folder of git revision ``revision``, extracted into ``into``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "src"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--record-sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--old", help="git revision to compare with (on --record-sizes)")
    parser.add_argument("--mixture", action="store_true", help="also two data sets of half the size each")
    parser.add_argument("--design", default="hybrid")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=2000, help="batches timed after the first")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, size = args.child
        print(json.dumps(child(kind, int(size), args.design, args.batch_size, args.batches)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old_src = old_sources(args.old, Path(tmp)) if args.old else None
        for size in args.sizes:
            kinds = [("columns", REPO / "src")] + ([("mixture", REPO / "src")] if args.mixture else [])
            if size in args.record_sizes:
                kinds += [("records", REPO / "src")] + ([("old", old_src)] if old_src else [])
            for kind, src in kinds:
                row = run_child(kind, size, args, src)
                if row:
                    rows.append(row)
                    print(f"{kind:8} {size:>9,} questions: first batch {row['first_batch_s']:7.2f} s, kept "
                          f"{row['kept_bytes_per_question']:9.0f} B/question, peak rise {row['peak_rise_gib']:.2f}"
                          f" GiB, {row['batches_per_s']:8.0f} batches/s, {row['steps_per_epoch']:,} steps/epoch",
                          flush=True)
    print_ratios(rows)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
