"""Parallel training questions as columns: the one read interface samplers and trainers use for training data.

Row ``i`` is one aligned question: its text in each language it has, its gold answer (and optional context and
hard negatives) in each language, an alignment id, and an integer answer key (rows with equal keys share an
answer text in some language, so they must never meet in one batch). Two implementations satisfy it: the
in-memory view of a ``list[ParallelQA]`` and a prepared, memory-mapped corpus on disk; samplers keep only integer
arrays of rows and resolve texts for the batch being built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

TextField = Literal["question", "answer", "context"]


@runtime_checkable
class QuestionColumns(Protocol):
    """Read access to parallel questions by row number; nothing here materialises (row, language pair) pairs.

    Attributes:
        source: a name for messages (the file, folder or data set it came from).
        languages: every language that occurs in any field, sorted.
    """

    source: str
    languages: tuple[str, ...]

    def __len__(self) -> int:
        """Number of aligned questions (rows)."""
        ...

    def answer_keys(self) -> np.ndarray:
        """``int64`` per row: rows with equal keys share an answer text (in any language)."""
        ...

    def has(self, field: TextField, lang: str) -> np.ndarray:
        """``bool`` per row: whether the row has ``field`` in ``lang``."""
        ...

    def ids(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The alignment ids of ``rows``."""
        ...

    def texts(self, field: TextField, lang: str, rows: Sequence[int] | np.ndarray) -> list[str | None]:
        """``field`` in ``lang`` of ``rows`` (``None`` where a row lacks it)."""
        ...

    def negatives(self, lang: str, rows: Sequence[int] | np.ndarray) -> list[list[str]]:
        """Hard-negative passages in ``lang`` of ``rows`` (empty lists where there are none)."""
        ...
