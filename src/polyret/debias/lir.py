"""LIR, language information removal (Yang, Yang, Cer & Darve, EMNLP 2021, arXiv 2109.04727)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from polyret.debias.base import ALL_ROLES, fit_rows, labelled_rows, require_fitted, unit_rows
from polyret.errors import UsageError


class LanguageInformationRemoval:
    """Project each language's top ``rank`` principal directions out of that language's embeddings.

    For every language, the top ``rank`` right-singular vectors ``C`` of its (uncentred) embedding matrix are taken
    as its language-identity directions, and ``e' = normalise(e - C Cᵀ e)``. With ``rank=1`` this removes roughly
    the language's mean direction. Needs the language of every text at transform time.

    Args:
        rank: directions removed per language (the paper uses 1).

    Example::

        lir = LanguageInformationRemoval(rank=1).fit(reference_vectors, reference_languages)
        vectors = lir.transform(test_vectors, test_languages)

    Relations:
        :class:`~polyret.debias.centering.LanguageCentering` subtracts the mean instead of projecting;
        :class:`~polyret.debias.lsar.LowRankSubspaceRemoval` uses one projection for all languages.
    """

    method: ClassVar[str] = "lir"
    needs_languages: ClassVar[bool] = True
    roles: ClassVar[tuple[str, ...]] = ALL_ROLES

    def __init__(self, rank: int = 1) -> None:
        if rank < 1:
            raise UsageError(f"lir: rank must be at least 1, got {rank}")
        self.rank = rank
        self.languages: np.ndarray | None = None
        self.components: np.ndarray | None = None

    def fit(self, embeddings: np.ndarray, languages: Sequence[str]) -> LanguageInformationRemoval:
        """Learn ``rank`` directions per language.

        Raises:
            UsageError: a language has fewer texts than ``rank``.
        """
        rows = fit_rows(embeddings, languages, self.method)
        short = [lang for lang, block in rows.items() if len(block) < self.rank]
        if short:
            raise UsageError(f"lir: rank {self.rank} needs at least {self.rank} texts per language; "
                             f"{', '.join(short)} has fewer")
        self.languages = np.array(list(rows), dtype=str)
        self.components = np.stack(
            [np.linalg.svd(block, full_matrices=False)[2][: self.rank] for block in rows.values()]
        )
        return self

    def transform(self, embeddings: np.ndarray, languages: Sequence[str] | None = None) -> np.ndarray:
        """The embeddings without their language's directions, re-normalised (float32).

        Raises:
            LanguagesRequiredError / UnseenLanguageError: no languages given, or one the method was not fitted on.
        """
        require_fitted(self.components, self.method)
        matrix, index = labelled_rows(embeddings, languages, self.languages, self.components.shape[2], self.method)
        directions = self.components[index]  # (rows, rank, dim)
        coefficients = np.einsum("nrd,nd->nr", directions, matrix)
        return unit_rows(matrix - np.einsum("nr,nrd->nd", coefficients, directions))

    def state(self) -> dict[str, np.ndarray]:
        require_fitted(self.components, self.method)
        return {"languages": self.languages, "components": self.components}

    def params(self) -> dict[str, int | float | str | None]:
        return {"rank": self.rank}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], params: dict) -> LanguageInformationRemoval:
        method = cls(int(params["rank"]))
        method.languages, method.components = state["languages"].astype(str), state["components"]
        return method
