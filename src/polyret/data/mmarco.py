"""The mMARCO layout as a corpus source: one id-triples file over per-language query and passage tables.

A folder holding::

    triples.tsv[.gz]            qid <TAB> positive passage id <TAB> negative passage id, one triple per line
    queries/<lang>.tsv[.gz]     qid <TAB> query text      (the same ids in the same order in every language)
    collection/<lang>.tsv[.gz]  pid <TAB> passage text    (likewise)

Consecutive triples with one (qid, positive) become one row (id ``"<qid>:<pid>"``, group ``<qid>``) with up to
``max_negatives`` distinct negatives, in every language. Sort the triples by qid and positive first (GNU ``sort``
works on disk). Queries and passages are first copied into Arrow files in a work folder, indexed by a sorted
``int64`` id array, so lookups are memory-mapped and memory grows with the number of ids, not with the texts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from polyret.data.corpus import ShardBatches
from polyret.data.languages import normalize_language
from polyret.data.parsing import split_columns
from polyret.data.records import ParallelQA
from polyret.errors import DataError
from polyret.io import iter_lines

BATCH_ROWS = 4096
RESOLVE_ROWS = 256
"""Rows whose texts are looked up at once: each maps about (2 + negatives) x languages pages of the tables."""
_TEXT_SCHEMA = pa.schema([("text", pa.large_string())])


def is_mmarco_folder(path: Path) -> bool:
    """Whether ``path`` has the mMARCO layout (a triples file and ``queries/`` and ``collection/`` folders)."""
    return bool(_triples_files(path)) and (path / "queries").is_dir() and (path / "collection").is_dir()


def _triples_files(path: Path) -> list[Path]:
    return sorted(p for p in path.glob("triples*.tsv*") if p.is_file())


@dataclass
class _Table:
    """One id -> text table staged as Arrow: ids sorted with their row, texts memory-mapped per language."""

    sorted_ids: np.ndarray
    rows_of_sorted: np.ndarray
    texts: dict[str, ShardBatches]

    def rows(self, ids: np.ndarray, what: str, where: str, line_numbers: np.ndarray) -> np.ndarray:
        position = np.minimum(np.searchsorted(self.sorted_ids, ids), self.sorted_ids.size - 1)
        missing = np.flatnonzero(self.sorted_ids[position] != ids)
        if missing.size:
            first = int(missing[0])
            raise DataError(where, f"{what} id {int(ids[first])} not found", record=int(line_numbers[first]),
                            expected=f"ids present in every {what} file")
        return self.rows_of_sorted[position]


class MMarcoSource:
    """Rows of an mMARCO-layout folder (see the module docstring).

    Args:
        folder: the folder.
        max_negatives: keep at most this many distinct negatives per row.
    """

    kind = "mmarco"

    def __init__(self, folder: str | Path, *, max_negatives: int = 8):
        self.folder = Path(folder)
        self.name = str(folder)
        self.max_negatives = max_negatives
        self.triples = _triples_files(self.folder)[0]
        self._digests: dict[str, str] = {}

    def record_label(self, number: int) -> int | str:
        return number

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self._digests):
            digest.update(f"{name}\t{self._digests[name]}\n".encode())
        return digest.hexdigest()

    def items(self, work_dir: Path) -> Iterator[tuple[int, ParallelQA]]:
        """Stage the tables in ``work_dir``, then read the triples (``(first line, item)`` per row)."""
        queries = self._stage("queries", work_dir)
        passages = self._stage("collection", work_dir)
        for lines in _chunks(self._grouped_triples(), RESOLVE_ROWS):
            yield from self._resolve(lines, queries, passages)
            for table in (*queries.texts.values(), *passages.texts.values()):
                table.release_pages()

    def _stage(self, kind: str, work_dir: Path) -> _Table:
        files = {normalize_language(p.name.split(".")[0], path=p): p
                 for p in sorted((self.folder / kind).glob("*.tsv*"))}
        if not files:
            raise DataError(self.folder / kind, "no <lang>.tsv files", expected="one id<TAB>text file per language")
        reference: np.ndarray | None = None
        texts = {}
        for lang, path in files.items():
            ids = self._stage_file(path, work_dir / f"{kind}.{lang}.arrow", reference)
            reference = ids if reference is None else reference
            texts[lang] = ShardBatches.open(work_dir, [f"{kind}.{lang}.arrow"])
        order = np.argsort(reference, kind="stable")
        sorted_ids = reference[order]
        duplicate = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
        if duplicate.size:
            raise DataError(next(iter(files.values())), f"id {int(sorted_ids[duplicate[0]])} occurs twice",
                            record=int(order[duplicate[0] + 1]) + 1, expected="unique ids")
        return _Table(sorted_ids, order, texts)

    def _stage_file(self, path: Path, target: Path, reference: np.ndarray | None) -> np.ndarray:
        """Copy ``path``'s texts into ``target`` (Arrow), return its ids (checked against ``reference``)."""
        digest = hashlib.sha256()
        chunks: list[np.ndarray] = []
        start = 0
        with pa.ipc.new_file(str(target), _TEXT_SCHEMA) as writer:
            for lines in _chunks(enumerate(iter_lines(path, digest), start=1), BATCH_ROWS):
                pairs = [_id_and_text(line, path, number) for number, line in lines]
                ids = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
                if reference is not None and not np.array_equal(reference[start : start + ids.size], ids):
                    raise DataError(path, "ids differ from the first language's file", record=lines[0][0],
                                    expected="the same ids in the same order in every language")
                chunks.append(ids)
                start += ids.size
                writer.write_batch(pa.record_batch([pa.array([t for _, t in pairs], pa.large_string())],
                                                   schema=_TEXT_SCHEMA))
        ids = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
        if reference is not None and ids.size != reference.size:
            raise DataError(path, f"{ids.size} lines", expected=f"{reference.size}, as in the first language's file")
        self._digests[path.relative_to(self.folder).as_posix()] = digest.hexdigest()
        return ids

    def _grouped_triples(self) -> Iterator[tuple[int, int, int, list[int]]]:
        """``(first line, qid, pid, negative ids)`` for each run of consecutive triples with one (qid, pid)."""
        digest = hashlib.sha256()
        current: tuple[int, int, int, list[int]] | None = None
        for number, line in enumerate(iter_lines(self.triples, digest), start=1):
            if not line.strip():
                continue
            qid, pid, nid = (_integer(v, self.triples, number) for v in split_columns(
                line, 3, self.triples, number, "qid<TAB>positive id<TAB>negative id"))
            if current is not None and (current[1], current[2]) == (qid, pid):
                if nid not in current[3] and len(current[3]) < self.max_negatives:
                    current[3].append(nid)
                continue
            if current is not None:
                yield current
            current = (number, qid, pid, [nid][: self.max_negatives])
        if current is not None:
            yield current
        self._digests[self.triples.name] = digest.hexdigest()

    def _resolve(self, rows: list[tuple[int, int, int, list[int]]], queries: _Table,
                 passages: _Table) -> Iterator[tuple[int, ParallelQA]]:
        lines = np.asarray([r[0] for r in rows], dtype=np.int64)
        negative_lines = np.repeat(lines, [len(r[3]) for r in rows])
        where = str(self.triples)
        query_rows = queries.rows(np.asarray([r[1] for r in rows]), "query", where, lines)
        positive_rows = passages.rows(np.asarray([r[2] for r in rows]), "passage", where, lines)
        negative_rows = passages.rows(np.asarray([n for r in rows for n in r[3]], np.int64), "passage", where,
                                      negative_lines)
        question = {lang: t.take("text", query_rows) for lang, t in queries.texts.items()}
        answer = {lang: t.take("text", positive_rows) for lang, t in passages.texts.items()}
        negative = {lang: t.take("text", negative_rows) for lang, t in passages.texts.items()}
        offset = 0
        for index, (line, qid, pid, negatives) in enumerate(rows):
            span = slice(offset, offset + len(negatives))
            offset += len(negatives)
            yield line, ParallelQA(
                f"{qid}:{pid}", {lang: texts[index] for lang, texts in question.items()},
                {lang: texts[index] for lang, texts in answer.items()}, group=str(qid),
                negatives={lang: tuple(texts[span]) for lang, texts in negative.items()} if negatives else {},
            )


def _id_and_text(line: str, path: Path, number: int) -> tuple[int, str]:
    identifier, text = split_columns(line, 2, path, number, "id<TAB>text")
    return _integer(identifier, path, number), text


def _integer(value: str, path: Path, number: int) -> int:
    try:
        return int(value)
    except ValueError:
        raise DataError(path, f"id {value[:40]!r} is not an integer", record=number,
                        expected="integer ids as in mMARCO") from None


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
