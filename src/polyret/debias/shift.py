"""SHIFT, index-side language offsets (Jang, Hong, Moon & Lim, arXiv 2606.18801, 2026)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from polyret.debias.base import fit_rows, labelled_rows, require_fitted, unit_rows
from polyret.errors import UsageError

MAX_SCALE = 2.0


class LanguageShift:
    """Subtract a scaled per-language offset from **document** embeddings: ``d' = normalise(d - scale * v[lang(d)])``.

    Each target language's offset ``v[l]`` is its mean embedding minus the source language's over the reference
    texts; on a parallel reference (every text in every language, like the default XQuAD-R reference) that is the
    mean difference of the translation pairs ``(l, source)``, the paper's relative language vector. The source
    language's own offset is zero. Only the index side moves: queries keep their embeddings, so no language label is
    needed at query time, but every document's language is needed when it is indexed (which a model directory cannot
    receive, so SHIFT is evaluation-time only in polyret).

    Args:
        scale: how much of each offset is subtracted (the paper's scaling factor; 1: all of it), in (0, 2].
        source: the language the offsets are relative to (must be among the fitted languages).

    Example::

        shift = LanguageShift(scale=1.0).fit(reference_vectors, reference_languages)
        documents = shift.transform(document_vectors, document_languages)  # queries stay as they are

    Relations:
        :class:`~polyret.debias.centering.LanguageCentering` removes each language's whole mean from queries and
        documents alike; SHIFT moves documents towards the source language only.
    """

    method: ClassVar[str] = "shift"
    needs_languages: ClassVar[bool] = True
    roles: ClassVar[tuple[str, ...]] = ("passage",)

    def __init__(self, scale: float = 1.0, source: str = "en") -> None:
        if not 0.0 < scale <= MAX_SCALE:
            raise UsageError(f"shift: the scale must lie in (0, {MAX_SCALE:g}], got {scale}")
        self.scale = float(scale)
        self.source = source
        self.languages: np.ndarray | None = None
        self.offsets: np.ndarray | None = None

    def fit(self, embeddings: np.ndarray, languages: Sequence[str]) -> LanguageShift:
        """Learn every language's offset from the source language.

        Raises:
            UsageError: the source language has no reference text.
        """
        rows = fit_rows(embeddings, languages, self.method)
        if self.source not in rows:
            raise UsageError(f"shift: the offsets are relative to {self.source}, but the reference texts have no "
                             f"{self.source} (languages: {', '.join(rows)})")
        means = {lang: block.mean(axis=0) for lang, block in rows.items()}
        self.languages = np.array(list(rows), dtype=str)
        self.offsets = np.stack([means[lang] - means[self.source] for lang in self.languages])
        return self

    def transform(self, embeddings: np.ndarray, languages: Sequence[str] | None = None) -> np.ndarray:
        """The shifted, re-normalised document embeddings (float32).

        Raises:
            LanguagesRequiredError / UnseenLanguageError: no languages given, or one the method was not fitted on.
        """
        require_fitted(self.offsets, self.method)
        matrix, index = labelled_rows(embeddings, languages, self.languages, self.offsets.shape[1], self.method)
        return unit_rows(matrix - self.scale * self.offsets[index])

    def state(self) -> dict[str, np.ndarray]:
        require_fitted(self.offsets, self.method)
        return {"languages": self.languages, "offsets": self.offsets, "scale": np.array(self.scale)}

    def params(self) -> dict[str, int | float | str | None]:
        return {"scale": self.scale, "source": self.source}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], params: dict) -> LanguageShift:
        method = cls(float(params["scale"]), str(params["source"]))
        method.languages, method.offsets = state["languages"].astype(str), state["offsets"]
        return method
