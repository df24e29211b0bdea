"""Fixtures for the task evaluators: an encoder whose vectors the test chooses."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pytest

from polyret.evaluation.store import EmbeddingStore


class TableEncoder:
    """An encoder that returns the (normalised) vector a test assigned to each text, else a hash-seeded one."""

    name = "table"

    def __init__(self, table: Mapping[str, Sequence[float]], dim: int = 4):
        self.table = {text: np.asarray(v, dtype=np.float32) for text, v in table.items()}
        self.dim = len(next(iter(self.table.values()))) if self.table else dim

    def fingerprint(self) -> str:
        payload = repr(sorted((t, v.tolist()) for t, v in self.table.items()))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def encode(self, texts, role, *, batch_size=32, show_progress=False) -> np.ndarray:
        rows = [self.table[t] if t in self.table else self._hashed(t) for t in texts]
        vectors = np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def _hashed(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
        return np.random.default_rng(seed).normal(size=self.dim).astype(np.float32)


@pytest.fixture
def table_encoder() -> type[TableEncoder]:
    """The :class:`TableEncoder` class, for tests that need the encoder itself."""
    return TableEncoder


@pytest.fixture
def table_store() -> Callable[[Mapping[str, Sequence[float]]], EmbeddingStore]:
    """Build an in-memory store over a :class:`TableEncoder` with the given text -> vector table."""
    return lambda table: EmbeddingStore(TableEncoder(table))
