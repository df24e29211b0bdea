"""A prepared corpus: parallel questions as memory-mapped Arrow columns on disk (``polyret data prepare``).

A corpus folder holds ``shard-NNNNN.arrow`` files (Arrow IPC, one row per aligned question, one ``large_string``
column per field and language: ``question.en``, ``answer.en``, ``context.en``, ``negatives.en`` as
``list<large_string>``, plus ``id`` and ``group``), ``answer_keys.npy`` (``int64`` per row) and ``manifest.json``,
written last: a folder without a manifest of this format is not a corpus. Opening one maps the files; texts are
read only for the rows asked for.

Example:
    >>> corpus = PreparedCorpus.open("corpora/mmarco")          # doctest: +SKIP
    >>> rows = np.flatnonzero(corpus.has("question", "de") & corpus.has("answer", "fr"))  # doctest: +SKIP
    >>> corpus.texts("question", "de", rows[:4])                # doctest: +SKIP

Relations:
    Implements :class:`polyret.data.columns.QuestionColumns`; :mod:`polyret.data.prepare` writes it.
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from polyret.data.columns import TextField
from polyret.errors import DataError
from polyret.io import read_json

FORMAT = "polyret-prepared-corpus"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ANSWER_KEYS = "answer_keys.npy"
TEXT_FIELDS: tuple[TextField, ...] = ("question", "answer", "context")


def column_name(field: str, lang: str) -> str:
    """The column of ``field`` (``question``, ``answer``, ``context``, ``negatives``) in ``lang``: ``question.de``."""
    return f"{field}.{lang}"


def shard_name(index: int) -> str:
    """The file name of shard ``index``."""
    return f"shard-{index:05d}.arrow"


def is_prepared_corpus(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding a complete prepared corpus (its manifest names this format)."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        return False
    try:
        return read_json(manifest).get("format") == FORMAT
    except (DataError, AttributeError):
        return False


@dataclass(frozen=True)
class ShardBatches:
    """Every record batch of some memory-mapped shards in row order, with the first row of each.

    Attributes:
        batches: the record batches (zero-copy views of the mapped files).
        starts: the global row of each batch's first row.
        rows: the total number of rows.
    """

    batches: list[pa.RecordBatch]
    starts: np.ndarray
    rows: int
    maps: list[mmap.mmap]

    @classmethod
    def open(cls, folder: Path, shard_names: Sequence[str]) -> ShardBatches:
        """Map the shards ``shard_names`` of ``folder`` for random access (one page per row read, no read-ahead).

        Raises:
            DataError: a shard is missing or not an Arrow IPC file.
        """
        batches: list[pa.RecordBatch] = []
        maps: list[mmap.mmap] = []
        for name in shard_names:
            try:
                with (folder / name).open("rb") as handle:
                    maps.append(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
                maps[-1].madvise(mmap.MADV_RANDOM)  # rows are read at random: no read-ahead into memory
                reader = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(maps[-1])))
            except (OSError, ValueError, pa.ArrowInvalid) as exc:
                raise DataError(folder / name, f"unreadable shard ({exc})", expected="an Arrow IPC file") from None
            batches.extend(reader.get_batch(i) for i in range(reader.num_record_batches))
        ends = np.cumsum([0] + [b.num_rows for b in batches], dtype=np.int64)
        return cls(batches, ends[:-1], int(ends[-1]), maps)

    def release_pages(self) -> None:
        """Drop the file pages this process has mapped (they stay in the page cache and are read again on use).

        Random reads over a big corpus map more and more of it; calling this now and then keeps the resident
        memory of the process flat without changing what is read.
        """
        for mapped in self.maps:
            mapped.madvise(mmap.MADV_DONTNEED)

    def valid(self, name: str) -> np.ndarray:
        """``bool`` per row: whether column ``name`` holds a value there (False where a shard lacks it)."""
        parts = [_valid(batch, name) for batch in self.batches]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)

    def list_lengths(self, name: str) -> np.ndarray:
        """``int64`` per row: the length of list column ``name`` there (0 where null or where a shard lacks it)."""
        parts = [batch.column(name).value_lengths().fill_null(0).to_numpy().astype(np.int64)
                 if name in batch.schema.names else np.zeros(batch.num_rows, dtype=np.int64)
                 for batch in self.batches]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def take(self, name: str, rows: Sequence[int] | np.ndarray) -> list[Any]:
        """Values of column ``name`` at ``rows`` in their order, reading only those rows' batches."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= self.rows):
            raise IndexError(f"row out of range 0..{self.rows - 1}")
        which = np.searchsorted(self.starts, rows, side="right") - 1
        local = rows - self.starts[which]
        out: list[Any] = [None] * rows.size
        order = np.argsort(which, kind="stable")
        for positions in np.split(order, np.flatnonzero(np.diff(which[order])) + 1):
            batch = self.batches[which[positions[0]]] if positions.size else None
            if batch is None or name not in batch.schema.names:
                continue
            values = batch.column(name).take(pa.array(local[positions])).to_pylist()
            for position, value in zip(positions.tolist(), values, strict=True):
                out[position] = value
        return out


