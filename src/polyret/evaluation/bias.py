"""Language bias of a multilingual ranking.

Two views, both on the pooled (multilingual) ranking of a query:

- **Rank spread** (Elmahdy et al. 2024, after Huang et al. 2023): ``max(r) - min(r)`` over the 1-based ranks ``r``
  of the query's relevant items, which are translations of one another. An unbiased model ranks them next to each
  other (spread ``n_relevant - 1`` at best); a model that prefers one language pushes the others down. The score of a
  query language is the mean spread of its queries; the task score is the macro average over query languages
  (lower is better). The normalised form divides each spread by the pool size.
- **Own-language share** (LAReQA's view): the share of the top-``k`` items that are in the query's own language,
  to be read against the share of the query's *relevant* items in that language (1/11 on XQuAD-R). A strongly
  aligned model keeps the two close; a biased one fills its top-``k`` with its own language.
"""

from __future__ import annotations

from collections.abc import Sequence

from polyret.evaluation.metrics import Ranks


def rank_spread(ranks: Ranks) -> int:
    """``max(ranks) - min(ranks)``: how far apart the relevant items of one query landed.

    Raises:
        ValueError: fewer than two ranks (a spread needs at least two relevant items).
    """
    if len(ranks) < 2:
        raise ValueError("a rank spread needs at least two relevant items")
    return int(max(ranks) - min(ranks))


def normalised_rank_spread(ranks: Ranks, pool_size: int) -> float:
    """:func:`rank_spread` divided by the number of candidates in the pool (comparable across pool sizes)."""
    return rank_spread(ranks) / pool_size


def own_language_share(languages: Sequence[str], query_language: str) -> float:
    """Share of ``languages`` equal to the query's: apply it to the top-k items and to the relevant items."""
    if not languages:
        raise ValueError("no items to take a language share of")
    return sum(lang == query_language for lang in languages) / len(languages)
