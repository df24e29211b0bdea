"""Deterministic test encoders and vector tables for the evaluation-core tests."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np

from polyret.data.records import RetrievalTask


class HashEncoder:
    """Seeded random unit vectors per (role, text); remembers every text it was asked to encode."""

    def __init__(self, dim: int = 16, salt: str = "a"):
        self.name = f"hash-{salt}"
        self.dim = dim
        self.salt = salt
        self.encoded: list[str] = []

    def fingerprint(self) -> str:
        return f"hash-{self.salt}-{self.dim}"

    def encode(self, texts: Sequence[str], role: str, *, batch_size: int = 32, show_progress: bool = False):
        self.encoded.extend(texts)
        rows = [self._vector(role, text) for text in texts]
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)

    def _vector(self, role: str, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(f"{self.salt}|{role}|{text}".encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)


class TableEncoder(HashEncoder):
    """Returns the vector a test assigned to each (role, text); counts encoded texts like :class:`HashEncoder`."""

    def __init__(self, table: Mapping[tuple[str, str], np.ndarray]):
        super().__init__(dim=len(next(iter(table.values()))), salt="table")
        self.table = table

    def _vector(self, role: str, text: str) -> np.ndarray:
        return self.table[role, text]


def aligned_table(task: RetrievalTask, *, dim: int = 32, seed: int = 0) -> dict[tuple[str, str], np.ndarray]:
    """Vectors that make a retrieval task realistic: a query and its gold passages share a topic vector, and every
    text leans towards a per-language direction (so rankings show language bias); scores are unique."""
    rng = np.random.default_rng(seed)
    topics = {q.alignment_id: rng.standard_normal(dim) for q in task.queries}
    langs = {lang: rng.standard_normal(dim) for lang in {q.lang for q in task.queries} | set(task.passage_languages)}
    gold_of: dict[str, list[str]] = {}
    for query in task.queries:
        for pid in task.qrels.get(query.id, {}):
            gold_of.setdefault(pid, []).append(query.alignment_id)

    def unit(v: np.ndarray) -> np.ndarray:
        return (v / np.linalg.norm(v)).astype(np.float32)

    table = {
        ("query", q.text): unit(topics[q.alignment_id] + 0.8 * rng.standard_normal(dim) + 0.5 * langs[q.lang])
        for q in task.queries
    }
    for p in task.passages:
        topic = sum((topics[a] for a in set(gold_of.get(p.id, []))), np.zeros(dim))
        table["passage", p.input_text(True)] = unit(topic + 0.8 * rng.standard_normal(dim) + 0.5 * langs[p.lang])
    return table
