"""Per-language centering ("demean"): subtract each language's mean embedding, then re-normalise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from polyret.debias.base import ALL_ROLES, fit_rows, labelled_rows, require_fitted, unit_rows


class LanguageCentering:
    """Remove each language's mean embedding: ``e' = normalise(e - mean[lang(e)])``.

    The simplest of the methods and a strong baseline; it needs the language of every text at query and at index
    time, so it cannot be shipped inside a model.

    Example::

        centering = LanguageCentering().fit(reference_vectors, reference_languages)
        vectors = centering.transform(test_vectors, test_languages)

    Relations:
        :class:`~polyret.debias.lir.LanguageInformationRemoval` removes per-language directions instead of one
        offset; :class:`~polyret.debias.lsar.LowRankSubspaceRemoval` needs no languages at transform time.
    """

    method: ClassVar[str] = "center"
    needs_languages: ClassVar[bool] = True
    roles: ClassVar[tuple[str, ...]] = ALL_ROLES

    def __init__(self) -> None:
        self.languages: np.ndarray | None = None
        self.means: np.ndarray | None = None

    def fit(self, embeddings: np.ndarray, languages: Sequence[str]) -> LanguageCentering:
        """Learn the mean embedding of every language in ``languages`` (one label per row)."""
        rows = fit_rows(embeddings, languages, self.method)
        self.languages = np.array(list(rows), dtype=str)
        self.means = np.stack([block.mean(axis=0) for block in rows.values()])
        return self

    def transform(self, embeddings: np.ndarray, languages: Sequence[str] | None = None) -> np.ndarray:
        """The centred, re-normalised embeddings (float32).

        Raises:
            LanguagesRequiredError / UnseenLanguageError: no languages given, or one the method was not fitted on.
        """
        require_fitted(self.means, self.method)
        matrix, index = labelled_rows(embeddings, languages, self.languages, self.means.shape[1], self.method)
        return unit_rows(matrix - self.means[index])

    def state(self) -> dict[str, np.ndarray]:
        require_fitted(self.means, self.method)
        return {"languages": self.languages, "means": self.means}

    def params(self) -> dict[str, int | float | str | None]:
        return {}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], params: dict) -> LanguageCentering:
        method = cls()
        method.languages, method.means = state["languages"].astype(str), state["means"]
        return method
