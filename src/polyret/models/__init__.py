"""Models: loading sentence-transformers encoders by path, name or alias; packaged offline weights; inference
backends; test models.

Usage::

    from polyret.models import get_encoder

    encoder = get_encoder("multilingual-e5-small")
    vectors = encoder.encode(["Wer schrieb Faust?"], "query")

Every name below is imported on first use (they load torch and sentence-transformers).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polyret.models.backends import InferenceBackend
    from polyret.models.encoders import SentenceTransformerEncoder, USEEncoder, get_encoder
    from polyret.models.loading import keep_loaded, load_sentence_transformer
    from polyret.models.protocol import Encoder

_EXPORTS = {
    "Encoder": "protocol", "InferenceBackend": "backends", "SentenceTransformerEncoder": "encoders",
    "USEEncoder": "encoders", "get_encoder": "encoders", "keep_loaded": "loading",
    "load_sentence_transformer": "loading",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"polyret.models.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Encoder", "InferenceBackend", "SentenceTransformerEncoder", "USEEncoder", "get_encoder", "keep_loaded",
    "load_sentence_transformer",
]
