"""Bitext retrieval on parallel corpora (NTREX-128, TICO-19, Tatoeba): the domain-shift checks.

Two settings:

- **Pairs.** For each language pair and direction, every source sentence retrieves its nearest neighbour among all
  target sentences; precision at 1 (``"<src>-<tgt>.p@1"``) and its macro mean ``p@1`` (main); the xsim error rate
  of LASER's Tatoeba benchmark is ``1 - p@1`` (plain cosine, no margin scoring). A neighbour whose text equals the
  gold translation counts as correct, so duplicated sentences (frequent in Tatoeba) are not penalised.
- **Pooled (multilingual).** Every sentence of every language is a query; its translations in all other languages
  are its relevant items; the pool is every sentence of every language except the query itself. ``multi.map``
  (macro over query languages) and, with three or more languages, the language bias ``multi.bias`` (mean max - min
  rank of the relevant items, :func:`polyret.evaluation.bias.rank_spread`) and ``multi.bias_norm`` (divided by the
  pool size).

Sentence matching is symmetric, so both sides are encoded with role ``"query"``, as for CLSD.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

from polyret.data.records import ParallelCorpus
from polyret.errors import UsageError
from polyret.evaluation.bias import rank_spread
from polyret.evaluation.metrics import average_precision, macro_average, mean
from polyret.evaluation.result import TaskResult
from polyret.evaluation.search import rank_relevant, top_k
from polyret.evaluation.store import EmbeddingStore

ROLE = "query"


def language_pairs(languages: Sequence[str], pivot: str | None = None) -> list[tuple[str, str]]:
    """Unordered pairs to evaluate: every pair of ``languages``, or only ``pivot``–X pairs when ``pivot`` is set."""
    if pivot is None:
        return list(combinations(sorted(languages), 2))
    if pivot not in languages:
        raise UsageError(f"pivot language {pivot!r} is not among {', '.join(sorted(languages))}")
    return [(pivot, lang) for lang in sorted(languages) if lang != pivot]


def evaluate_bitext(
    corpus: ParallelCorpus,
    store: EmbeddingStore,
    *,
    name: str,
    pairs: Sequence[tuple[str, str]] | None = None,
    pivot: str | None = None,
    batch_size: int = 32,
    show_progress: bool = False,
) -> TaskResult:
    """P@1 both ways for each language pair, plus the pooled multilingual mAP and language bias.

    Args:
        corpus: the aligned sentences (restrict languages or rows beforehand with ``corpus.select``).
        store: an :class:`~polyret.evaluation.store.EmbeddingStore`.
        name: the task name (e.g. ``"ntrex128"``).
        pairs: unordered language pairs, each evaluated in both directions; by default from :func:`language_pairs`.
        pivot: with ``pairs`` unset, evaluate only ``pivot``–X pairs (e.g. ``"en"``) instead of every pair.
        batch_size / show_progress: passed to the encoder for texts not cached yet.

    Returns:
        A :class:`TaskResult`; ``matrices["p@1"][src][tgt]``; ``per_query["p@1"]["<row id>|<src>-<tgt>"]`` in {0, 1}
        and ``per_query["multi.ap"]["<row id>|<lang>"]``.
    """
    if len(corpus.languages) < 2 or len(corpus) == 0:
        raise UsageError(f"bitext evaluation of {corpus.name!r} needs rows in at least two languages")
    pairs = list(pairs) if pairs is not None else language_pairs(corpus.languages, pivot)
    vectors = {
        lang: store.embed(corpus.texts[lang], ROLE, batch_size=batch_size, show_progress=show_progress)
        for lang in corpus.languages
    }
    result = TaskResult(task=name, main="p@1", scores={}, details={"rows": len(corpus), "languages": corpus.languages})
    _add_pair_scores(result, corpus, vectors, pairs)
    _add_pooled_scores(result, corpus, vectors)
    return result


def _add_pair_scores(
    result: TaskResult, corpus: ParallelCorpus, vectors: dict[str, np.ndarray], pairs: Sequence[tuple[str, str]]
) -> None:
    """P@1 per direction, its macro mean and the xsim error, the ``p@1`` matrix and per-row hits."""
    matrix: dict[str, dict[str, float]] = {}
    hits: dict[str, float] = {}
    for a, b in pairs:
        for src, tgt in ((a, b), (b, a)):
            correct = nearest_is_translation(vectors[src], vectors[tgt], corpus.texts[tgt])
            result.scores[f"{src}-{tgt}.p@1"] = matrix.setdefault(src, {})[tgt] = float(correct.mean())
            hits.update({f"{row}|{src}-{tgt}": float(ok) for row, ok in zip(corpus.ids, correct, strict=True)})
    result.scores["p@1"] = mean(v for row in matrix.values() for v in row.values())
    result.scores["xsim_error"] = 1.0 - result.scores["p@1"]
    result.matrices["p@1"] = matrix
    result.per_query["p@1"] = hits


def _add_pooled_scores(result: TaskResult, corpus: ParallelCorpus, vectors: dict[str, np.ndarray]) -> None:
    """``multi.map`` and (three or more languages) the language bias over the pool of all sentences."""
    pooled = pooled_ranks(corpus, vectors)
    ap = {lang: [float(average_precision(r)) for r in ranks] for lang, ranks in pooled.items()}
    result.scores["multi.map"] = macro_average(ap)
    result.per_query["multi.ap"] = {
        f"{row}|{lang}": v for lang, values in ap.items() for row, v in zip(corpus.ids, values, strict=True)
    }
    by_language = {lang: {"map": mean(ap[lang])} for lang in pooled}
    if len(corpus.languages) > 2:  # a rank spread needs at least two relevant items per query
        spread = {lang: [rank_spread(r) for r in ranks] for lang, ranks in pooled.items()}
        result.scores["multi.bias"] = macro_average(spread)
        result.scores["multi.bias_norm"] = result.scores["multi.bias"] / (len(corpus) * len(corpus.languages) - 1)
        for lang in pooled:
            by_language[lang]["bias"] = mean(spread[lang])
    result.details["multi_by_lang"] = by_language


def nearest_is_translation(src: np.ndarray, tgt: np.ndarray, tgt_texts: Sequence[str]) -> np.ndarray:
    """Per source row ``i``: whether its nearest target sentence is (a copy of) the translation ``tgt_texts[i]``."""
    _, nearest = top_k(src, tgt, 1)
    return np.array([tgt_texts[j] == tgt_texts[i] for i, j in enumerate(nearest[:, 0])], dtype=bool)


def pooled_ranks(corpus: ParallelCorpus, vectors: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Per query language, per row: 1-based ranks of the row's translations in the pool of all other sentences.

    The pool is every sentence of every language; the query itself is ranked along with its translations and then
    taken out (each translation ranked behind the query moves up by one), which is exact under the search tie rule.
    """
    languages = corpus.languages
    n = len(corpus)
    pool = np.concatenate([vectors[lang] for lang in languages])
    ranks: dict[str, list[np.ndarray]] = {}
    for li, lang in enumerate(languages):
        others = [lj * n for lj in range(len(languages)) if lj != li]
        relevant = [np.array([*(o + row for o in others), li * n + row]) for row in range(n)]
        found = rank_relevant(vectors[lang], pool, relevant).pool
        ranks[lang] = [r[:-1] - (r[-1] < r[:-1]) for r in found]
    return ranks


