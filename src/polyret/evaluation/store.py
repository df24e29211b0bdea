"""Encode each text once: an in-memory and on-disk cache of embeddings in front of an :class:`Encoder`.

Every evaluator asks the store, never the encoder, for vectors. Texts are deduplicated, only texts that are neither
in memory nor on disk are encoded, and new vectors are written to disk as shard files under
``cache_root / encoder.fingerprint()``. A shard is an ``.npz`` file holding

- ``keys``: ``(n, 32)`` uint8, the sha256 of ``role + "\\0" + text`` per row,
- ``vectors``: ``(n, dim)`` float32,
- ``fingerprint``: the encoder fingerprint it was computed with,
- ``checksum``: the sha256 of the fingerprint, keys and vectors, so a shard whose content changed is never trusted.

Shards are written atomically (temporary file + rename) and read with ``allow_pickle=False``. Before trusting a
cache, the store encodes one probe text to learn the encoder's real dimension. A shard that cannot be read, or whose
fingerprint, checksum, dimension or values do not match, is deleted and its texts are encoded again.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyret.errors import ModelError
from polyret.io import atomic_write
from polyret.models.protocol import Encoder, Role, check_role

log = logging.getLogger(__name__)

SHARD_ROWS = 8192
"""Texts encoded (and saved) per shard: an interrupted run keeps every finished shard."""

_KEY_BYTES = 32
_PROBE_TEXT = "dimension probe"


@dataclass(slots=True)
class StoreCounts:
    """How many distinct texts the store encoded, and how many it served from memory or disk."""

    encoded: int = 0
    cached: int = 0


class EmbeddingStore:
    """Embeddings of texts by one encoder, computed once and cached in memory and (optionally) on disk.

    Args:
        encoder: the model to encode with.
        cache_root: folder for on-disk caches; embeddings go to ``cache_root / encoder.fingerprint()``.
            ``None``, or a folder that cannot be written (one warning, before anything is encoded), keeps them in
            memory only.

    Attributes:
        cache_root: the usable cache folder (``None``: memory only), for the other caches of a run (FAISS indexes).
    """

    def __init__(self, encoder: Encoder, cache_root: str | Path | None = None):
        self.encoder = encoder
        self.cache_root = writable_cache_root(cache_root)
        self.cache_dir = self.cache_root / self.fingerprint if self.cache_root is not None else None
        self.counts = StoreCounts()
        self.dim: int | None = None
        self._vectors: dict[bytes, np.ndarray] = {}
        self._disk_loaded = False

    @functools.cached_property
    def fingerprint(self) -> str:
        """The encoder's fingerprint (hashing the weights takes a moment, so only a disk cache or index asks)."""
        return self.encoder.fingerprint()

    def embed(
        self,
        texts: Sequence[str],
        role: Role,
        *,
        languages: Sequence[str] | None = None,
        batch_size: int = 32,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Return the embeddings of ``texts`` as a float32 array with one row per text (duplicates included).

        ``languages`` (one per text, when the caller knows them) is not needed here; stores that transform vectors
        per language (:class:`~polyret.evaluation.debiased.DebiasedStore`) use it.

        Raises:
            UsageError: ``role`` is not ``"query"`` or ``"passage"``.
            ModelError: the encoder returned vectors of the wrong shape, type or with non-finite values.
        """
        check_role(role)
        self._load_disk()
        keys = [text_key(role, text) for text in texts]
        unique = dict(zip(keys, texts, strict=True))
        missing = [key for key in unique if key not in self._vectors]
        self.counts.cached += len(unique) - len(missing)
        for start in range(0, len(missing), SHARD_ROWS):
            chunk = missing[start : start + SHARD_ROWS]
            vectors = self._encode([unique[key] for key in chunk], role, batch_size, show_progress)
            self._remember(chunk, vectors)
            self._save_shard(chunk, vectors)
        if not keys:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys])

    def _encode(self, texts: list[str], role: Role, batch_size: int, show_progress: bool) -> np.ndarray:
        vectors = np.asarray(
            self.encoder.encode(texts, role, batch_size=batch_size, show_progress=show_progress), dtype=np.float32
        )
        dim_ok = vectors.ndim == 2 and (self.dim is None or vectors.shape[1] == self.dim)
        if not dim_ok or vectors.shape[0] != len(texts) or not np.isfinite(vectors).all():
            raise ModelError(
                f"encoder {self.encoder.name!r} returned an array of shape {vectors.shape} for {len(texts)} texts "
                f"(expected ({len(texts)}, {self.dim or 'dim'}) finite float32 values)"
            )
        self.counts.encoded += len(texts)
        return vectors

    def _remember(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        self.dim = vectors.shape[1]
        self._vectors.update(zip(keys, vectors, strict=True))

    def _save_shard(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        if self.cache_dir is None:
            return
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), _KEY_BYTES)
        name = hashlib.sha256(key_array.tobytes()).hexdigest()[:24]
        with atomic_write(self.cache_dir / f"shard-{name}.npz", "wb") as handle:
            np.savez(handle, keys=key_array, vectors=vectors, fingerprint=np.array(self.fingerprint),
                     checksum=np.array(shard_checksum(self.fingerprint, key_array, vectors)))

    def _load_disk(self) -> None:
        if self._disk_loaded or self.cache_dir is None:
            return
        self._disk_loaded = True
        shards = sorted(self.cache_dir.glob("shard-*.npz"))
        if shards and self.dim is None:
            self.dim = self._probe_dimension()
        discarded = []
        for path in shards:
            loaded = self._read_shard(path)
            if loaded is None:
                discarded.append(path.name)
                path.unlink(missing_ok=True)
            else:
                self._remember(*loaded)
        if discarded:  # one line, however many: an older cache format can leave hundreds
            log.warning("discarding %d unusable embedding shard(s) in %s (corrupt, altered or of an older format, "
                        "e.g. %s); their texts will be encoded again", len(discarded), self.cache_dir, discarded[0])

    def _probe_dimension(self) -> int:
        """The dimension the encoder really produces, so that shards of another size are never trusted."""
        vectors = np.asarray(self.encoder.encode([_PROBE_TEXT], "query", batch_size=1))
        if vectors.ndim != 2 or vectors.shape[0] != 1:
            raise ModelError(f"encoder {self.encoder.name!r} returned shape {vectors.shape} for one text")
        return int(vectors.shape[1])

    def _read_shard(self, path: Path) -> tuple[list[bytes], np.ndarray] | None:
        """The keys and vectors of a shard, or ``None`` when it is corrupt or belongs to another model."""
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vectors, fingerprint = data["keys"], data["vectors"], str(data["fingerprint"])
                checksum = str(data["checksum"])
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
            return None
        valid = (
            fingerprint == self.fingerprint
            and keys.dtype == np.uint8
            and keys.ndim == 2
            and keys.shape[1] == _KEY_BYTES
            and vectors.dtype == np.float32
            and vectors.ndim == 2
            and vectors.shape[0] == keys.shape[0]
            and vectors.shape[1] == self.dim
            and bool(np.isfinite(vectors).all())
            and checksum == shard_checksum(fingerprint, keys, vectors)
        )
        return ([row.tobytes() for row in keys], vectors) if valid else None


_UNWRITABLE_WARNED: set[Path] = set()


def writable_cache_root(cache_root: str | Path | None) -> Path | None:
    """``cache_root`` when a file can be created in it (made if missing), else ``None`` with one warning per folder
    and process, so a read-only cache costs the caching, not the run's encoding."""
    if cache_root is None:
        return None
    root = Path(cache_root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as exc:
        if root not in _UNWRITABLE_WARNED:
            _UNWRITABLE_WARNED.add(root)
            log.warning("the embedding cache %s cannot be written (%s); embeddings are kept in memory only (set "
                        "POLYRET_CACHE_DIR to a writable folder to keep them)", root, exc.strerror or exc)
        return None
    return root


def shard_checksum(fingerprint: str, keys: np.ndarray, vectors: np.ndarray) -> str:
    """The sha256 of a shard's fingerprint, key bytes and vector bytes (little-endian float32)."""
    digest = hashlib.sha256(fingerprint.encode() + b"\0")
    digest.update(np.ascontiguousarray(keys, dtype=np.uint8).tobytes())
    digest.update(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
    return digest.hexdigest()


def text_key(role: str, text: str) -> bytes:
    """The cache key of ``text`` encoded in ``role``: sha256 of ``role``, a NUL byte and the UTF-8 text."""
    return hashlib.sha256(f"{role}\0{text}".encode()).digest()
