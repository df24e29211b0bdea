"""Hard negatives at scale: mining a prepared corpus, and training batches with negatives against plain ones.

Synthetic parallel questions in 3 languages (60-character questions, 200-character answers), prepared as a corpus.
Each measurement runs in a fresh subprocess and reports its wall time and peak RSS.

- ``mine``: ``mine_negatives`` with the tiny test encoder (torch fp32) and FAISS, ``--negatives`` per row and
  language: seconds, rows/s and peak RSS per size (the encoder's cost dominates; the index holds one language).
- ``batches``: what training does before and during its steps on the data side: the pair table, the check that
  every row has its negatives, the sampler and ``--batches`` batches of texts, once on the plain corpus
  (``hard_negatives`` 0) and once on the same corpus with ``--negatives`` mined ones (``hard_negatives`` k). The
  ratios say whether a text costs the same with negatives as without (a batch with k negatives reads ``2 + k``
  texts per pair, as a plain set of the summed size would) and whether the memory kept per question grows.

    nice -n 15 python benchmarks/negatives_scale.py --sizes 3000 30000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from train_scale_sampler import rss_bytes  # benchmarks/ is the script's folder, first on sys.path

REPO = Path(__file__).resolve().parents[1]
LANGS = ("de", "en", "fr")
TINY_TEXTS = [f"question {i} about subject {i % 13} and answer {i % 7} in words {lang}" for i in range(200)
              for lang in LANGS]


def write_corpus(size: int, folder: Path) -> Path:
    """A prepared corpus of ``size`` synthetic questions in :data:`LANGS`."""
    from polyret.data.corpus_sources import QAJsonlSource
    from polyret.data.prepare import prepare_corpus

    source = folder / f"train-{size}.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for row in range(size):
            record = {"id": f"q{row}",
                      "questions": {lang: f"question {row} in {lang} ".ljust(60, "q") for lang in LANGS},
                      "answers": {lang: f"answer {row} about {row % 97} in {lang} ".ljust(200, "a")
                                  for lang in LANGS}}
            handle.write(json.dumps(record) + "\n")
    prepare_corpus([QAJsonlSource(source)], folder / f"corpus-{size}")
    source.unlink()
    return folder / f"corpus-{size}"


def mine(corpus: Path, model: Path, output: Path, negatives: int) -> dict:
    from polyret.data.corpus import PreparedCorpus
    from polyret.models.backends import InferenceBackend
    from polyret.models.encoders import get_encoder
    from polyret.training.mining import MiningOptions, mine_negatives

    opened = PreparedCorpus.open(corpus)
    encoder = get_encoder(model, backend=InferenceBackend("torch", "fp32"))
    base, _ = rss_bytes()
    started, cpu = time.perf_counter(), time.process_time()
    mined, report = mine_negatives(opened, encoder, output, MiningOptions(num_negatives=negatives, batch_size=64))
    seconds = time.perf_counter() - started
    _, peak = rss_bytes()
    return {"rows": len(opened), "seconds": seconds, "cpu_s": time.process_time() - cpu,
            "rows_per_s": len(opened) / seconds,
            "peak_rss_gib": peak / 2**30, "peak_rise_gib": (peak - base) / 2**30,
            "short": {lang: found["short"] for lang, found in report["languages"].items()}}


def batches(corpus: Path, negatives: int, count: int, batch_size: int) -> dict:
    from polyret.data.corpus import PreparedCorpus
    from polyret.sampling import LanguageBatchSampler, PairTable
    from polyret.training.dataset import PairTexts, missing_negatives

    opened = PreparedCorpus.open(corpus)
    base, _ = rss_bytes()
    started = time.perf_counter()
    table = PairTable(opened)
    assert not missing_negatives(table, negatives)
    sampler = LanguageBatchSampler(table, batch_size, kind="hybrid", seed=13)
    texts = PairTexts(table, with_context=True, hard_negatives=negatives)
    stream = sampler.row_batches()
    texts.__getitems__(next(stream))
    first_batch_s = time.perf_counter() - started
    started = time.perf_counter()
    done = sum(len(texts.__getitems__(batch)) > 0 for batch in itertools.islice(stream, count))
    seconds = time.perf_counter() - started
    kept, peak = rss_bytes()
    opened.release_pages()  # the shard pages read stay in the page cache, not in this process
    held, _ = rss_bytes()
    read = done * batch_size * (2 + negatives)
    return {"rows": len(opened), "negatives": negatives, "first_batch_s": first_batch_s,
            "texts_per_s": read / seconds, "batches_per_s": done / seconds,
            "kept_bytes_per_question": (kept - base) / len(opened),
            "held_bytes_per_question": (held - base) / len(opened), "peak_rise_gib": (peak - base) / 2**30}


def run_child(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"{args}: exit {done.returncode}: {done.stderr.strip().splitlines()[-3:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(args: list[str]) -> dict:
    step, *rest = args
    if step == "prepare":
        return {"corpus": str(write_corpus(int(rest[0]), Path(rest[1])))}
    if step == "model":
        from polyret.models.tiny import build_tiny_model

        return {"model": str(build_tiny_model(Path(rest[0]), TINY_TEXTS))}
    if step == "mine":
        return mine(Path(rest[0]), Path(rest[1]), Path(rest[2]), int(rest[3]))
    return batches(Path(rest[0]), int(rest[1]), int(rest[2]), int(rest[3]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3_000, 30_000])
    parser.add_argument("--negatives", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=500, help="batches timed after the first")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = run_child("model", str(Path(tmp) / "model"))["model"]
        for size in args.sizes:
            corpus = run_child("prepare", str(size), tmp)["corpus"]
            mined_folder = str(Path(tmp) / f"mined-{size}")
            mined = run_child("mine", corpus, model, mined_folder, str(args.negatives))
            print(f"mine   {size:>9,} rows x {len(LANGS)} languages: {mined['seconds']:8.1f} s "
                  f"(cpu {mined['cpu_s']:.0f} s)"
                  f"({mined['rows_per_s']:.0f} rows/s), peak RSS {mined['peak_rss_gib']:.2f} GiB "
                  f"(rise {mined['peak_rise_gib']:.2f}), short {mined['short']}", flush=True)
            plain = run_child("batches", corpus, "0", str(args.batches), str(args.batch_size))
            with_negatives = run_child("batches", mined_folder, str(args.negatives), str(args.batches),
                                       str(args.batch_size))
            for row in (plain, with_negatives):
                print(f"batches {size:>8,} rows, {row['negatives']} negatives: first batch {row['first_batch_s']:.2f}"
                      f" s, {row['texts_per_s']:,.0f} texts/s, kept {row['kept_bytes_per_question']:.0f} B/question"
                      f" ({row['held_bytes_per_question']:.0f} without the mapped shard pages),"
                      f" peak rise {row['peak_rise_gib']:.2f} GiB", flush=True)
            ratio = with_negatives["texts_per_s"] / plain["texts_per_s"]
            print(f"ratio  {size:>9,}: texts/s with / without negatives {ratio:.2f}; bytes per question held "
                  f"without the mapped pages {with_negatives['held_bytes_per_question']:.0f} vs "
                  f"{plain['held_bytes_per_question']:.0f}", flush=True)
            rows.append({"size": size, "mine": mined, "plain": plain, "negatives": with_negatives, "ratio": ratio})
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
