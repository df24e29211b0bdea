"""The field's language-bias measures of a pooled multilingual ranking, vectorised over queries.

Beside polyret's rank spread (:mod:`polyret.evaluation.bias`) the literature reads language bias in three more ways,
all computed here from what a pooled search already yields (the ranks of each query's relevant items and the
indices of its top ``k``), for every query at once:

- **PEER@k** (Yang, Jänich, Mayfield & Lawrie, SIGIR 2024, "Language Fairness in Multilingual Information
  Retrieval"; reference implementation ``peer-measure`` 0.0.1): per relevance level, a Kruskal–Wallis test of
  whether the items of each language have the same expected rank; the query's score is the weighted sum of the
  levels' p-values (1: no evidence of unequal treatment). :func:`peer_at_k`.
- **Language preference at k**: the share of the top ``k`` in the query's language
  (:func:`polyret.evaluation.bias.own_language_share`) against that share among the query's relevant items; their
  difference is :func:`preference_gap`.
- **Target-language recall@k**: recall@k counted over the relevant items of one target language at a time
  (:func:`target_language_recall_at_k`), so a model that finds its own language's answer but not the others' shows.

Example:
    >>> view = PooledRanking.from_ranks(ranks, relevant, passage_languages, query_languages, k=10)
    >>> peer_at_k(view, {0: 0.5, 1: 0.5})       # (n_queries,) PEER@10
    >>> target_language_recall_at_k(view)        # (n_queries, n_languages), NaN where no relevant item

Relations:
    Ranks and top indices come from :func:`polyret.evaluation.search.rank_relevant` (one tie rule for both); the
    LAReQA and bitext (pooled) evaluators group the per-query values by query language with :func:`score_queries`
    and macro-average them, like every other ``multi.*`` score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

from polyret.evaluation.search import RelevantRanks

PER_QUERY_MEASURES = ("peer", "pref_gap", "other_r")
"""Measures whose per-query values a :class:`LanguageScores` keeps (for paired significance tests)."""
PEER_WEIGHTS: dict[int, float] = {0: 0.5, 1: 0.5}
"""Equal weight on the non-relevant (0) and relevant (1) level, polyret's default for binary relevance."""


@dataclass(frozen=True, slots=True)
class PooledRanking:
    """What the language measures read of a pooled ranking of ``n`` queries, languages coded ``0..L-1``.

    Attributes:
        languages: the language of each code.
        query_languages: ``(n,)`` code of each query's language.
        top_languages: ``(n, k)`` code of the language of each query's ``k`` best items, best first.
        top_relevant: ``(n, k)`` whether each of those items is relevant to the query.
        relevant_query: ``(m,)`` the query of each relevant item (all queries' relevant items, concatenated).
        relevant_languages: ``(m,)`` code of each relevant item's language.
        relevant_ranks: ``(m,)`` its 1-based rank in the pool.
    """

    languages: list[str]
    query_languages: np.ndarray
    top_languages: np.ndarray
    top_relevant: np.ndarray
    relevant_query: np.ndarray
    relevant_languages: np.ndarray
    relevant_ranks: np.ndarray

    @property
    def k(self) -> int:
        """The cut-off (the pool size when the pool is smaller than the ``k`` asked for)."""
        return self.top_languages.shape[1]

    @classmethod
    def from_ranks(
        cls,
        ranks: RelevantRanks,
        relevant: Sequence[np.ndarray],
        passage_languages: Sequence[str] | np.ndarray,
        query_languages: Sequence[str],
        k: int,
    ) -> PooledRanking:
        """Build the view from :func:`~polyret.evaluation.search.rank_relevant`'s output (asked with ``top >= k``).

        Args:
            ranks: the pooled ranks of each query's relevant items and its top passage indices.
            relevant: per query, the pool indices of its relevant items (aligned with ``ranks.pool``).
            passage_languages: the language of each pool item.
            query_languages: the language of each query.
            k: the cut-off (capped at the number of top indices there are).
        """
        if not relevant:
            raise ValueError("the language measures need at least one query")
        languages = sorted(set(np.asarray(passage_languages).tolist()) | set(query_languages))
        code = {lang: i for i, lang in enumerate(languages)}
        passage_codes = np.array([code[lang] for lang in np.asarray(passage_languages).tolist()], dtype=np.int64)
        top = ranks.top_indices[:, :k]
        query_of = np.repeat(np.arange(len(relevant)), [len(r) for r in relevant])
        flat_relevant = np.concatenate(relevant).astype(np.int64)
        flat_ranks = np.concatenate(ranks.pool).astype(np.int64)
        top_relevant = np.zeros(top.shape, dtype=bool)
        seen = flat_ranks <= top.shape[1]  # ranks and top indices share one tie rule: rank r sits at column r - 1
        top_relevant[query_of[seen], flat_ranks[seen] - 1] = True
        return cls(
            languages=languages,
            query_languages=np.array([code[lang] for lang in query_languages], dtype=np.int64),
            top_languages=passage_codes[top],
            top_relevant=top_relevant,
            relevant_query=query_of,
            relevant_languages=passage_codes[flat_relevant],
            relevant_ranks=flat_ranks,
        )