def evaluate_bitext_corpora(
    corpora: Sequence[ParallelCorpus],
    store: EmbeddingStore,
    *,
    name: str,
    batch_size: int = 32,
    show_progress: bool = False,
) -> TaskResult:
    """One task over several corpora evaluated one by one (Tatoeba: one two-language corpus per X–eng pair).

    ``p@1`` is the macro mean over every direction of every corpus and ``multi.map`` the mean over corpora (their
    pools stay separate); ``matrices`` and direction scores are merged, and ``per_query`` keys are prefixed with the
    corpus name (``"tatoeba:deu-eng|<row id>|de-en"``).
    """
    if not corpora:
        raise UsageError(f"{name}: no corpora to evaluate")
    parts = [
        evaluate_bitext(corpus, store, name=corpus.name, batch_size=batch_size, show_progress=show_progress)
        for corpus in corpora
    ]
    scores: dict[str, float] = {}
    matrix: dict[str, dict[str, float]] = {}
    per_query: dict[str, dict[str, float]] = {}
    for part in parts:
        for src, row in part.matrices["p@1"].items():
            for tgt, value in row.items():
                scores[f"{src}-{tgt}.p@1"] = value
                matrix.setdefault(src, {})[tgt] = value
        for key, values in part.per_query.items():
            per_query.setdefault(key, {}).update({f"{part.task}|{qid}": v for qid, v in values.items()})
    scores["p@1"] = mean(v for row in matrix.values() for v in row.values())
    scores["xsim_error"] = 1.0 - scores["p@1"]
    scores["multi.map"] = mean(part.scores["multi.map"] for part in parts)
    details = {"corpora": {part.task: {"rows": part.details["rows"], **part.scores} for part in parts}}
    return TaskResult(task=name, main="p@1", scores=scores, matrices={"p@1": matrix}, per_query=per_query,
                      details=details)
