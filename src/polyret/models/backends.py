"""Inference backends of sentence-transformers encoders: torch fp32 (the reference), torch bf16, ONNX, OpenVINO.

The names follow sentence-transformers' ``backend="torch" | "onnx" | "openvino"``. sentence-transformers' own ONNX
and OpenVINO backends need Optimum, which cannot be installed beside sentence-transformers 6 / transformers 5 with
pinned versions, so polyret exports the model's transformer itself, once per model: ``torch.onnx.export`` for ONNX
Runtime, ``openvino.convert_model`` for OpenVINO. The exported graph replaces only the transformer's forward pass;
tokenisation, prompts, length-sorted batching, pooling and normalisation stay sentence-transformers' own.

Exports are cached beside the prepared models, under ``<polyret cache>/models/exported/<weights hash>-<backend>``,
built in a temporary folder and renamed into place (:func:`polyret.io.atomic_directory`); a marker file written last
records the weights hash, the runtime's version and the export format, and an export whose marker does not match is
rebuilt.

Example:
    >>> backend = resolve_backend(InferenceBackend("openvino", "bf16"), warn=print)  # torch fp32 without openvino
    >>> backend.label
    'openvino-bf16'

Relations:
    :class:`~polyret.models.encoders.SentenceTransformerEncoder` runs its model through a backend; the backend's
    :attr:`~InferenceBackend.cache_suffix` joins the encoder's fingerprint, so cached embeddings of different backends
    never mix (:class:`~polyret.evaluation.store.EmbeddingStore`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyret.errors import DataError, ModelError, UsageError
from polyret.io import atomic_directory, read_json, write_json

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "openvino")
PRECISIONS = ("fp32", "bf16")
EXPORT_FORMAT = 1
"""Bumped when an exporter changes its output, so that older exports are rebuilt."""
EXPORT_MARKER = ".polyret-export.json"
RUNTIME_PACKAGES = {"onnx": ("onnx", "onnxruntime"), "openvino": ("openvino",)}
"""The packages each optional backend imports (installed by ``pip install 'polyret[onnx]'`` / ``[openvino]``)."""
_MODEL_FILES = {"onnx": "model.onnx", "openvino": "openvino_model.xml"}
_INPUTS = ("input_ids", "attention_mask")


@dataclass(frozen=True, slots=True)
class InferenceBackend:
    """Which runtime encodes, and at which precision.

    Attributes:
        backend: ``torch``, ``onnx`` (ONNX Runtime, fp32 only) or ``openvino``.
        precision: ``fp32`` or ``bf16`` (torch: ``torch.autocast``; OpenVINO: ``INFERENCE_PRECISION_HINT``).

    Raises:
        UsageError: an unknown backend or precision, or bf16 with ONNX Runtime.
    """

    backend: str = "torch"
    precision: str = "fp32"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise UsageError(f"unknown inference backend {self.backend!r} (expected one of: {', '.join(BACKENDS)})")
        if self.precision not in PRECISIONS:
            raise UsageError(f"unknown precision {self.precision!r} (expected one of: {', '.join(PRECISIONS)})")
        if self.backend == "onnx" and self.precision != "fp32":
            raise UsageError("the onnx backend runs in fp32 only (the openvino and torch backends run bf16)")

    @property
    def label(self) -> str:
        """``backend-precision``, e.g. ``openvino-bf16``."""
        return f"{self.backend}-{self.precision}"

    @property
    def cache_suffix(self) -> str:
        """What joins the model's fingerprint: nothing for the torch fp32 reference, else ``+label``."""
        return "" if self == InferenceBackend() else f"+{self.label}"


def missing_runtime(backend: str) -> str | None:
    """The name of the first package ``backend`` needs that is not installed, else ``None``."""
    for package in RUNTIME_PACKAGES.get(backend, ()):
        if importlib.util.find_spec(package) is None:
            return package
    return None


def resolve_backend(requested: InferenceBackend, *, warn: Callable[[str], None] | None = None) -> InferenceBackend:
    """``requested``, or torch fp32 (with one message to ``warn``, else the log) when its runtime is missing."""
    package = missing_runtime(requested.backend)
    if package is None:
        return requested
    message = (f"inference backend {requested.label} needs the package {package} (pip install "
               f"'polyret[{requested.backend}]'); encoding with torch fp32 instead")
    (warn or log.warning)(message)
    return InferenceBackend()


@contextlib.contextmanager
def autocast(model: SentenceTransformer, backend: InferenceBackend) -> Iterator[None]:
    """``torch.autocast`` to bf16 on the model's device for torch bf16; nothing otherwise."""
    if backend.backend != "torch" or backend.precision == "fp32":
        yield
        return
    import torch

    with torch.autocast(model.device.type, dtype=torch.bfloat16):
        yield


