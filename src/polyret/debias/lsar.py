"""LSAR, low-rank subspaces for language-agnostic representations (Xie, Zhao, Yu & Li, EMNLP 2022, arXiv 2401.05792).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from polyret.debias.base import ALL_ROLES, check_embeddings, fit_rows, require_fitted, unit_rows
from polyret.errors import UsageError


class LowRankSubspaceRemoval:
    """Project every embedding onto the orthogonal complement of a rank-``rank`` language subspace.

    Fitting stacks the per-language mean embeddings ``M`` (d x L) and splits them into a shared direction ``mu``
    and a low-rank language-specific part (the paper's Algorithm 1): a rank-``rank`` approximation of the centred
    means, the shared direction re-estimated as the vector on which every approximated mean has the same
    projection, and the top ``rank`` left-singular vectors ``U`` of the means minus that shared part. The
    transform ``e' = normalise((I - U Uᵀ) e)`` is one matrix for all languages: **no language labels at
    transform time**, so it can be appended to a model as a fixed linear layer
    (:func:`polyret.debias.export.export_model`). The specific part of L means spans at most L - 1 directions,
    so ``rank`` lies in [1, L - 1].

    Args:
        rank: dimension of the language subspace removed; ``None``: L - 1 (all of it).

    Example::

        lsar = LowRankSubspaceRemoval(rank=8).fit(reference_vectors, reference_languages)
        vectors = lsar.transform(test_vectors)  # no languages needed

    Relations:
        :class:`~polyret.debias.centering.LanguageCentering` and
        :class:`~polyret.debias.lir.LanguageInformationRemoval` work per language and need labels.
    """

    method: ClassVar[str] = "lsar"
    needs_languages: ClassVar[bool] = False
    roles: ClassVar[tuple[str, ...]] = ALL_ROLES

    def __init__(self, rank: int | None = None) -> None:
        if rank is not None and rank < 1:
            raise UsageError(f"lsar: rank must be at least 1, got {rank}")
        self.rank = rank
        self.languages: np.ndarray | None = None
        self.basis: np.ndarray | None = None

    def fit(self, embeddings: np.ndarray, languages: Sequence[str]) -> LowRankSubspaceRemoval:
        """Learn the language subspace from the mean embedding of each language.

        Raises:
            UsageError: fewer than two languages, or ``rank`` above (languages - 1) or the dimension.
        """
        rows = fit_rows(embeddings, languages, self.method)
        count, dim = len(rows), next(iter(rows.values())).shape[1]
        rank = self.rank if self.rank is not None else max(count - 1, 1)
        if rank > min(count - 1, dim - 1):
            raise UsageError(
                f"lsar: rank {rank} needs at least {rank + 1} languages in the fit data (got {count}: "
                f"{', '.join(rows)}) and more than {rank} dimensions"
            )
        means = np.stack([block.mean(axis=0) for block in rows.values()], axis=1)  # (d, L)
        self.languages = np.array(list(rows), dtype=str)
        self.basis = language_subspace(means, rank)
        return self

    def transform(self, embeddings: np.ndarray, languages: Sequence[str] | None = None) -> np.ndarray:
        """The projected, re-normalised embeddings (float32); ``languages`` is accepted and ignored."""
        require_fitted(self.basis, self.method)
        matrix = check_embeddings(embeddings, self.basis.shape[0])
        return unit_rows(matrix - (matrix @ self.basis) @ self.basis.T)

    def projection(self) -> np.ndarray:
        """The (d x d) matrix ``I - U Uᵀ`` that the transform applies before normalising."""
        require_fitted(self.basis, self.method)
        return np.eye(self.basis.shape[0]) - self.basis @ self.basis.T

    def state(self) -> dict[str, np.ndarray]:
        require_fitted(self.basis, self.method)
        return {"languages": self.languages, "basis": self.basis}

    def params(self) -> dict[str, int | float | str | None]:
        return {"rank": None if self.basis is None else int(self.basis.shape[1])}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], params: dict) -> LowRankSubspaceRemoval:
        method = cls(int(params["rank"]))
        method.languages, method.basis = state["languages"].astype(str), state["basis"]
        return method


def language_subspace(means: np.ndarray, rank: int) -> np.ndarray:
    """An orthonormal basis (d x rank) of the language-specific subspace of the per-language means (d x L)."""
    shared = means.mean(axis=1, keepdims=True)
    left, singular, right = np.linalg.svd(means - shared, full_matrices=False)
    approx = shared + left[:, :rank] * singular[:rank] @ right[:rank]
    # the shared direction: every approximated mean projects onto it by the same amount, its squared length
    solution = np.linalg.pinv(approx.T) @ np.ones(approx.shape[1])
    common = solution / (solution @ solution)
    left, _, _ = np.linalg.svd(approx - common[:, None], full_matrices=False)
    return left[:, :rank]
