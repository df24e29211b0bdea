"""Ranking metrics as small pure functions of the 1-based ranks of one query's relevant items.

``ranks`` lists where the relevant items landed in the ranking (any order; each rank once). ``n_relevant`` is the
number of relevant items the query has; it defaults to ``len(ranks)``, which is right when the whole pool is ranked
(as in LAReQA) and must be given when some relevant items were not retrieved (a cut-off run). The definitions are
those of trec_eval (``map``, ``recall_k``, ``recip_rank``, ``ndcg_cut_k``); the tests check them against
``pytrec_eval``. Relevance is binary except in :func:`graded_ndcg_at_k`, whose gain is the relevance grade itself
(trec_eval's linear gain, not ``2**grade - 1``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

Ranks = Sequence[int]


def average_precision(ranks: Ranks, n_relevant: int | None = None) -> float:
    """AP = (1 / R) * sum over relevant items ranked at r_1 < r_2 < ... of i / r_i, with R = ``n_relevant``.

    Over a ranking of the full pool this is LAReQA's mAP term (no cut-off, normalised by all relevant items).
    """
    total = _n_relevant(ranks, n_relevant)
    return sum(i / r for i, r in enumerate(sorted(ranks), start=1)) / total


def recall_at_k(ranks: Ranks, k: int, n_relevant: int | None = None) -> float:
    """Share of the relevant items ranked within the top ``k``."""
    return sum(1 for r in ranks if r <= k) / _n_relevant(ranks, n_relevant)


def reciprocal_rank_at_k(ranks: Ranks, k: int) -> float:
    """1 / (rank of the first relevant item) if it is within the top ``k``, else 0 (MRR@k per query)."""
    first = min(ranks, default=k + 1)
    return 1.0 / first if first <= k else 0.0


def ndcg_at_k(ranks: Ranks, k: int, n_relevant: int | None = None) -> float:
    """Binary nDCG@k: sum of 1 / log2(r + 1) over relevant ranks r <= k, divided by the ideal ranking's value."""
    return graded_ndcg_at_k(dict.fromkeys(ranks, 1), k, [1] * _n_relevant(ranks, n_relevant))


def graded_ndcg_at_k(gain_at_rank: Mapping[int, float], k: int, gains: Iterable[float]) -> float:
    """Graded nDCG@k (trec_eval ``ndcg_cut_k``): sum of grade / log2(r + 1) over retrieved ranks r <= k, divided by
    the same sum for the ideal ranking (every relevant grade of the query, best first).

    Args:
        gain_at_rank: 1-based rank -> grade of each relevant item that was retrieved.
        k: the cut-off.
        gains: the grades of all the query's relevant items, retrieved or not (each > 0).
    """
    ideal = sum(g / math.log2(i + 1) for i, g in enumerate(sorted(gains, reverse=True)[:k], start=1))
    if ideal <= 0:
        raise ValueError("a metric needs at least one relevant item (skip queries without any)")
    return sum(g / math.log2(r + 1) for r, g in gain_at_rank.items() if r <= k) / ideal


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; NaN for no values (so an empty setting is visible, never a silent 0)."""
    values = list(values)
    return sum(values) / len(values) if values else math.nan


def macro_average(values_by_group: Mapping[str, Iterable[float]]) -> float:
    """Mean of the per-group means (each group, e.g. a language, weighs the same)."""
    return mean(mean(values) for values in values_by_group.values())


def micro_average(values_by_group: Mapping[str, Iterable[float]]) -> float:
    """Mean over all values of all groups (each query weighs the same)."""
    return mean(value for values in values_by_group.values() for value in values)


def _n_relevant(ranks: Ranks, n_relevant: int | None) -> int:
    total = len(ranks) if n_relevant is None else n_relevant
    if total <= 0:
        raise ValueError("a metric needs at least one relevant item (skip queries without any)")
    if len(ranks) > total:
        raise ValueError(f"{len(ranks)} ranks given for only {total} relevant items")
    return total
