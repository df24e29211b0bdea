"""Cost of the field's bias measures (PEER, preference gap, target-language recall) inside the LAReQA evaluation.

Runs :func:`polyret.evaluation.lareqa.evaluate_lareqa` ``--repeats`` times per task and times, inside each run, the
two calls that compute the new measures (building :class:`~polyret.evaluation.language_measures.PooledRanking` and
``score_queries``); prints both times and their share of the whole evaluation. Embeddings are encoded
once before timing (the quick suite's slices with ``--model``, through polyret's embedding cache); with
``--full-random`` it also times the full XQuAD-R task (13,090 queries, 13,014 candidates) on seeded random vectors,
the cost of the measures depending on the numbers of queries, relevant items and languages, not on the vectors.

    python benchmarks/bias_measures.py --model multilingual-e5-small --full-random
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from polyret.evaluation import lareqa
from polyret.evaluation.store import EmbeddingStore
from polyret.evaluation.suite import LareqaSpec
from polyret.models.encoders import get_encoder
from polyret.settings import cache_dir

QUICK_SLICES = (LareqaSpec("xquad-r", max_groups=1), LareqaSpec("mlqa-r", max_groups=2))
"""The LAReQA tasks of the quick suite, as it slices them."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="multilingual-e5-small", help="anything get_encoder accepts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None, help="polyret data directory")
    parser.add_argument("--full-random", action="store_true", help="also time full XQuAD-R on random vectors")
    return parser.parse_args()


class RandomEncoder:
    """Seeded random unit vectors per (role, text): an encoder with no model, for timing the metrics alone."""

    name = "random-64"
    dim = 64

    def fingerprint(self) -> str:
        return self.name

    def encode(self, texts: Sequence[str], role: str, **_: Any) -> np.ndarray:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(f"{role}|{text}".encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), self.dim)


@contextmanager
def timing_added_calls(spent: list[float]) -> Iterator[None]:
    """Within the block, every call that computes the new measures in ``evaluate_lareqa`` adds its seconds to
    ``spent``."""

    def timed(call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - start)
        return wrapper

    original_view, original_score = lareqa.PooledRanking, lareqa.score_queries
    lareqa.PooledRanking = type("TimedRanking", (), {"from_ranks": staticmethod(timed(original_view.from_ranks))})
    lareqa.score_queries = timed(original_score)
    try:
        yield
    finally:
        lareqa.PooledRanking, lareqa.score_queries = original_view, original_score


def measure(name: str, task: Any, store: EmbeddingStore, repeats: int) -> None:
    """Evaluate ``task`` once untimed (encoding), then ``repeats`` times timed; print the medians."""
    result = lareqa.evaluate_lareqa(task, store)
    totals, added = [], []
    for _ in range(repeats):
        spent: list[float] = []
        with timing_added_calls(spent):
            start = time.perf_counter()
            lareqa.evaluate_lareqa(task, store)
            totals.append(time.perf_counter() - start)
        added.append(sum(spent))
    total, extra = float(np.median(totals)), float(np.median(added))
    print(f"{name}: {result.details['n_queries']} queries, {result.details['n_passages']} candidates; "
          f"evaluate_lareqa {total:.3f} s (median of {repeats}), of which the new measures {extra:.3f} s "
          f"({100 * extra / total:.1f} %; without them {total - extra:.3f} s)")


def main() -> None:
    args = parse_args()
    store = EmbeddingStore(get_encoder(args.model), cache_root=cache_dir() / "embeddings")
    for spec in QUICK_SLICES:
        measure(f"{spec.name} (quick slice, {args.model})", spec.load(args.data_dir), store, args.repeats)
    if args.full_random:
        task = LareqaSpec("xquad-r").load(args.data_dir)
        measure("xquad-r (full, random vectors)", task, EmbeddingStore(RandomEncoder()), args.repeats)


if __name__ == "__main__":
    main()
