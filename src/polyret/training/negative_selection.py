"""Which nearest answers become hard negatives: sentence-transformers' ``mine_hard_negatives`` options and rule.

:class:`MiningOptions` holds the options (``polyret data mine-negatives`` has one flag per field) and
:func:`select_negatives` applies them to FAISS results, vectorised over a chunk of queries. The order of the steps
is ``mine_hard_negatives``'s: the ``range_max`` nearest candidates that are not excluded, then the score filters,
then ``range_min`` over the ranks of the candidates that are left, then the ``num_negatives`` best ("top"
sampling).

Relations:
    :mod:`polyret.training.mining` searches the candidates and calls :func:`select_negatives` per chunk.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from polyret.errors import UsageError
from polyret.schema import Check, at_least, check_ranges


@dataclass(frozen=True)
class MiningOptions:
    """How negatives are picked, as in sentence-transformers' ``mine_hard_negatives`` ("top" sampling).

    Candidates are the ``range_max`` nearest answers in the language that may be negatives (the excluded rows do
    not count), best first. Those scoring above
    ``max_score``, below ``min_score``, or too close to the row's own answer (``score + margin > positive``,
    ``score > positive - |positive| * relative_margin``) are dropped; of the rest, ranked by score, the
    first ``range_min`` are skipped and the next ``num_negatives`` are kept (fewer when fewer are left).

    Attributes:
        num_negatives: negatives per row and language.
        range_min: surviving candidates skipped first (likely unlabelled positives).
        range_max: rank up to which candidates are considered (``None``: ``range_min + num_negatives``, or
            ``range_min + 10 * num_negatives`` when a score filter is set, as sentence-transformers derives it).
        margin: drop candidates scoring above the row's own answer minus this (sentence-transformers'
            ``absolute_margin``; ``None``: off).
        relative_margin: drop candidates scoring above ``positive - |positive| * relative_margin`` (``None``: off).
        max_score: drop candidates scoring above this (``None``: off).
        min_score: drop candidates scoring below this (``None``: off).
        with_context: encode and store an answer followed by its paragraph (as training with ``with_context``).
        batch_size: texts per encoder batch.
    """

    num_negatives: int = 3
    range_min: int = 0
    range_max: int | None = None
    margin: float | None = None
    relative_margin: float | None = None
    max_score: float | None = None
    min_score: float | None = None
    with_context: bool = True
    batch_size: int = 32

    @property
    def window(self) -> int:
        """``range_max`` resolved."""
        if self.range_max is not None:
            return self.range_max
        filtered = any(v is not None for v in (self.margin, self.relative_margin, self.max_score,
                                               self.min_score))
        return self.range_min + self.num_negatives * (10 if filtered else 1)

    RANGES: ClassVar[dict[str, Check]] = {"num_negatives": at_least(1), "range_min": at_least(0),
                                          "range_max": at_least(1), "batch_size": at_least(1)}

    def check(self) -> None:
        """Raise :class:`UsageError` for options out of range or that leave room for fewer than ``num_negatives``."""
        check_ranges(self)
        if self.num_negatives > self.window - self.range_min:
            raise UsageError(f"cannot mine {self.num_negatives} negatives between range_min {self.range_min} and "
                             f"range_max {self.window} (raise range_max or lower range_min / num_negatives)")

    def to_dict(self) -> dict[str, Any]:
        """The options with ``range_max`` resolved, for the manifest."""
        return {**dataclasses.asdict(self), "range_max": self.window}


def select_negatives(scores: np.ndarray, excluded: np.ndarray, positive: np.ndarray, options: MiningOptions
                     ) -> np.ndarray:
    """Per query, the positions (into its candidate list) of the negatives to keep, ``-1`` padded.

    Args:
        scores: ``(queries, k)`` candidate scores, best first (as FAISS returns them).
        excluded: ``(queries, k)`` candidates that may never be negatives (the query's own answer key, padding).
        positive: ``(queries,)`` the score of each query's own answer.
        options: the filters and ranks (:class:`MiningOptions`).
    """
    keep = ~excluded & np.isfinite(scores)
    keep &= np.cumsum(keep, axis=1) <= options.window  # the range_max nearest candidates that may be negatives
    if options.margin is not None:
        keep &= scores + options.margin <= positive[:, None]
    if options.relative_margin is not None:
        keep &= scores <= (positive - np.abs(positive) * options.relative_margin)[:, None]
    if options.max_score is not None:
        keep &= scores <= options.max_score
    if options.min_score is not None:
        keep &= scores >= options.min_score
    rank = np.cumsum(keep, axis=1) - 1  # rank among the candidates that survive the filters
    keep &= (rank >= options.range_min) & (rank < options.range_min + options.num_negatives)
    out = np.full((len(scores), options.num_negatives), -1, dtype=np.int64)
    query, column = np.nonzero(keep)
    out[query, rank[query, column] - options.range_min] = column
    return out