def install_backend(model: SentenceTransformer, backend: InferenceBackend, fingerprint: str) -> None:
    """Make ``model``'s transformer run on ``backend`` (exported and cached on first use); torch needs nothing.

    Args:
        model: a sentence-transformers model whose first module is a ``Transformer``.
        backend: an ONNX or OpenVINO backend whose runtime is installed (see :func:`resolve_backend`).
        fingerprint: the model's weights hash; names the cached export.

    Raises:
        ModelError: the model has no transformer to export, or the export failed.
    """
    if backend.backend == "torch":
        return
    transformer = model[0]
    if not hasattr(transformer, "auto_model"):
        raise ModelError(f"backend {backend.label} needs a transformer model (first module: {type(transformer)})")
    folder = exported_model(transformer.auto_model, backend.backend, fingerprint)
    run = _load_runtime(folder / _MODEL_FILES[backend.backend], backend)
    transformer.forward = _compiled_forward(run)


def exported_model(auto_model: torch.nn.Module, backend: str, fingerprint: str) -> Path:
    """The folder of ``auto_model`` exported for ``backend``, exporting it first when missing or stale."""
    from polyret.models.loading import exclusive_lock, models_cache_dir, remove_unfinished

    target = models_cache_dir() / "exported" / f"{fingerprint}-{backend}"
    expected = {"fingerprint": fingerprint, "backend": backend, "format": EXPORT_FORMAT,
                "runtime": _runtime_version(backend)}
    if _marker(target) == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target.parent / f".{target.name}.lock"):
        if _marker(target) != expected:
            log.info("exporting the model for %s into %s", backend, target)
            remove_unfinished(target)
            with atomic_directory(target) as tmp, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracing warns about Python control flow the export keeps fixed
                _EXPORTERS[backend](_last_hidden_state(auto_model).eval(), tmp / _MODEL_FILES[backend])
                write_json(tmp / EXPORT_MARKER, expected)
    return target


def _marker(folder: Path) -> dict | None:
    try:
        return read_json(folder / EXPORT_MARKER) if (folder / EXPORT_MARKER).is_file() else None
    except DataError:
        return None


def _runtime_version(backend: str) -> str:
    try:
        return version(RUNTIME_PACKAGES[backend][-1])
    except PackageNotFoundError:
        return "unknown"


def _last_hidden_state(auto_model: torch.nn.Module) -> torch.nn.Module:
    """``auto_model`` as a module ``(input_ids, attention_mask) -> last_hidden_state`` (what gets exported)."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    return LastHiddenState()


def _example_inputs() -> tuple[Any, Any]:
    import torch

    ids = torch.ones(2, 8, dtype=torch.long)
    return ids, torch.ones_like(ids)


def _export_onnx(module: torch.nn.Module, path: Path) -> None:
    import torch

    dynamic = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    try:
        torch.onnx.export(module, _example_inputs(), str(path), input_names=list(_INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=dynamic, opset_version=17, dynamo=False)
    except Exception as exc:  # the exporter raises many kinds; all mean "this model cannot be exported"
        raise ModelError(f"exporting the model to ONNX failed ({type(exc).__name__}: {exc})") from None


def _export_openvino(module: torch.nn.Module, path: Path) -> None:
    import openvino

    ids, mask = _example_inputs()
    try:
        converted = openvino.convert_model(module, example_input={"input_ids": ids, "attention_mask": mask})
    except Exception as exc:  # as above: any conversion failure means the model cannot be exported
        raise ModelError(f"converting the model to OpenVINO failed ({type(exc).__name__}: {exc})") from None
    openvino.save_model(converted, str(path))


_EXPORTERS: dict[str, Callable[[Any, Path], None]] = {"onnx": _export_onnx, "openvino": _export_openvino}


def _load_runtime(path: Path, backend: InferenceBackend) -> Callable[[dict[str, Any]], Any]:
    """A function from ``{input_ids, attention_mask}`` numpy arrays to the last hidden state (numpy)."""
    import torch

    threads = torch.get_num_threads()
    if backend.backend == "onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return lambda inputs: session.run(None, inputs)[0]
    hint = "bf16" if backend.precision == "bf16" else "f32"
    compiled = _openvino_core().compile_model(
        str(path), "CPU", {"INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": threads}
    )
    return lambda inputs: compiled(inputs)[0]


@functools.cache
def _openvino_core() -> Any:
    """The process's one OpenVINO ``Core``, kept until the process exits.

    OpenVINO's CPU plugin gives the thread that loads it an alternate signal stack of its own and unmaps that stack
    when the plugin is freed; a ``Core`` per model made one plugin per model, and two plugins freed in the order
    they were made left the thread's signal stack pointing at unmapped memory, so the next signal (Ctrl-C, SIGTERM)
    killed the process with SIGSEGV. One ``Core`` loads the plugin once and never frees it.
    """
    import openvino

    return openvino.Core()


def _compiled_forward(run: Callable[[dict[str, Any]], Any]) -> Callable[..., dict[str, Any]]:
    """A ``Transformer.forward`` replacement: sets ``token_embeddings`` from the exported model's output."""
    import torch

    def forward(features: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        ids = features["input_ids"]
        inputs = {name: features[name].detach().cpu().numpy() for name in _INPUTS}
        features["token_embeddings"] = torch.from_numpy(run(inputs)).to(ids.device)
        return features

    return forward
