"""TREC run and qrels files, so any run can be scored by trec_eval / pytrec_eval / ir_measures too.

- run: ``qid Q0 docid rank score tag`` per line, each query's documents best first (ties: docid ascending);
- qrels: ``qid 0 docid relevance`` per line.

Files are written atomically; ids must not contain whitespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from polyret.errors import DataError, UsageError
from polyret.io import atomic_write, read_lines

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]


def run_from_top_k(
    query_ids: Sequence[str], passage_ids: Sequence[str], scores: np.ndarray, indices: np.ndarray
) -> Run:
    """Turn :func:`polyret.evaluation.search.top_k` output into ``run[query_id][passage_id] = score``."""
    return {
        qid: {passage_ids[j]: float(s) for s, j in zip(row_scores, row_indices, strict=True) if j >= 0}
        for qid, row_scores, row_indices in zip(query_ids, scores, indices, strict=True)
    }


def write_run(path: str | Path, run: Mapping[str, Mapping[str, float]], *, tag: str = "polyret") -> None:
    """Write ``run[query_id][doc_id] = score`` as a TREC run file."""
    _check_ids([tag], "run tag")
    with atomic_write(path) as handle:
        for qid, docs in run.items():
            _check_ids([qid, *docs], "id")
            ranked = sorted(docs.items(), key=lambda item: (-item[1], item[0]))
            for rank, (docid, score) in enumerate(ranked, start=1):
                handle.write(f"{qid} Q0 {docid} {rank} {float(score)!r} {tag}\n")


def write_qrels(path: str | Path, qrels: Mapping[str, Mapping[str, int]]) -> None:
    """Write ``qrels[query_id][doc_id] = relevance`` as a TREC qrels file."""
    with atomic_write(path) as handle:
        for qid, docs in qrels.items():
            _check_ids([qid, *docs], "id")
            for docid, relevance in docs.items():
                handle.write(f"{qid} 0 {docid} {int(relevance)}\n")


def read_run(path: str | Path) -> Run:
    """Read a TREC run file (6 columns) into ``run[query_id][doc_id] = score``."""
    run: Run = {}
    for number, fields in _rows(path, 6, "qid Q0 docid rank score tag"):
        run.setdefault(fields[0], {})[fields[2]] = _number(path, number, fields[4], float, "a numeric score")
    return run


def read_qrels(path: str | Path) -> Qrels:
    """Read a TREC qrels file (4 columns) into ``qrels[query_id][doc_id] = relevance``."""
    qrels: Qrels = {}
    for number, fields in _rows(path, 4, "qid 0 docid relevance"):
        qrels.setdefault(fields[0], {})[fields[2]] = _number(path, number, fields[3], int, "an integer relevance")
    return qrels


def _rows(path: str | Path, width: int, layout: str) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate(read_lines(path), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != width:
            raise DataError(path, f"{len(fields)} columns", record=number, expected=f"{width} columns: {layout}")
        rows.append((number, fields))
    return rows


def _number(path: str | Path, line: int, text: str, kind: type, expected: str) -> float | int:
    try:
        return kind(text)
    except ValueError:
        raise DataError(path, f"bad value {text!r}", record=line, expected=expected) from None


def _check_ids(ids: Sequence[str], what: str) -> None:
    for value in ids:
        if not value or any(ch.isspace() for ch in value):
            raise UsageError(f"{what} {value!r} cannot be written to a TREC file (empty or contains whitespace)")
