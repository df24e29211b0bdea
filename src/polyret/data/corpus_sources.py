"""Training data read as a stream of :class:`ParallelQA` for ``polyret data prepare``, with each source's sha256.

Sources: the QA JSON-lines format (plain or ``.gz``, see :mod:`polyret.data.user_qa`), a ``datasets.Dataset``
(in memory or saved with ``save_to_disk``), Parquet files, and the mMARCO layout (:mod:`polyret.data.mmarco`).
Each yields ``(record number, item)`` and knows its digest once read to the end; nothing is held beyond one
record batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from polyret.data.parsing import ProblemLog, iter_jsonl
from polyret.data.records import ParallelQA
from polyret.data.user_qa import parse_qa_record
from polyret.errors import DataError
from polyret.provenance import file_sha256

ARROW_BATCH_ROWS = 1024


class CorpusSource(Protocol):
    """Training data read as a stream.

    Attributes:
        name: the path (or data set name) for messages and the manifest.
        kind: ``qa-jsonl``, ``arrow``, ``parquet``, ``dataset`` or ``mmarco``.
    """

    name: str
    kind: str

    def items(self, work_dir: Path) -> Iterator[tuple[int, ParallelQA]]:
        """``(record number, item)`` in order; raises :class:`DataError` naming the record on bad input.

        Args:
            work_dir: an empty folder for temporary files, removed after the source was read.
        """
        ...

    def record_label(self, number: int) -> int | str:
        """How a record number is named in messages (a line number or ``"row N"``)."""
        ...

    def sha256(self) -> str:
        """The source's digest (available once :meth:`items` was read to the end)."""
        ...


class QAJsonlSource:
    """A QA JSON-lines file (plain or gzip) parsed line by line; its sha256 is computed while it is read."""

    kind = "qa-jsonl"

    def __init__(self, path: str | Path, *, allow_unknown_languages: bool = False):
        self.path = Path(path)
        self.name = str(path)
        self.allow_unknown = allow_unknown_languages
        self._digest = hashlib.sha256()

    def items(self, work_dir: Path) -> Iterator[tuple[int, ParallelQA]]:
        self._digest = hashlib.sha256()
        for line, obj in iter_jsonl(self.path, ProblemLog(), self._digest):
            yield line, parse_qa_record(obj, self.path, line, self.allow_unknown)

    def record_label(self, number: int) -> int | str:
        return number

    def sha256(self) -> str:
        return self._digest.hexdigest()


class ArrowSource:
    """Rows with the QA columns from a ``datasets.Dataset``, a ``save_to_disk`` folder or Parquet file(s).

    Args:
        data: a path (a saved data set folder, a ``.parquet`` file or a folder of them) or a ``datasets.Dataset``.
        allow_unknown_languages: keep language codes polyret does not know.
    """

    def __init__(self, data: Any, *, allow_unknown_languages: bool = False):
        self.data = data
        self.allow_unknown = allow_unknown_languages
        if isinstance(data, str | Path):
            self.name = str(data)
            self.kind = "parquet" if _parquet_files(Path(data)) else "arrow"
        else:
            self.name = getattr(getattr(data, "info", None), "dataset_name", None) or "dataset"
            self.kind = "dataset"

    def items(self, work_dir: Path) -> Iterator[tuple[int, ParallelQA]]:
        number = 0
        for batch in self._batches():
            for row in batch.to_pylist():
                yield number, parse_qa_record(row, self.name, self.record_label(number), self.allow_unknown)
                number += 1

    def record_label(self, number: int) -> int | str:
        return f"row {number}"

    def sha256(self) -> str:
        if self.kind == "dataset":
            return hashlib.sha256(str(getattr(self.data, "_fingerprint", "")).encode()).hexdigest()
        return folder_sha256(Path(self.data))

    def _batches(self) -> Iterator[pa.RecordBatch]:
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            for file in _parquet_files(Path(self.data)):
                yield from pq.ParquetFile(file).iter_batches(batch_size=ARROW_BATCH_ROWS)
            return
        dataset = self.data if self.kind == "dataset" else _load_from_disk(Path(self.data))
        yield from dataset.with_format("arrow").iter(batch_size=ARROW_BATCH_ROWS)


def folder_sha256(path: Path) -> str:
    """sha256 of a file, or of a folder's files (relative names and contents, in sorted order), read in chunks."""
    if not path.is_dir():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\t{file_sha256(file)}\n".encode())
    return digest.hexdigest()


def _parquet_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if path.suffix == ".parquet" else []
    return sorted(path.rglob("*.parquet")) if path.is_dir() else []


def _load_from_disk(folder: Path) -> Any:
    import datasets

    try:
        return datasets.load_from_disk(str(folder))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(folder, f"not a saved data set ({exc})",
                        expected="a folder written by datasets' save_to_disk, or Parquet files") from None
