"""A user's own parallel QA training data (JSON lines, or a ``datasets.Dataset`` with the same columns).

One record per question (see docs/data.md)::

    {"id": "q1", "group": "article-7",
     "questions": {"en": "Who wrote Faust?", "de": "Wer schrieb Faust?"},
     "answers": {"en": "Goethe wrote Faust.", "de": "Goethe schrieb den Faust."},
     "contexts": {"en": "Johann Wolfgang von Goethe ... Goethe wrote Faust. ..."}}

``id``, ``questions`` and ``answers`` are required; ``group`` (for leakage-safe splits), ``contexts`` and
``negatives`` (language -> list of hard-negative passages) are optional. Language keys are polyret codes (``deu``
is accepted and read as ``de``); every text must be non-empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from polyret.data.languages import normalize_language
from polyret.data.parsing import ProblemLog, field, iter_jsonl, nonempty_text
from polyret.data.records import ParallelQA
from polyret.errors import DataError

QA_FIELDS = ("id", "group", "questions", "answers", "contexts", "negatives")


def load_qa_jsonl(
    path: str | Path, *, allow_unknown_languages: bool = False, problems: ProblemLog | None = None
) -> list[ParallelQA]:
    """Read a parallel QA JSON-lines file.

    Args:
        path: the file (plain or ``.gz``).
        allow_unknown_languages: keep language codes polyret does not know instead of raising.
        problems: collect problems instead of raising the first.

    Raises:
        DataError: malformed JSON, a missing or unexpected field, an empty text, an unknown language code or a
            duplicate id (naming the line).
    """
    problems = problems or ProblemLog()
    return _parse_all(iter_jsonl(path, problems), path, allow_unknown_languages, problems)


def qa_from_dataset(ds: Iterable[Mapping[str, Any]], *, allow_unknown_languages: bool = False) -> list[ParallelQA]:
    """Read parallel QA items from a ``datasets.Dataset`` (or any iterable of dict rows) with the JSONL columns.

    Languages missing from a row are ``None`` in an Arrow struct column; they are treated as absent.
    """
    name = getattr(getattr(ds, "info", None), "dataset_name", None) or "dataset"
    rows = ((f"row {i}", dict(row)) for i, row in enumerate(ds))
    return _parse_all(rows, name, allow_unknown_languages, ProblemLog())


def _parse_all(
    records: Iterable[tuple[int | str, dict[str, Any]]], path: str | Path, allow_unknown: bool, problems: ProblemLog
) -> list[ParallelQA]:
    items: list[ParallelQA] = []
    seen: set[str] = set()
    for record, obj in records:
        with problems.record():
            item = parse_qa_record(obj, path, record, allow_unknown)
            if item.id in seen:
                raise DataError(path, f"duplicate id {item.id!r}", record=record, expected="unique ids")
            seen.add(item.id)
            items.append(item)
    return items


def parse_qa_record(
    obj: dict[str, Any], path: str | Path, record: int | str, allow_unknown: bool = False
) -> ParallelQA:
    """Validate one QA record and return it as :class:`ParallelQA`."""
    extra = sorted(set(obj) - set(QA_FIELDS))
    if extra:
        raise DataError(path, f"unexpected field(s) {', '.join(extra)}", record=record, expected=f"only {QA_FIELDS}")
    qid = str(field(obj, "id", (str, int), path, record))
    group = obj.get("group")
    if group is not None and not (isinstance(group, str) and group.strip()):
        raise DataError(path, f"group {group!r}", record=record, expected="a non-empty text or no group")

    def texts(key: str, required: bool) -> dict[str, str]:
        if not required and obj.get(key) is None:
            return {}
        raw = field(obj, key, dict, path, record)
        out: dict[str, str] = {}
        for lang, text in raw.items():
            code = normalize_language(lang, allow_unknown=allow_unknown, path=path, record=record)
            if text is None:
                continue
            if code in out:  # e.g. "de" and "de-DE": one language, two texts
                raise DataError(path, f"two {key} in language {code!r} ({lang!r} among them)", record=record,
                                expected="one text per language")
            out[code] = nonempty_text(text, f"{key}[{lang!r}]", path, record)
        if required and not out:
            raise DataError(path, f"no {key}", record=record, expected=f"at least one language in {key!r}")
        return out

    questions, answers, contexts = texts("questions", True), texts("answers", True), texts("contexts", False)
    stray = sorted(set(contexts) - set(answers))
    if stray:
        raise DataError(path, f"contexts without an answer in {', '.join(stray)}", record=record)
    negatives = _negatives(obj.get("negatives"), path, record, allow_unknown)
    return ParallelQA(qid, questions, answers, contexts, group, negatives)


def _negatives(raw: Any, path: str | Path, record: int | str, allow_unknown: bool) -> dict[str, tuple[str, ...]]:
    """The optional ``negatives`` object: language -> list of non-empty passages (``null`` or ``[]``: none)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DataError(path, f"field 'negatives' is a {type(raw).__name__}", record=record,
                        expected="an object of language -> list of passages")
    out = {}
    for lang, texts in raw.items():
        if texts is None:
            continue
        if not isinstance(texts, list):
            raise DataError(path, f"negatives[{lang!r}] is a {type(texts).__name__}", record=record,
                            expected="a list of passages")
        code = normalize_language(lang, allow_unknown=allow_unknown, path=path, record=record)
        passages = tuple(
            nonempty_text(text, f"negatives[{lang!r}][{i}]", path, record) for i, text in enumerate(texts)
        )
        if passages:
            out[code] = passages
    return out
