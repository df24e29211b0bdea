"""How exact blockwise search, FAISS flat and an approximate FAISS index scale with the pool size.

Random unit vectors (seeded) stand in for embeddings. For each pool size the script times exact blockwise numpy
search (:func:`polyret.evaluation.search.top_k`), FAISS flat and FAISS IVF and/or HNSW, reports the peak memory numpy
allocated during the search (``tracemalloc``; FAISS's C++ buffers are not traced, so its column shows only the
Python side) and the recall@k of each method against the exact result, and prints a table.

Uniformly random vectors have no structure, so they are the worst case for approximate indexes (every point is
about as far as every other). Real embeddings lie near a low-dimensional surface; ``--intrinsic-dim K`` draws the
vectors from K latent dimensions (a fixed random linear map of K-dimensional Gaussians into ``--dim``, plus 10 %
isotropic noise), which approximate indexes can exploit as they do on real data.

    python benchmarks/search_scale.py --sizes 100000 1000000 --queries 1000 --dim 384
    python benchmarks/search_scale.py --sizes 1000000 --queries 200 --approx ivf hnsw --intrinsic-dim 24
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial

import numpy as np
from rich.console import Console
from rich.table import Table

from polyret.evaluation.search import FaissIndex, top_k

Search = Callable[[], tuple[np.ndarray, np.ndarray]]


NOISE = 0.1
"""Isotropic noise added to low-intrinsic-dimension vectors, relative to their signal."""


def unit_vectors(
    n: int, dim: int, rng: np.random.Generator, latent: np.ndarray | None = None, chunk: int = 100_000
) -> np.ndarray:
    """``n`` random unit vectors, generated in chunks to keep temporaries small.

    Without ``latent`` they are uniform on the sphere; with a ``(K, dim)`` map they are ``z @ latent`` for
    K-dimensional standard Gaussians ``z``, plus ``NOISE`` isotropic noise, normalised.
    """
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        block = rng.standard_normal((size, dim), dtype=np.float32)
        if latent is not None:
            signal = rng.standard_normal((size, len(latent)), dtype=np.float32) @ latent
            block = signal + NOISE * np.sqrt(len(latent), dtype=np.float32) * block  # noise norm = 10 % of signal
        out[start : start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def measure(search: Search) -> tuple[np.ndarray, float, float]:
    """Run ``search``; return its indices, wall seconds and traced peak MiB."""
    tracemalloc.start()
    start = time.perf_counter()
    _, indices = search()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return indices, seconds, peak


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of the exact top-k that ``found`` retrieved."""
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, exact, strict=True)]))


def _add_row(console: Console, table: Table, *cells: str) -> None:
    """Add a row to the final table and echo it at once (a long run shows what it has measured so far)."""
    table.add_row(*cells)
    console.print(" | ".join(cells), style="dim")


def _settings(index: FaissIndex, args: argparse.Namespace) -> Iterator[str]:
    """Set each search-time parameter of ``index`` in turn, yielding a row label."""
    if index.kind == "ivf":
        for nprobe in args.nprobe:
            index.index.nprobe = nprobe
            yield f"FAISS ivf (nprobe {nprobe})"
    elif index.kind == "hnsw":
        for ef in args.ef_search:
            index.index.hnsw.efSearch = ef
            yield f"FAISS hnsw (efSearch {ef})"
    else:
        yield f"FAISS {index.kind}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--approx", choices=["ivf", "hnsw"], nargs="+", default=["ivf"])
    parser.add_argument("--intrinsic-dim", type=int, default=None,
                        help="draw vectors from this many latent dimensions (default: uniform on the sphere)")
    parser.add_argument("--nprobe", type=int, nargs="+", default=[16, 64], help="IVF cells visited (one row each)")
    parser.add_argument("--ef-search", type=int, nargs="+", default=[64, 256], help="HNSW beam (one row each)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    console = Console()
    rng = np.random.default_rng(args.seed)
    latent = None
    if args.intrinsic_dim is not None:
        latent = rng.standard_normal((args.intrinsic_dim, args.dim), dtype=np.float32)
    queries = unit_vectors(args.queries, args.dim, rng, latent)
    shape = f"intrinsic dim {args.intrinsic_dim}" if latent is not None else "uniform"
    table = Table(title=f"top-{args.k} search, {args.queries} queries, dim {args.dim} ({shape})")
    for column in ("passages", "method", "build s", "search s", "peak traced MiB", f"recall@{args.k}"):
        table.add_column(column, justify="right")
    for size in args.sizes:
        passages = unit_vectors(size, args.dim, rng, latent)
        exact, seconds, peak = measure(partial(top_k, queries, passages, args.k))
        _add_row(console, table, f"{size:,}", "exact blockwise (numpy)", "-", f"{seconds:.1f}", f"{peak:.0f}", "1.000")
        for kind in ("flat", *args.approx):
            start = time.perf_counter()
            index = FaissIndex(passages, kind)
            build = f"{time.perf_counter() - start:.1f}"
            for label in _settings(index, args):
                found, seconds, peak = measure(partial(index.search, queries, args.k))
                _add_row(
                    console,
                    table,
                    f"{size:,}",
                    label,
                    build,
                    f"{seconds:.1f}",
                    f"{peak:.0f}",
                    f"{recall(found, exact):.3f}",
                )
                build = ""
    console.print(table)
    console.print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")


if __name__ == "__main__":
    main()
