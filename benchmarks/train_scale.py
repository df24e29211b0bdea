"""Training data at the paper's scale, part 1: ``polyret data prepare`` throughput and memory by corpus size.

For each size, a synthetic QA JSONL file is generated (9 languages, 60-character questions, 200-character answers;
one row in 100 reuses an earlier row's answers, so answer keys have work to do), then prepared in a fresh
subprocess that reports its peak RSS (``VmHWM``), then opened in another subprocess that touches every row's
answer key and ``has`` mask and reports the RSS it keeps per question. Big files live in ``--work`` (outside the
repository) and are removed afterwards unless ``--keep``.

    nice -n 10 python benchmarks/train_scale.py prepare --sizes 10000 100000 1000000 --work /tmp/polyret-scale
    nice -n 10 python benchmarks/train_scale.py mmarco --queries 20000 --passages 100000 --triples 300000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

LANGUAGES = ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh")
QUESTION_CHARS = 60
ANSWER_CHARS = 200
SHARED_EVERY = 100
_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz     ", dtype=np.uint8)


def write_jsonl(path: Path, rows: int, seed: int = 0) -> int:
    """Write ``rows`` synthetic QA records to ``path``; return its size in bytes."""
    rng = np.random.default_rng(seed)
    block = 10_000
    answers: dict[str, str] = {}
    with path.open("w", encoding="utf-8") as handle:
        for start in range(0, rows, block):
            count = min(block, rows - start)
            chars = _LETTERS[rng.integers(0, _LETTERS.size, (count, len(LANGUAGES), QUESTION_CHARS + ANSWER_CHARS))]
            lines = []
            for offset in range(count):
                row = start + offset
                texts = [chars[offset, j].tobytes().decode() for j in range(len(LANGUAGES))]
                if row % SHARED_EVERY != SHARED_EVERY - 1:  # else: the previous row's answers again
                    answers = {lang: f"{row} {t[QUESTION_CHARS:]}"[:ANSWER_CHARS]
                               for lang, t in zip(LANGUAGES, texts, strict=True)}
                questions = {lang: f"{row} {t[:QUESTION_CHARS]}"[:QUESTION_CHARS]
                             for lang, t in zip(LANGUAGES, texts, strict=True)}
                lines.append(json.dumps({"id": f"q{row}", "questions": questions, "answers": answers}))
            handle.write("\n".join(lines) + "\n")
    return path.stat().st_size


def write_mmarco(root: Path, queries: int, passages: int, triples: int, seed: int = 0) -> int:
    """Write a synthetic mMARCO layout (9 languages; 60-character queries, 300-character passages; triples sorted
    by query and positive, ``triples / queries`` negatives per query); return its size in bytes."""
    rng = np.random.default_rng(seed)
    (root / "queries").mkdir(parents=True, exist_ok=True)
    (root / "collection").mkdir(exist_ok=True)
    for lang in LANGUAGES:
        for kind, count, chars in (("queries", queries, 50), ("collection", passages, 290)):
            with (root / kind / f"{lang}.tsv").open("w", encoding="utf-8") as handle:
                for start in range(0, count, 10_000):
                    block = _LETTERS[rng.integers(0, _LETTERS.size, (min(10_000, count - start), chars))]
                    handle.writelines(f"{start + i}\t{lang} {kind} {start + i} {row.tobytes().decode()}\n"
                                      for i, row in enumerate(block))
    qids = np.sort(rng.integers(0, queries, triples))
    positives, negatives = qids * 7 % passages, rng.integers(0, passages, triples)
    with (root / "triples.tsv").open("w", encoding="ascii") as handle:
        handle.writelines(f"{q}\t{p}\t{n}\n" for q, p, n in zip(qids, positives, negatives, strict=True))
    return sum(p.stat().st_size for p in root.rglob("*.tsv"))


def run_mmarco(queries: int, passages: int, triples: int, work: Path, keep: bool) -> None:
    source, output = work / "mmarco", work / "corpus-mmarco"
    nbytes = write_mmarco(source, queries, passages, triples)
    prepared = _child("prepare-child", str(source), str(output))
    print("| queries | passages | triples | TSV | rows | prepare | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {queries:,} | {passages:,} | {triples:,} | {nbytes / 2**20:,.0f} MiB | {prepared['rows']:,} "
          f"| {prepared['seconds']:,.1f} s | {prepared['peak_rss'] / 2**20:,.0f} MiB |", flush=True)
    if not keep:
        shutil.rmtree(source)
        shutil.rmtree(output)


def prepare_child(source: str, output: str) -> None:
    """Run in a subprocess: prepare ``source`` into ``output`` and print seconds and peak RSS as JSON."""
    from polyret.data.prepare import open_source, prepare_corpus

    start = time.perf_counter()
    corpus = prepare_corpus([open_source(source)], output)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "rows": len(corpus), "peak_rss": _peak_rss(),
                      "shared_keys": int((corpus.answer_keys() != np.arange(len(corpus))).sum())}))


def open_child(folder: str) -> None:
    """Run in a subprocess: open the corpus, touch its keys and masks and a few texts, print RSS growth as JSON."""
    import gc

    import pyarrow as pa

    from polyret.data.corpus import PreparedCorpus

    pa.array(["warm up"], pa.large_string()).take(pa.array([0]))  # load the compute kernels before the baseline
    gc.collect()
    before, before_anon = _current_rss(), _anonymous_rss()
    start = time.perf_counter()
    corpus = PreparedCorpus.open(folder)
    keys = np.array(corpus.answer_keys())
    masks = [corpus.has("question", lang) & corpus.has("answer", lang) for lang in corpus.languages]
    open_s = time.perf_counter() - start
    start = time.perf_counter()
    rows = np.random.default_rng(0).integers(0, len(corpus), 16)
    batch = [corpus.texts("question", "de", rows), corpus.texts("answer", "es", rows)]
    texts_ms = (time.perf_counter() - start) * 1000
    kept, anonymous = _current_rss() - before, _anonymous_rss() - before_anon
    del keys, masks
    print(json.dumps({"rss_kept": kept, "per_question": kept / len(corpus),
                      "anon_per_question": anonymous / len(corpus),
                      "batch_texts_ms": texts_ms, "open_s": open_s, "rows": len(batch[0])}))


def _peak_rss() -> int:
    """This process's peak resident memory (``VmHWM``; ``ru_maxrss`` would include the parent's size at the fork)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmHWM:"))


