"""LAReQA evaluation (Roy et al. 2020) with the settings of Elmahdy et al. 2024: multilingual, X-X and X-Y.

Protocol: queries are encoded as queries; every candidate sentence of every language is encoded as a passage
together with its paragraph (``Passage.input_text(with_context)``); the relevant items of a query are its qrels.
Each query is scored once against the pooled candidates of all languages, and

- **multilingual** (``multi.*``): ranks in the whole pool. ``multi.map`` is the macro average over query languages
  of the mean AP (Elmahdy et al.); ``multi.map_all`` the mean over all queries (LAReQA's number). Also R@10, MRR@10,
  nDCG@10, the language bias (rank spread and its pool-normalised form) and the own-language share of the top 10
  against that of the relevant items.
- **monolingual X-X** (``mono.*``) and **cross-lingual X-Y** (``cross.*``): ranks within the candidates of one
  language (restricting the pool keeps the relative order, so no second search is needed). The relevant items are
  the query's relevant items in that language; a (query, pool language) setting without any is skipped and counted
  (MLQA-R). Scores are means per language pair, then macro averages over the X-X pairs or the ordered X≠Y pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from polyret.data.records import Query, RetrievalTask
from polyret.errors import DataError
from polyret.evaluation import metrics
from polyret.evaluation.bias import normalised_rank_spread, own_language_share, rank_spread
from polyret.evaluation.kinds import QA
from polyret.evaluation.language_measures import PooledRanking, score_queries
from polyret.evaluation.result import TaskResult
from polyret.evaluation.search import RelevantRanks, rank_relevant
from polyret.evaluation.store import EmbeddingStore

TOP_K = 10

Metric = Callable[[list[int]], float]

MULTI_METRICS: dict[str, Metric] = {
    "map": metrics.average_precision,
    "r@10": partial(metrics.recall_at_k, k=10),
    "mrr@10": partial(metrics.reciprocal_rank_at_k, k=10),
    "ndcg@10": partial(metrics.ndcg_at_k, k=10),
}
PAIR_METRICS: dict[str, Metric] = {
    "map": metrics.average_precision,
    "r@1": partial(metrics.recall_at_k, k=1),
    "mrr@10": MULTI_METRICS["mrr@10"],
    "ndcg@10": MULTI_METRICS["ndcg@10"],
}
SHARE_KEY = f"own_lang_share@{TOP_K}"
RELEVANT_SHARE_KEY = "relevant_own_lang_share"
TARGET_RECALL_KEY = f"target_r@{TOP_K}"


def evaluate_lareqa(
    task: RetrievalTask,
    store: EmbeddingStore,
    *,
    with_context: bool = True,
    batch_size: int = 32,
    show_progress: bool = False,
) -> TaskResult:
    """Score ``store``'s encoder on a LAReQA task (XQuAD-R, MLQA-R) in every setting from one encoding pass.

    Raises:
        DataError: a qrel names a passage that is not in the candidate pool.
    """
    relevant = _relevant_indices(task)
    judged = [i for i, rel in enumerate(relevant) if len(rel)]
    queries = [task.queries[i] for i in judged]
    q_vecs = store.embed([q.text for q in queries], "query", languages=[q.lang for q in queries],
                         batch_size=batch_size, show_progress=show_progress)
    p_vecs = store.embed(
        [p.input_text(with_context) for p in task.passages],
        "passage",
        languages=[p.lang for p in task.passages],
        batch_size=batch_size,
        show_progress=show_progress,
    )
    p_langs = np.array([p.lang for p in task.passages])
    ranks = rank_relevant(q_vecs, p_vecs, [relevant[i] for i in judged], column_groups=p_langs, top=TOP_K)

    found = _collect(queries, [relevant[i] for i in judged], ranks, p_langs, task.passage_languages)
    view = PooledRanking.from_ranks(ranks, [relevant[i] for i in judged], p_langs, [q.lang for q in queries], TOP_K)
    language_scores = score_queries(view, [q.id for q in queries], TOP_K)
    found.multi.update(language_scores.by_language)
    found.per_query.update(language_scores.per_query)
    matrices = {TARGET_RECALL_KEY: language_scores.target_recall}
    scores = {f"multi.{name}": metrics.macro_average(by_lang) for name, by_lang in found.multi.items()}
    scores["multi.map_all"] = metrics.micro_average(found.multi["map"])
    scores[f"multi.pref_ratio@{TOP_K}"] = scores[f"multi.{SHARE_KEY}"] / scores[f"multi.{RELEVANT_SHARE_KEY}"]
    for name, by_pair in found.pairs.items():
        pair_means = {pair: metrics.mean(values) for pair, values in sorted(by_pair.items())}
        scores[f"mono.{name}"] = metrics.mean(v for (ql, pl), v in pair_means.items() if ql == pl)
        scores[f"cross.{name}"] = metrics.mean(v for (ql, pl), v in pair_means.items() if ql != pl)
        matrices[name] = {}
        for (ql, pl), value in pair_means.items():
            matrices[name].setdefault(ql, {})[pl] = value
    details = {
        "multi_by_lang": {
            lang: {name: metrics.mean(by_lang[lang]) for name, by_lang in found.multi.items() if lang in by_lang}
            for lang in sorted({q.lang for q in queries})
        },
        "n_queries": len(queries),
        "n_passages": len(task.passages),
        "queries_without_relevant": len(task.queries) - len(judged),
        "skipped_settings": sum(found.skipped.values()),
        "skipped_settings_by_pair": dict(sorted(found.skipped.items())),
        "bias_skipped_queries": len(queries) - len(found.per_query["multi.bias"]),
        "with_context": with_context,
    }
    for values in details["multi_by_lang"].values():
        values[f"pref_ratio@{TOP_K}"] = values[SHARE_KEY] / values[RELEVANT_SHARE_KEY]
    return TaskResult(task.name, QA.main_score, scores, matrices, found.per_query, details)


@dataclass(slots=True)
class _Collected:
    """Per-query values of every setting, grouped for averaging.

    Attributes:
        multi: metric -> query language -> values (multilingual setting).
        pairs: metric -> (query language, pool language) -> values (X-X and X-Y settings).
        per_query: ``TaskResult.per_query``.
        skipped: ``"<query lang>-<pool lang>"`` -> settings skipped for want of a relevant item.
    """

    multi: dict[str, dict[str, list[float]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    pairs: dict[str, dict[tuple[str, str], list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    per_query: dict[str, dict[str, float]] = field(
        default_factory=lambda: {"multi.ap": {}, "mono.ap": {}, "cross.ap": {}, "multi.bias": {}}
    )
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _collect(
    queries: list[Query],
    relevant: list[np.ndarray],
    ranks: RelevantRanks,
    p_langs: np.ndarray,
    pool_langs: list[str],
) -> _Collected:
    """Compute every metric of every query in the multilingual pool and in each single-language pool."""
    found = _Collected()
    for n, query in enumerate(queries):
        rel_langs = p_langs[relevant[n]].tolist()
        pool_ranks = ranks.pool[n].tolist()
        multi = {name: metric(pool_ranks) for name, metric in MULTI_METRICS.items()}
        multi[SHARE_KEY] = own_language_share(p_langs[ranks.top_indices[n]].tolist(), query.lang)
        multi[RELEVANT_SHARE_KEY] = own_language_share(rel_langs, query.lang)
        if len(pool_ranks) > 1:
            multi["bias"] = rank_spread(pool_ranks)
            multi["bias_norm"] = normalised_rank_spread(pool_ranks, len(p_langs))
            found.per_query["multi.bias"][query.id] = multi["bias"]
        for name, value in multi.items():
            found.multi[name][query.lang].append(value)
        found.per_query["multi.ap"][query.id] = multi["map"]

        by_lang: dict[str, list[int]] = defaultdict(list)
        for lang, rank in zip(rel_langs, ranks.within_group[n].tolist(), strict=True):
            by_lang[lang].append(rank)
        for pool_lang in pool_langs:
            if pool_lang not in by_lang:
                found.skipped[f"{query.lang}-{pool_lang}"] += 1
                continue
            for name, metric in PAIR_METRICS.items():
                found.pairs[name][query.lang, pool_lang].append(metric(by_lang[pool_lang]))
            setting = "mono" if pool_lang == query.lang else "cross"
            found.per_query[f"{setting}.ap"][f"{query.id}@{pool_lang}"] = found.pairs["map"][query.lang, pool_lang][-1]
    return found


def _relevant_indices(task: RetrievalTask) -> list[np.ndarray]:
    """Per query, the pool indices of its relevant passages (grade > 0), in pool order."""
    position = {p.id: i for i, p in enumerate(task.passages)}
    relevant = []
    for query in task.queries:
        judged = task.qrels.get(query.id, {})
        unknown = [pid for pid in judged if pid not in position]
        if unknown:
            raise DataError(
                task.name,
                f"qrels name {len(unknown)} passage(s) not in the candidate pool, e.g. {unknown[0]!r}",
                record=query.id,
                expected="every judged passage id among the task's passages",
            )
        relevant.append(np.array(sorted(position[pid] for pid, grade in judged.items() if grade > 0), dtype=np.int64))
    return relevant
