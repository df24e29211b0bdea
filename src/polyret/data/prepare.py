"""``polyret data prepare``: training data of any supported source turned into a prepared corpus folder.

The corpus is written into a sibling folder ``.<name>.preparing`` (marked as polyret's by a file inside),
``manifest.json`` is written last, and the folder is renamed into place only then: an interrupted prepare
(Ctrl-C, SIGKILL, power loss) never leaves a folder that :meth:`PreparedCorpus.open` accepts. Rerunning the
command removes the leftovers it recognises as its own and starts again; nothing polyret did not write is
deleted.

Example:
    >>> corpus = prepare_corpus([QAJsonlSource("train.jsonl.gz")], "corpora/train")  # doctest: +SKIP
    >>> len(corpus), corpus.languages                                              # doctest: +SKIP

Relations:
    Reads :mod:`polyret.data.corpus_sources` / :mod:`polyret.data.mmarco`, writes with
    :class:`polyret.data.corpus_writer.CorpusWriter`, returns :class:`polyret.data.corpus.PreparedCorpus`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from polyret.data.corpus import FORMAT, FORMAT_VERSION, MANIFEST, PreparedCorpus, is_prepared_corpus
from polyret.data.corpus_sources import ArrowSource, CorpusSource, QAJsonlSource
from polyret.data.corpus_writer import CorpusWriter
from polyret.data.mmarco import MMarcoSource, is_mmarco_folder
from polyret.errors import DataError, UsageError
from polyret.io import check_output_dir, write_json

STAGING_MARKER = ".polyret-preparing"
ROWS_PER_SHARD = 500_000
BATCH_ROWS = 4096


def open_source(path: str | Path, *, allow_unknown_languages: bool = False, max_negatives: int = 8) -> CorpusSource:
    """The source reading ``path``: an mMARCO folder, a saved data set / Parquet folder or file, else QA JSONL."""
    path = Path(path)
    if path.is_dir() and is_mmarco_folder(path):
        return MMarcoSource(path, max_negatives=max_negatives)
    if path.is_dir() or path.suffix == ".parquet":
        return ArrowSource(path, allow_unknown_languages=allow_unknown_languages)
    return QAJsonlSource(path, allow_unknown_languages=allow_unknown_languages)


def prepare_corpus(
    sources: Sequence[CorpusSource],
    output: str | Path,
    *,
    rows_per_shard: int = ROWS_PER_SHARD,
    batch_rows: int = BATCH_ROWS,
    on_record: Callable[[int], None] | None = None,
    extra: Callable[[], dict[str, Any]] | None = None,
) -> PreparedCorpus:
    """Read ``sources`` in order into one prepared corpus at ``output`` (replacing a corpus already there).

    Args:
        sources: the training data (see :func:`open_source`); their rows follow each other.
        output: the corpus folder to create.
        rows_per_shard: rows per Arrow shard file.
        batch_rows: rows per record batch, what is held in memory at once.
        on_record: called with the number of rows written so far, every ``batch_rows`` rows.
        extra: called once the sources were read; its entries are added to the manifest (e.g. how a derived
            corpus was made).

    Raises:
        UsageError: no source, or ``output`` is a file or a folder holding something other than a corpus.
        DataError: bad input, naming the source and record.
    """
    if not sources:
        raise UsageError("no training data given (expected at least one source to prepare)")
    output = _check_target(Path(output))
    staging = _fresh_staging(output)
    try:
        writer = CorpusWriter(staging, sources, rows_per_shard=rows_per_shard, batch_rows=batch_rows)
        count = 0
        for index, source in enumerate(sources):
            work_dir = staging / "work"
            work_dir.mkdir()
            for record, item in source.items(work_dir):
                writer.add(item, index, record)
                count += 1
                if on_record is not None and count % batch_rows == 0:
                    on_record(count)
            shutil.rmtree(work_dir)
        written = writer.close()
        if not written.rows:
            raise DataError(", ".join(s.name for s in sources), "no records", expected="at least one question")
        settings = {"rows_per_shard": rows_per_shard, "batch_rows": batch_rows}
        described = [{"name": s.name, "kind": s.kind, "sha256": s.sha256()} for s in sources]
        write_json(staging / MANIFEST, {
            "format": FORMAT, "format_version": FORMAT_VERSION, "digest": _corpus_digest(described),
            "rows": written.rows, "languages": written.languages, "columns": written.columns,
            "shards": written.shards, "sources": described, "settings": settings, **(extra() if extra else {}),
        })
        _swap_into_place(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PreparedCorpus.open(output)


def _corpus_digest(sources: list[dict[str, Any]]) -> str:
    """The corpus's identity: its format version and the kind and sha256 of each source, in order."""
    content = {"format_version": FORMAT_VERSION, "sources": [[s["kind"], s["sha256"]] for s in sources]}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _check_target(output: Path) -> Path:
    """``output`` may be absent, an empty folder or a prepared corpus (which is replaced), nothing else."""
    check_output_dir(output)
    if output.is_dir() and any(output.iterdir()) and not is_prepared_corpus(output):
        raise UsageError(f"{output}: the folder holds files that are not a prepared corpus (choose a new or empty "
                         "folder; polyret replaces only a corpus it prepared)")
    return output


def _sibling(output: Path, suffix: str) -> Path:
    return output.parent / f".{output.name}.{suffix}"


def _fresh_staging(output: Path) -> Path:
    """An empty staging folder beside ``output`` marked as polyret's, after removing an interrupted one."""
    staging = _sibling(output, "preparing")
    for leftover in (staging, _sibling(output, "replaced")):
        if leftover.exists():
            ours = (leftover / STAGING_MARKER).is_file() or is_prepared_corpus(leftover)
            if not (ours or not any(leftover.iterdir())):
                raise UsageError(f"{leftover}: exists and was not written by polyret data prepare (move it away)")
            shutil.rmtree(leftover)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging.mkdir()
    (staging / STAGING_MARKER).write_text(f"polyret data prepare, pid {os.getpid()}\n", encoding="utf-8")
    return staging


def _swap_into_place(staging: Path, output: Path) -> None:
    """Rename the finished ``staging`` to ``output``; a corpus already there is moved aside, then removed."""
    replaced = _sibling(output, "replaced")
    if output.exists():
        os.rename(output, replaced)
    os.rename(staging, output)
    with contextlib.suppress(FileNotFoundError):
        (output / STAGING_MARKER).unlink()
    if replaced.exists():
        shutil.rmtree(replaced)