class PreparedCorpus:
    """A prepared corpus opened read-only; implements :class:`~polyret.data.columns.QuestionColumns`.

    Use :meth:`open`. Columns absent from a shard (a language that first occurs later in the data) read as null.

    Attributes:
        source: the folder, for messages.
        languages: every language of any field, sorted.
        manifest: the parsed ``manifest.json`` (format, row count, columns, sources with their sha256, settings).
        digest: the corpus's sha256 (of its format, settings and sources' digests), for provenance.
    """

    def __init__(self, folder: Path, manifest: dict[str, Any], batches: ShardBatches, answer_keys: np.ndarray):
        self.folder = folder
        self.source = str(folder)
        self.manifest = manifest
        self.languages = tuple(manifest["languages"])
        self.digest: str = manifest["digest"]
        self._batches = batches
        self._answer_keys = answer_keys

    @classmethod
    def open(cls, folder: str | Path) -> PreparedCorpus:
        """Map a prepared corpus folder.

        Raises:
            DataError: the folder is not a complete prepared corpus of this format version (e.g. an interrupted
                ``polyret data prepare``), or its files do not match its manifest.
        """
        folder = Path(folder)
        if not is_prepared_corpus(folder):
            raise DataError(folder, "not a complete prepared corpus (no manifest.json of this format)",
                            expected="a folder written by `polyret data prepare` that finished")
        manifest = read_json(folder / MANIFEST)
        if manifest.get("format_version") != FORMAT_VERSION:
            raise DataError(folder / MANIFEST, f"format version {manifest.get('format_version')!r}",
                            expected=f"version {FORMAT_VERSION} (prepare the corpus again with this polyret)")
        return cls._map(folder, manifest)

    @classmethod
    def _map(cls, folder: Path, manifest: dict[str, Any]) -> PreparedCorpus:
        batches = ShardBatches.open(folder, manifest["shards"])
        if batches.rows != manifest["rows"]:
            raise DataError(folder, f"{batches.rows} rows in the shards",
                            expected=f"{manifest['rows']} (the manifest's)")
        keys = np.load(folder / ANSWER_KEYS, mmap_mode="r", allow_pickle=False)
        if keys.shape != (manifest["rows"],) or keys.dtype != np.int64:
            raise DataError(folder / ANSWER_KEYS, f"shape {keys.shape} {keys.dtype}",
                            expected=f"int64 of length {manifest['rows']}")
        return cls(folder, manifest, batches, keys)

    def __len__(self) -> int:
        return int(self.manifest["rows"])

    def answer_keys(self) -> np.ndarray:
        """``int64`` per row (a read-only view of the mapped file): rows with equal keys share an answer text."""
        return self._answer_keys

    def has(self, field: TextField, lang: str) -> np.ndarray:
        """``bool`` per row: whether the row has ``field`` in ``lang`` (read from the null bitmaps)."""
        return self._batches.valid(column_name(field, lang))

    def ids(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The alignment ids of ``rows``."""
        return self._batches.take("id", rows)

    def groups(self, rows: Sequence[int] | np.ndarray) -> list[str | None]:
        """The article/group of ``rows`` (``None`` where unknown)."""
        return self._batches.take("group", rows)

    def texts(self, field: TextField, lang: str, rows: Sequence[int] | np.ndarray) -> list[str | None]:
        """``field`` in ``lang`` of ``rows`` (``None`` where a row lacks it)."""
        return self._batches.take(column_name(field, lang), rows)

    def negatives(self, lang: str, rows: Sequence[int] | np.ndarray) -> list[list[str]]:
        """Hard-negative passages in ``lang`` of ``rows`` (empty lists where there are none)."""
        return [found or [] for found in self._batches.take(column_name("negatives", lang), rows)]

    def negative_counts(self, lang: str) -> np.ndarray:
        """``int64`` per row: how many hard negatives the row has in ``lang`` (read from the list offsets alone)."""
        return self._batches.list_lengths(column_name("negatives", lang))

    def release_pages(self) -> None:
        """Drop the shard pages mapped so far from this process's resident memory (see ShardBatches)."""
        self._batches.release_pages()


def _valid(batch: pa.RecordBatch, name: str) -> np.ndarray:
    """The validity bitmap of a column, unpacked (no compute kernel: nothing but the bitmap is read)."""
    if name not in batch.schema.names:
        return np.zeros(batch.num_rows, dtype=bool)
    column = batch.column(name)
    bitmap = column.buffers()[0]
    if bitmap is None:
        return np.ones(len(column), dtype=bool)
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[column.offset : column.offset + len(column)].astype(bool)