def _anonymous_rss() -> int:
    """Resident memory not backed by a file (what the process holds, without mapped file pages)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("RssAnon:"))


def _current_rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_prepare(sizes: list[int], work: Path, keep: bool) -> None:
    print("| questions | JSONL | prepare | throughput | peak RSS | corpus on disk | open + keys + masks "
          "| RSS kept / question (anonymous) | 16 texts |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        work.mkdir(parents=True, exist_ok=True)
        source, output = work / f"qa-{size}.jsonl", work / f"corpus-{size}"
        nbytes = write_jsonl(source, size)
        prepared = _child("prepare-child", str(source), str(output))
        opened = _child("open-child", str(output))
        on_disk = sum(p.stat().st_size for p in output.iterdir())
        print(f"| {size:,} | {nbytes / 2**20:,.0f} MiB | {prepared['seconds']:,.1f} s "
              f"| {nbytes / 2**20 / prepared['seconds']:.1f} MB/s | {prepared['peak_rss'] / 2**20:,.0f} MiB "
              f"| {on_disk / 2**20:,.0f} MiB | {opened['open_s']:.2f} s | {opened['per_question']:.1f} B "
              f"({opened['anon_per_question']:.1f} B) | {opened['batch_texts_ms']:.1f} ms |", flush=True)
        if not keep:
            source.unlink()
            shutil.rmtree(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="part", required=True)
    prepare = sub.add_parser("prepare", help="prepare throughput and memory by size")
    prepare.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    prepare.add_argument("--work", type=Path, default=Path("/tmp/polyret-scale"))
    prepare.add_argument("--keep", action="store_true", help="keep the generated files")
    mmarco = sub.add_parser("mmarco", help="prepare time and memory of a synthetic mMARCO layout")
    mmarco.add_argument("--queries", type=int, default=20_000)
    mmarco.add_argument("--passages", type=int, default=100_000)
    mmarco.add_argument("--triples", type=int, default=300_000)
    mmarco.add_argument("--work", type=Path, default=Path("/tmp/polyret-scale"))
    mmarco.add_argument("--keep", action="store_true", help="keep the generated files")
    child = sub.add_parser("prepare-child")
    child.add_argument("source")
    child.add_argument("output")
    opener = sub.add_parser("open-child")
    opener.add_argument("folder")
    args = parser.parse_args()
    if args.part == "prepare":
        run_prepare(args.sizes, args.work, args.keep)
    elif args.part == "mmarco":
        run_mmarco(args.queries, args.passages, args.triples, args.work, args.keep)
    elif args.part == "prepare-child":
        prepare_child(args.source, args.output)
    else:
        open_child(args.folder)


if __name__ == "__main__":
    main()
