"""Write parallel questions as Arrow shards in bounded memory, then derive the answer keys (``polyret data prepare``).

Records arrive one at a time; every ``batch_rows`` of them become one Arrow record batch appended to the current
shard, and a shard is closed at ``rows_per_shard`` rows (or when a language first appears, since a shard has one
schema). Per row only a few 64-bit digests are kept on disk (:mod:`polyret.data.answer_keys`), so memory depends
on the batch size, not on the data's size.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa

from polyret.data.answer_keys import DigestLog, text_digests, write_answer_keys
from polyret.data.corpus import ANSWER_KEYS, TEXT_FIELDS, ShardBatches, column_name, shard_name
from polyret.data.records import ParallelQA
from polyret.errors import DataError

BATCH_CHARS = 16_000_000
"""A record batch is written once its texts reach this many characters, whatever ``batch_rows`` says (rows with
many long negatives would otherwise hold far more memory per batch than plain QA rows)."""
TEXT = pa.large_string()
NEGATIVES = pa.list_(pa.large_string())


class RecordSource(Protocol):
    """What a writer needs to name a record in an error: the source's name and a record's label."""

    name: str

    def record_label(self, number: int) -> int | str:
        """The label of record ``number`` (a line number, or ``"row N"``)."""
        ...


@dataclass(frozen=True)
class WrittenCorpus:
    """What :meth:`CorpusWriter.close` leaves in the folder: shard names, row count, columns, languages."""

    shards: list[str]
    rows: int
    columns: list[str]
    languages: list[str]


class CorpusWriter:
    """Append :class:`ParallelQA` records to Arrow shards in ``folder``; :meth:`close` writes the answer keys.

    Args:
        folder: the (staging) folder to fill.
        sources: the sources records come from, for error messages (``add`` names them by index).
        rows_per_shard: rows per shard file.
        batch_rows: rows per record batch (what is held in memory at once).
    """

    def __init__(self, folder: Path, sources: Sequence[RecordSource], *, rows_per_shard: int, batch_rows: int):
        self.folder = folder
        self.sources = sources
        self.rows_per_shard = rows_per_shard
        self.batch_rows = batch_rows
        self.rows = 0
        self.shards: list[str] = []
        self._pending: list[ParallelQA] = []
        self._pending_chars = 0
        self._origins: list[tuple[int, int]] = []
        self._shard: pa.ipc.RecordBatchFileWriter | None = None
        self._schema = pa.schema([])
        self._shard_rows = 0
        self._columns: set[str] = set()
        self._work = folder / "digests"
        self._work.mkdir()
        self._log = DigestLog(self._work)

    def add(self, item: ParallelQA, source_index: int, record: int) -> None:
        """Queue one record (from record number ``record`` of ``sources[source_index]``)."""
        self._pending.append(item)
        self._origins.append((source_index, record))
        self._pending_chars += _chars(item)
        full = len(self._pending) >= min(self.batch_rows, self.rows_per_shard - self._shard_rows)
        if full or self._pending_chars >= BATCH_CHARS:
            self._flush()

    def close(self) -> WrittenCorpus:
        """Write what is queued, check that ids are unique, and save ``answer_keys.npy``.

        Raises:
            DataError: two records share an id (naming both sources and records).
        """
        self._flush()
        self._close_shard()
        self._check_unique_ids()
        languages = sorted({name.split(".", 1)[1] for name in self._columns if "." in name})
        answers = [column_name("answer", lang) for lang in languages]
        groups = itertools.chain.from_iterable(self._log.runs(name) for name in answers)
        write_answer_keys(self.folder / ANSWER_KEYS, self.rows, groups)
        shutil.rmtree(self._work)
        return WrittenCorpus(list(self.shards), self.rows, sorted(self._columns), languages)

    def _flush(self) -> None:
        if not self._pending:
            return
        batch = _record_batch(self._pending)
        if self._shard is None or not set(batch.schema.names) <= set(self._schema.names):
            self._open_shard(batch.schema.names)
        self._shard.write_batch(_conform(batch, self._schema))  # type: ignore[union-attr]
        self._shard_rows += batch.num_rows
        digests = {"id": text_digests(item.id for item in self._pending),
                   "origin": np.asarray(self._origins, dtype=np.int64)}
        for lang in {lang for item in self._pending for lang in item.answers}:
            digests[column_name("answer", lang)] = text_digests(item.answers.get(lang) for item in self._pending)
        self._log.append(digests, batch.num_rows)
        self.rows += batch.num_rows
        self._pending, self._origins, self._pending_chars = [], [], 0
        if self._shard_rows >= self.rows_per_shard:
            self._close_shard()

    def _open_shard(self, names: Sequence[str]) -> None:
        self._close_shard()
        columns = sorted(set(self._schema.names) | set(names), key=_column_order)
        self._schema = pa.schema([(name, _column_type(name)) for name in columns])
        self.shards.append(shard_name(len(self.shards)))
        self._shard = pa.ipc.new_file(str(self.folder / self.shards[-1]), self._schema)
        self._shard_rows = 0
        self._columns |= set(columns)

    def _close_shard(self) -> None:
        if self._shard is not None:
            self._shard.close()
            self._shard = None

    def _check_unique_ids(self) -> None:
        for rows in self._log.runs("id"):
            (first, first_record), (second, second_record) = (
                (self.sources[int(source)], int(record)) for source, record in
                (self._log.value("origin", int(row)) for row in rows[:2]))
            identifier = ShardBatches.open(self.folder, self.shards).take("id", rows[:1])[0]
            raise DataError(
                second.name, f"duplicate id {identifier!r} (first in {first.name}, "
                f"{_label(first.record_label(first_record))})", record=second.record_label(second_record),
                expected="unique ids (one record per aligned question)")


def _chars(item: ParallelQA) -> int:
    texts = (*item.questions.values(), *item.answers.values(), *item.contexts.values())
    return sum(map(len, texts)) + sum(len(text) for found in item.negatives.values() for text in found)


def _label(record: int | str) -> str:
    return f"line {record}" if isinstance(record, int) else str(record)


def _record_batch(items: Sequence[ParallelQA]) -> pa.RecordBatch:
    """One record batch of ``items``: id, group, then field.lang columns for the languages they have."""
    columns: dict[str, pa.Array] = {
        "id": pa.array([item.id for item in items], TEXT),
        "group": pa.array([item.group for item in items], TEXT),
    }
    for field in TEXT_FIELDS:
        attribute = f"{field}s"
        for lang in sorted({lang for item in items for lang in getattr(item, attribute)}):
            columns[column_name(field, lang)] = pa.array([getattr(item, attribute).get(lang) for item in items], TEXT)
    for lang in sorted({lang for item in items for lang in item.negatives}):
        found = [list(item.negatives[lang]) if lang in item.negatives else None for item in items]
        columns[column_name("negatives", lang)] = pa.array(found, NEGATIVES)
    return pa.RecordBatch.from_pydict(columns)


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with ``schema``'s columns in its order, all-null where the batch lacks one."""
    present = set(batch.schema.names)
    arrays = [batch.column(f.name) if f.name in present else pa.nulls(batch.num_rows, f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _column_type(name: str) -> pa.DataType:
    return NEGATIVES if name.startswith("negatives.") else TEXT


def _column_order(name: str) -> tuple[int, str]:
    return (0, name) if "." not in name else (1, name)
