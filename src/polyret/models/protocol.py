"""The encoder interface every evaluator accepts (in the spirit of MTEB's ``EncoderProtocol``).

Any object with a ``name``, a ``fingerprint()`` and ``encode(texts, role)`` is an encoder: a fine-tuned
sentence-transformers model, a frozen numpy model such as multilingual USE, or a test double.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from polyret.errors import UsageError

Role = Literal["query", "passage"]
ROLES: tuple[Role, ...] = ("query", "passage")


def check_role(role: str) -> None:
    """Raise :class:`~polyret.errors.UsageError` unless ``role`` is one of :data:`ROLES`."""
    if role not in ROLES:
        raise UsageError(f"unknown encoding role {role!r} (expected one of: {', '.join(ROLES)})")


@runtime_checkable
class Encoder(Protocol):
    """Maps texts to L2-normalised float32 vectors, with role-specific prefixes applied inside."""

    name: str

    def fingerprint(self) -> str:
        """A stable id of the weights, configuration and prefixes: equal fingerprints give equal embeddings."""
        ...

    def encode(
        self, texts: Sequence[str], role: Role, *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        """Return an array of shape ``(len(texts), dim)``, dtype float32, each row of unit length."""
        ...
