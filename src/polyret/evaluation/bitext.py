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

Rows may lack languages (a user's multi-way file): each pair is scored on the rows having both languages, the pool
holds every sentence present, and the bias is taken over the queries whose row has two or more translations.

Sentence matching is symmetric, so both sides are encoded with role ``"query"``, as for CLSD.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from polyret.data.records import ParallelCorpus
from polyret.errors import UsageError
from polyret.evaluation.bias import rank_spread
from polyret.evaluation.kinds import BITEXT
from polyret.evaluation.language_measures import PooledRanking, score_queries
from polyret.evaluation.metrics import average_precision, macro_average, mean
from polyret.evaluation.result import TaskResult
from polyret.evaluation.search import RelevantRanks, rank_relevant, top_k
from polyret.evaluation.store import EmbeddingStore

ROLE = "query"
TOP_K = 10
"""Cut-off of the field's bias measures in the pooled setting (as in LAReQA's)."""


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

    A corpus may lack some languages in some rows (``None`` cells, from a user's multi-way file): a pair is scored
    on the rows that have both of its languages (source and target sides alike), the pool holds every sentence
    present, and a sentence whose row has no other language is no pooled query (counted in
    ``details["pooled_queries_without_translation"]``). A pair without any shared row is left out and listed in
    ``details["pairs_without_rows"]``.

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
    present = present_rows(corpus)
    if len(corpus.languages) < 2 or len(corpus) == 0 or not any(len(rows) for rows in present.values()):
        raise UsageError(f"bitext evaluation of {corpus.name!r} needs rows in at least two languages")
    pairs = list(pairs) if pairs is not None else language_pairs(corpus.languages, pivot)
    stacked = store.embed(  # one call for every language: the encoder batches texts of similar length together
        [corpus.texts[lang][i] for lang, rows in present.items() for i in rows], ROLE,
        languages=[lang for lang, rows in present.items() for _ in rows], batch_size=batch_size,
        show_progress=show_progress,
    )
    ends = np.cumsum([len(rows) for rows in present.values()])
    vectors = dict(zip(present, np.split(stacked, ends[:-1]), strict=True))
    details = {"rows": len(corpus), "languages": corpus.languages,
               "sentences": {lang: len(rows) for lang, rows in present.items()}}
    result = TaskResult(task=name, main=BITEXT.main_score, scores={}, details=details)
    _add_pair_scores(result, corpus, present, vectors, pairs)
    _add_pooled_scores(result, corpus, present, vectors)
    return result


def present_rows(corpus: ParallelCorpus) -> dict[str, np.ndarray]:
    """Per language, the indices of the rows that have a sentence in it (every row for a complete corpus)."""
    return {
        lang: np.array([i for i, text in enumerate(corpus.texts[lang]) if text is not None], dtype=np.int64)
        for lang in corpus.languages
    }


def _add_pair_scores(
    result: TaskResult,
    corpus: ParallelCorpus,
    present: dict[str, np.ndarray],
    vectors: dict[str, np.ndarray],
    pairs: Sequence[tuple[str, str]],
) -> None:
    """P@1 per direction, its macro mean and the xsim error, the ``p@1`` matrix and per-row hits."""
    matrix: dict[str, dict[str, float]] = {}
    hits: dict[str, float] = {}
    empty: list[str] = []
    directions: dict[str, tuple[str, str]] = {}
    for direction in (d for a, b in pairs for d in ((a, b), (b, a))):
        other = directions.setdefault("-".join(direction), direction)
        if other != direction:  # ("en", "pt-br") and ("en-pt", "br"): one score key would drop hits of the other
            raise UsageError(f"bitext evaluation of {corpus.name!r}: directions {'→'.join(other)} and "
                             f"{'→'.join(direction)} share the score key {'-'.join(direction)!r}")
    for a, b in pairs:
        shared = np.intersect1d(present[a], present[b])
        if not len(shared):
            empty.append(f"{a}-{b}")
            continue
        at = {lang: np.searchsorted(present[lang], shared) for lang in (a, b)}
        for src, tgt in ((a, b), (b, a)):
            tgt_texts = [corpus.texts[tgt][i] for i in shared]
            correct = nearest_is_translation(vectors[src][at[src]], vectors[tgt][at[tgt]], tgt_texts)
            result.scores[f"{src}-{tgt}.p@1"] = matrix.setdefault(src, {})[tgt] = float(correct.mean())
            hits.update({f"{corpus.ids[row]}|{src}-{tgt}": float(ok) for row, ok in zip(shared, correct, strict=True)})
    if not matrix:
        raise UsageError(f"bitext evaluation of {corpus.name!r}: no row has both languages of any pair")
    result.scores["p@1"] = mean(v for row in matrix.values() for v in row.values())
    result.scores["xsim_error"] = 1.0 - result.scores["p@1"]
    result.matrices["p@1"] = matrix
    result.per_query["p@1"] = hits
    if empty:
        result.details["pairs_without_rows"] = empty


def _add_pooled_scores(
    result: TaskResult, corpus: ParallelCorpus, present: dict[str, np.ndarray], vectors: dict[str, np.ndarray]
) -> None:
    """``multi.map`` and (queries with two or more translations) the language bias over the pool of all sentences."""
    searched = pooled_ranks(present, vectors)
    pooled = {lang: found.ranks for lang, found in searched.items()}
    ap = {lang: {row: float(average_precision(r)) for row, r in ranks.items()} for lang, ranks in pooled.items()}
    ap = {lang: values for lang, values in ap.items() if values}
    result.scores["multi.map"] = macro_average({lang: values.values() for lang, values in ap.items()})
    result.per_query["multi.ap"] = {
        f"{corpus.ids[row]}|{lang}": v for lang, values in ap.items() for row, v in values.items()
    }
    by_language = {lang: {"map": mean(values.values())} for lang, values in ap.items()}
    spread = {lang: [rank_spread(r) for r in ranks.values() if len(r) > 1] for lang, ranks in pooled.items()}
    spread = {lang: values for lang, values in spread.items() if values}
    if spread:  # a rank spread needs at least two relevant items per query
        pool_size = sum(len(rows) for rows in present.values())
        result.scores["multi.bias"] = macro_average(spread)
        result.scores["multi.bias_norm"] = result.scores["multi.bias"] / (pool_size - 1)
        for lang, values in spread.items():
            by_language[lang]["bias"] = mean(values)
    _add_language_measures(result, corpus, searched, by_language)
    result.details["multi_by_lang"] = by_language
    queries = sum(len(values) for values in ap.values())
    result.details["pooled_queries_without_translation"] = sum(len(r) for r in present.values()) - queries


def nearest_is_translation(src: np.ndarray, tgt: np.ndarray, tgt_texts: Sequence[str]) -> np.ndarray:
    """Per source row ``i``: whether its nearest target sentence is (a copy of) the translation ``tgt_texts[i]``."""
    _, nearest = top_k(src, tgt, 1)
    return np.array([tgt_texts[j] == tgt_texts[i] for i, j in enumerate(nearest[:, 0])], dtype=bool)


@dataclass(slots=True)
class PooledQueries:
    """The pooled search of the sentences of one language.

    Attributes:
        ranks: row -> 1-based ranks of its translations among all other sentences.
        view: the same ranking as the field's bias measures read it (``None`` when no row has a translation).
    """

    ranks: dict[int, np.ndarray]
    view: PooledRanking | None


def pooled_ranks(present: dict[str, np.ndarray], vectors: dict[str, np.ndarray]) -> dict[str, PooledQueries]:
    """Per query language, the pooled search of each row with a translation: the ranks of its translations among all
    other sentences, and the top :data:`TOP_K` other sentences.

    The pool is every sentence present in every language; the query itself is ranked along with its translations
    and then taken out (each translation ranked behind the query moves up by one, and the query leaves its top
    list), which is exact under the search tie rule.

    Args:
        present: language -> the rows that have a sentence in it (:func:`present_rows`).
        vectors: language -> the vectors of those sentences, in the same order.
    """
    languages = sorted(present)
    starts = dict(zip(languages, np.cumsum([0] + [len(present[lang]) for lang in languages]), strict=False))
    position = {(lang, int(row)): int(starts[lang]) + k for lang in languages for k, row in enumerate(present[lang])}
    pool = np.concatenate([vectors[lang] for lang in languages])
    pool_langs = np.repeat(languages, [len(present[lang]) for lang in languages])
    searched: dict[str, PooledQueries] = {}
    for lang in languages:
        rows, relevant = [], []
        for k, row in enumerate(present[lang].tolist()):
            others = [position[o, row] for o in languages if o != lang and (o, row) in position]
            if others:
                rows.append(k)
                relevant.append(np.array([*others, int(starts[lang]) + k]))
        if not rows:
            searched[lang] = PooledQueries({}, None)
            continue
        found = rank_relevant(vectors[lang][rows], pool, relevant, top=TOP_K + 1)
        ranks = [r[:-1] - (r[-1] < r[:-1]) for r in found.pool]
        width = min(TOP_K, len(pool) - 1)
        top = np.stack([best[best != rel[-1]][:width] for best, rel in zip(found.top_indices, relevant, strict=True)])
        view = PooledRanking.from_ranks(RelevantRanks(ranks, ranks, top), [rel[:-1] for rel in relevant], pool_langs,
                                        [lang] * len(rows), TOP_K)
        searched[lang] = PooledQueries(dict(zip(present[lang][rows].tolist(), ranks, strict=True)), view)
    return searched


def _add_language_measures(
    result: TaskResult, corpus: ParallelCorpus, searched: dict[str, PooledQueries], by_language: dict[str, dict]
) -> None:
    """The field's bias measures of the pooled setting (:func:`~polyret.evaluation.language_measures.score_queries`):
    macro averages over query languages, per-language means, per-query values and the target-recall matrix."""
    values: dict[str, dict[str, list[float]]] = {}
    for lang, found in searched.items():
        if found.view is None:
            continue
        ids = [f"{corpus.ids[row]}|{lang}" for row in found.ranks]
        scored = score_queries(found.view, ids, TOP_K)
        for name, by_lang in scored.by_language.items():
            values.setdefault(name, {}).update(by_lang)
        for key, table in scored.per_query.items():
            result.per_query.setdefault(key, {}).update(table)
        result.matrices.setdefault(f"target_r@{TOP_K}", {}).update(scored.target_recall)
    for name, by_lang in values.items():
        result.scores[f"multi.{name}"] = macro_average(by_lang)
        for lang, items in by_lang.items():
            by_language.setdefault(lang, {})[name] = mean(items)


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
    return TaskResult(task=name, main=BITEXT.main_score, scores=scores, matrices={"p@1": matrix}, per_query=per_query,
                      details=details)
