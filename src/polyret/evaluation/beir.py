"""BEIR-style ad-hoc retrieval (MIRACL, or any corpus + topics + qrels): nDCG@10 and Recall@k from a top-k run.

nDCG@10 uses the qrels' relevance grades as gains (trec_eval's ``ndcg_cut_10``); recall and MRR count every grade
above 0 as relevant.

Queries are encoded as queries and passages as passages (with their context, when the loader gave one). Retrieval
is exact (blockwise inner product, :func:`polyret.evaluation.search.top_k`) or through a FAISS index
(:class:`polyret.evaluation.search.FaissIndex`, HNSW by default) that is built once and kept on disk under
``cache_root / "faiss"``, keyed by the encoder fingerprint, a hash of the corpus and the index kind. Queries without
any relevant passage are skipped and counted (``details["queries_without_relevant"]``), as trec_eval does.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Literal

import numpy as np

from polyret.data.records import Query, RetrievalTask
from polyret.errors import UsageError
from polyret.evaluation import metrics
from polyret.evaluation.kinds import RETRIEVAL
from polyret.evaluation.result import TaskResult
from polyret.evaluation.search import FaissIndex, IndexKind, top_k
from polyret.evaluation.store import EmbeddingStore
from polyret.evaluation.trec import run_from_top_k, write_qrels, write_run

log = logging.getLogger(__name__)

SearchMode = Literal["exact", "faiss"]


def evaluate_beir(
    task: RetrievalTask,
    store: EmbeddingStore,
    *,
    k: int = 100,
    index: SearchMode = "exact",
    faiss_kind: IndexKind = "hnsw",
    cache_root: str | Path | None = None,
    batch_size: int = 32,
    show_progress: bool = False,
    run_file: str | Path | None = None,
) -> TaskResult:
    """Retrieve the top ``k`` passages per query and score ``ndcg@10`` (main), ``recall@<k>`` and ``mrr@10``.

    Args:
        task: queries, passages and qrels (``polyret.data.beir.load_beir``).
        store: the embedding store of the encoder under test.
        k: run depth (also the recall cut-off).
        index: ``"exact"`` search, or ``"faiss"`` through a cached FAISS index of kind ``faiss_kind``.
        cache_root: folder for FAISS indexes; ``None`` builds the index in memory only.
        batch_size / show_progress: passed to the encoder for texts not cached yet.
        run_file: also write the top-``k`` run there as a TREC run file (and the qrels beside it, ``.qrels``).
    """
    if k < 10:
        raise UsageError(f"k={k} is too small: nDCG@10 needs a run of at least 10 passages per query")
    judged = [q for q in task.queries if any(g > 0 for g in task.qrels.get(q.id, {}).values())]
    if not judged:
        raise UsageError(f"{task.name}: no query has a relevant passage in the qrels")
    embed = {"batch_size": batch_size, "show_progress": show_progress}
    q_vecs = store.embed([q.text for q in judged], "query", languages=[q.lang for q in judged], **embed)
    texts = [p.input_text(with_context=True) for p in task.passages]
    if index == "exact":
        p_vecs = store.embed(texts, "passage", languages=[p.lang for p in task.passages], **embed)
        found, indices = top_k(q_vecs, p_vecs, k)
    elif index == "faiss":
        faiss_index = cached_faiss_index(store, task, texts, faiss_kind, cache_root, embed)
        found, indices = faiss_index.search(q_vecs, min(k, len(texts)))
    else:
        raise UsageError(f"unknown search mode {index!r} (expected exact or faiss)")
    if run_file is not None:
        _write_trec(run_file, task, judged, found, indices)

    per_query: dict[str, dict[str, float]] = {"ndcg@10": {}, f"recall@{k}": {}, "mrr@10": {}}
    for query, row in zip(judged, indices, strict=True):
        relevant = {pid: grade for pid, grade in task.qrels[query.id].items() if grade > 0}
        gain_at_rank = {r: relevant[task.passages[j].id] for r, j in enumerate(row, start=1)
                        if j >= 0 and task.passages[j].id in relevant}
        ranks = list(gain_at_rank)
        per_query["ndcg@10"][query.id] = metrics.graded_ndcg_at_k(gain_at_rank, 10, relevant.values())
        per_query[f"recall@{k}"][query.id] = metrics.recall_at_k(ranks, k, len(relevant))
        per_query["mrr@10"][query.id] = metrics.reciprocal_rank_at_k(ranks, 10)
    scores = {name: metrics.mean(values.values()) for name, values in per_query.items()}
    details = {
        "n_queries": len(judged),
        "n_passages": len(task.passages),
        "queries_without_relevant": len(task.queries) - len(judged),
        "search": index if index == "exact" else f"faiss-{faiss_kind}",
        "k": k,
    }
    return TaskResult(task.name, RETRIEVAL.main_score, scores, per_query=per_query, details=details)


def _write_trec(
    run_file: str | Path, task: RetrievalTask, judged: list[Query], found: np.ndarray, indices: np.ndarray
) -> None:
    """The top-k run of the judged queries as a TREC run file, and their qrels beside it (``.qrels``)."""
    run = run_from_top_k([q.id for q in judged], [p.id for p in task.passages], found, indices)
    write_run(run_file, run, tag=task.name)
    write_qrels(Path(run_file).with_suffix(".qrels"), {q.id: task.qrels[q.id] for q in judged})


def corpus_hash(task: RetrievalTask, texts: list[str]) -> str:
    """A short sha256 of the passage ids and the texts encoded for them (any change gives a new index)."""
    digest = hashlib.sha256()
    for passage, text in zip(task.passages, texts, strict=True):
        digest.update(f"{passage.id}\0{text}\0".encode())
    return digest.hexdigest()[:24]


def cached_faiss_index(
    store: EmbeddingStore,
    task: RetrievalTask,
    texts: list[str],
    kind: IndexKind,
    cache_root: str | Path | None,
    embed_options: dict,
) -> FaissIndex:
    """The FAISS index of the passages: read from ``cache_root`` when built before, else built (and saved)."""
    path = None
    if cache_root is not None:
        path = Path(cache_root) / "faiss" / f"{store.fingerprint}-{corpus_hash(task, texts)}-{kind}.index"
        if path.exists():
            try:
                cached = FaissIndex.load(path, kind)
            except RuntimeError as exc:
                log.warning("rebuilding unreadable FAISS index %s (%s)", path, exc)
            else:
                dim = getattr(store, "dim", None)  # known once the queries are embedded (a plain store)
                if cached.index.ntotal == len(texts) and dim in (None, cached.index.d):
                    return cached
                log.warning("rebuilding FAISS index %s: it holds %d vectors of dimension %d, expected %d of %s",
                            path, cached.index.ntotal, cached.index.d, len(texts), dim or "the encoder's")
    built = FaissIndex(store.embed(texts, "passage", languages=[p.lang for p in task.passages], **embed_options), kind)
    if path is not None:
        built.save(path)
    return built
