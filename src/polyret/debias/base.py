"""What every post-hoc debiasing method shares: input checks, row normalisation, per-language grouping, errors.

A method is a small object with ``fit(embeddings, languages)`` and ``transform(embeddings, languages=None)``; its
fitted state is a few plain arrays (:meth:`Debiaser.state`), so it saves to ``.npz`` without pickle
(:mod:`polyret.debias.storage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol

import numpy as np

from polyret.errors import UsageError

ALL_ROLES = ("query", "passage")
"""The roles a method transforms unless it says otherwise (queries and passages alike)."""


class LanguagesRequiredError(UsageError):
    """A method that works per language was given embeddings without their languages."""


class UnseenLanguageError(UsageError):
    """A method that works per language was asked to transform a language it was not fitted on."""


class Debiaser(Protocol):
    """A post-hoc linear debiasing method over embeddings (rows are texts).

    Attributes:
        method: the method's name (``"center"``, ``"lir"``, ``"lsar"``, ``"shift"``).
        needs_languages: whether :meth:`transform` needs the language of every row.
        roles: the roles whose embeddings it transforms (:data:`ALL_ROLES`, or only ``"passage"`` for a method that
            works on the index side); the others are left as they are.
    """

    method: ClassVar[str]
    needs_languages: ClassVar[bool]
    roles: ClassVar[tuple[str, ...]]

    def fit(self, embeddings: np.ndarray, languages: Sequence[str]) -> Debiaser: ...

    def transform(self, embeddings: np.ndarray, languages: Sequence[str] | None = None) -> np.ndarray: ...

    def state(self) -> dict[str, np.ndarray]: ...

    def params(self) -> dict[str, int | float | str | None]: ...


def check_embeddings(embeddings: np.ndarray, dim: int | None = None) -> np.ndarray:
    """``embeddings`` as a finite float64 matrix (of ``dim`` columns when given).

    Raises:
        UsageError: not 2-D, not finite, or of another dimension.
    """
    matrix = np.asarray(embeddings, dtype=np.float64)
    if matrix.ndim != 2 or not np.isfinite(matrix).all():
        raise UsageError(f"embeddings must be a finite 2-D array (texts x dimensions), got shape {matrix.shape}")
    if dim is not None and matrix.shape[1] != dim:
        raise UsageError(f"embeddings have {matrix.shape[1]} dimensions; the method was fitted on {dim}")
    return matrix


def check_languages(languages: Sequence[str] | None, rows: int, method: str) -> np.ndarray:
    """The languages as a string array with one entry per row.

    Raises:
        LanguagesRequiredError: ``languages`` is ``None``.
        UsageError: their number differs from the number of rows.
    """
    if languages is None:
        raise LanguagesRequiredError(
            f"{method} works per language and needs the language of every text; use lsar where languages are "
            "unknown"
        )
    labels = np.asarray(list(languages), dtype=str)
    if labels.shape != (rows,):
        raise UsageError(f"{method}: got {labels.size} languages for {rows} embeddings (expected one per row)")
    return labels


def language_rows(embeddings: np.ndarray, languages: np.ndarray) -> dict[str, np.ndarray]:
    """Rows of ``embeddings`` per language, languages in sorted order.

    Raises:
        UsageError: there are no rows at all.
    """
    if embeddings.shape[0] == 0:
        raise UsageError("cannot fit a debiasing method on zero embeddings")
    return {str(lang): embeddings[languages == lang] for lang in np.unique(languages)}


def language_index(languages: np.ndarray, known: np.ndarray, method: str) -> np.ndarray:
    """Per row, the position of its language in ``known`` (the fitted languages).

    Raises:
        UnseenLanguageError: a language was not among the fitted ones.
    """
    unseen = sorted(set(languages.tolist()) - set(known.tolist()))
    if unseen:
        raise UnseenLanguageError(
            f"{method} was fitted on {', '.join(known.tolist())} and cannot transform {', '.join(unseen)} "
            "(fit it on reference texts in those languages too, or use lsar, which needs no languages)"
        )
    return np.searchsorted(known, languages)


def fit_rows(embeddings: np.ndarray, languages: Sequence[str], method: str) -> dict[str, np.ndarray]:
    """The checked fit input of ``method``: its rows per language (languages sorted)."""
    matrix = check_embeddings(embeddings)
    return language_rows(matrix, check_languages(languages, len(matrix), method))


def labelled_rows(
    embeddings: np.ndarray, languages: Sequence[str] | None, fitted: np.ndarray, dim: int, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """The checked transform input of a per-language ``method``: the matrix and, per row, the position of its
    language among the ``fitted`` ones."""
    matrix = check_embeddings(embeddings, dim)
    return matrix, language_index(check_languages(languages, len(matrix), method), fitted, method)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` as float32 with every non-zero row scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def require_fitted(value: object, method: str) -> None:
    """Raise unless the method has been fitted (``value`` is its fitted state)."""
    if value is None:
        raise UsageError(f"{method} is not fitted yet: call fit(embeddings, languages) first")