def peer_at_k(view: PooledRanking, weights: Mapping[int, float] = PEER_WEIGHTS) -> np.ndarray:
    """PEER@k per query: ``w_0 * p_0 + w_1 * p_1``, as ``peer-measure`` 0.0.1 computes it for binary relevance.

    For each relevance level (0: the non-relevant items of the top ``k``; 1: all the query's relevant items), the
    level's items are grouped by language, each valued by its 1-based position in the ranking; a relevant item
    ranked below ``k`` takes the value ``M + (U + 1) / 2`` (``M`` the query's relevant items in the top ``k`` plus
    ``U``, those below it), as the reference implementation does. ``p_l`` is the Kruskal–Wallis p-value of the
    groups, ``chi2.sf(H, g - 1)`` with ``H = (N - 1) * sum_j n_j (mean_j - mean)^2 / sum_i (x_i - mean)^2`` over the
    ``N`` values in ``g`` non-empty groups. ``p_l = 1`` when the level has fewer than two languages or none of its
    items in the top ``k``, and (where the reference divides 0 by 0 and returns NaN) when all its values are equal.

    With one relevant item per language (parallel benchmarks: XQuAD-R, bitext) every group of level 1 is a single
    value, so ``H = N - 1``: ``p_1`` is ``chi2.sf(N - 1, N - 1)`` once any relevant item reaches the top ``k`` and 1
    otherwise, whatever the order. Only level 0 then tells rankings apart.

    Args:
        view: the pooled ranking.
        weights: weight of level 0 and of level 1 (the reference requires them to sum to 1).
    """
    if set(weights) - {0, 1}:
        raise ValueError(f"PEER weights are for relevance levels 0 and 1, got {sorted(weights)}")
    total = np.zeros(len(view.query_languages))
    for level, weight in weights.items():
        if weight:
            p, present = _level_p(view, level)
            total += weight * np.where(present, p, 0.0)
    return total


def target_language_recall_at_k(view: PooledRanking) -> np.ndarray:
    """``(n_queries, n_languages)``: per query and target language T, the share of its relevant items in T that are
    ranked within the top ``k`` of the pooled ranking; NaN where the query has no relevant item in T."""
    shape = (len(view.query_languages), len(view.languages))
    cell = view.relevant_query * shape[1] + view.relevant_languages
    relevant = np.bincount(cell, minlength=shape[0] * shape[1]).reshape(shape)
    found = np.bincount(cell, weights=view.relevant_ranks <= view.k, minlength=relevant.size).reshape(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(relevant > 0, found / np.maximum(relevant, 1), np.nan)


def preference_gap(view: PooledRanking) -> np.ndarray:
    """Per query, the share of the top ``k`` in the query's language minus that share among its relevant items: 0
    when the ranking holds the query's language as often as the answers do, positive when it prefers it."""
    top_share = (view.top_languages == view.query_languages[:, None]).mean(axis=1)
    own = view.relevant_languages == view.query_languages[view.relevant_query]
    n = len(view.query_languages)
    return top_share - np.bincount(view.relevant_query, weights=own, minlength=n) / np.bincount(
        view.relevant_query, minlength=n)


def query_measures(view: PooledRanking, k: int) -> dict[str, np.ndarray]:
    """Every per-query measure of this module, named as the ``multi.*`` metrics of a :class:`TaskResult` (without
    ``multi.``; ``k`` names the cut-off, which the view caps at the pool size).

    ``peer@k`` (:data:`PEER_WEIGHTS`), its levels alone ``peer_rel@k`` (weights ``{1: 1}``) and ``peer_nonrel@k``
    (``{0: 1}``), ``pref_gap@k`` (:func:`preference_gap`), and from :func:`target_language_recall_at_k` the recall of
    the query's own language ``own_r@k`` and the mean over the other languages ``other_r@k``.
    """
    own, other = own_and_other(target_language_recall_at_k(view), view.query_languages)
    return {
        f"peer@{k}": peer_at_k(view),
        f"peer_rel@{k}": peer_at_k(view, {1: 1.0}),
        f"peer_nonrel@{k}": peer_at_k(view, {0: 1.0}),
        f"pref_gap@{k}": preference_gap(view),
        f"own_r@{k}": own,
        f"other_r@{k}": other,
    }


def own_and_other(recall: np.ndarray, query_languages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per query, the target-language recall of its own language and the mean over the other target languages it
    has relevant items in (NaN where there are none)."""
    rows = np.arange(len(query_languages))
    own = recall[rows, query_languages]
    others = recall.copy()
    others[rows, query_languages] = np.nan
    counted = np.isfinite(others).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return own, np.where(counted > 0, np.nansum(others, axis=1) / np.maximum(counted, 1), np.nan)


@dataclass(slots=True)
class LanguageScores:
    """Every measure of :func:`query_measures` arranged as a :class:`TaskResult` holds them.

    Attributes:
        by_language: measure -> query language -> the values of its queries (NaN values left out).
        per_query: ``"multi.<measure>"`` -> query id -> value, for the measures of :data:`PER_QUERY_MEASURES`.
        target_recall: query language -> target language -> mean target-language recall@k over the queries with a
            relevant item in the target language.
    """

    by_language: dict[str, dict[str, list[float]]]
    per_query: dict[str, dict[str, float]]
    target_recall: dict[str, dict[str, float]]


def score_queries(view: PooledRanking, query_ids: Sequence[str], k: int) -> LanguageScores:
    """Compute every measure of every query of ``view`` (ids ``query_ids``, in order) and group them by query language;
    ``k`` names the cut-off in the measure names."""
    codes, ids = view.query_languages, np.asarray(query_ids, dtype=object)
    scores = LanguageScores({}, {}, {})
    for name, values in query_measures(view, k).items():
        known = ~np.isnan(values)
        if not known.any():
            continue
        scores.by_language[name] = {view.languages[code]: values[known & (codes == code)].tolist()
                                    for code in np.unique(codes[known]).tolist()}
        if name.split("@")[0] in PER_QUERY_MEASURES:
            scores.per_query[f"multi.{name}"] = dict(zip(ids[known].tolist(), values[known].tolist(), strict=True))
    recall = target_language_recall_at_k(view)
    for code in np.unique(codes).tolist():
        rows = recall[codes == code]
        scores.target_recall[view.languages[code]] = {
            target: float(np.nanmean(column))
            for target, column in zip(view.languages, rows.T, strict=True) if np.isfinite(column).any()
        }
    return scores


def _level_p(view: PooledRanking, level: int) -> tuple[np.ndarray, np.ndarray]:
    """Kruskal–Wallis p-value of one relevance level per query (1 where there is nothing to test), and whether the
    query has that level at all (level 0, the non-relevant items of the top ``k``, always counts)."""
    n, k = view.top_relevant.shape
    in_top = view.top_relevant == bool(level)
    positions = np.arange(1, k + 1, dtype=np.float64)
    rows, cols = np.nonzero(in_top)
    langs = view.top_languages[rows, cols]
    unseen = np.zeros((n, len(view.languages)))
    if level:
        below = view.relevant_ranks > k
        np.add.at(unseen, (view.relevant_query[below], view.relevant_languages[below]), 1.0)
    n_unseen = unseen.sum(axis=1)
    n_top = in_top.sum(axis=1)
    unseen_value = n_top + n_unseen + (n_unseen + 1) / 2  # peer-measure 0.0.1's value of an unretrieved item
    counts, sums = unseen.copy(), unseen * unseen_value[:, None]
    np.add.at(counts, (rows, langs), 1.0)
    np.add.at(sums, (rows, langs), positions[cols])
    n_values = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums.sum(axis=1) / n_values
        between = np.nansum(counts * (sums / counts - mean[:, None]) ** 2, axis=1)
        total = np.where(in_top, (positions - mean[:, None]) ** 2, 0.0).sum(axis=1)
        total += n_unseen * (unseen_value - mean) ** 2
        h = (n_values - 1) * between / total
    groups = (counts > 0).sum(axis=1)
    testable = (groups >= 2) & (n_top > 0) & (total > 0)
    p = np.where(testable, chi2.sf(np.where(testable, h, 0.0), np.maximum(groups - 1, 1)), 1.0)
    return p, np.ones(n, dtype=bool) if level == 0 else n_top + n_unseen > 0
