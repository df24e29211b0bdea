"""A user's own evaluation files: multi-way JSONL, parallel TSV, aligned text files, discrimination CSV, QA JSONL
and BEIR folders (formats in docs/data.md).

Every reader raises one :class:`~polyret.errors.DataError` naming the file, the line and what was expected, or,
with a collecting :class:`~polyret.data.parsing.ProblemLog`, gathers them all (``polyret data check``). Rows that
are well-formed but cannot be scored (a multi-way row with fewer than two languages, a discrimination item whose
distractor equals its true translation) are skipped and counted in ``skipped`` (reason -> count), never dropped
silently; a file left with no usable row is an error.

Example::

    corpus = read_multiway("catalogue.jsonl", languages=["en", "de", "fr"])
    items = read_discrimination("legal.csv", languages=["de", "fr"])

Relations: the evaluators of :mod:`polyret.evaluation.user_tasks` score what these readers return, with the same
evaluators as the registered tasks (bitext, CLSD, LAReQA, BEIR).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from polyret.data.beir import load_beir
from polyret.data.clsd import read_clsd, read_table
from polyret.data.languages import normalize_language
from polyret.data.parallel import aligned_siblings, read_aligned
from polyret.data.parsing import ProblemLog, field, iter_jsonl, nonempty_text
from polyret.data.records import DiscriminationItem, ParallelCorpus, Passage, Query, RetrievalTask
from polyret.data.user_qa import load_qa_jsonl
from polyret.errors import DataError, UsageError
from polyret.io import loads_json, read_lines

TASK_FORMATS = ("multiway", "tsv", "parallel", "clsd", "qa", "beir")
"""Formats of user task files (docs/data.md)."""
PART_FORMATS = ("lareqa", "corpus", "topics", "qrels")
"""Formats of files that are part of a task or of training data, which ``polyret data check`` also reads."""
FORMATS = (*PART_FORMATS, *TASK_FORMATS)
"""Every format of a user's file: the one vocabulary of ``--task-format``, ``evaluation.task_files[].format`` and
``polyret data check --format``."""
COLUMN_ROLES = ("query", "translation", "distractors", "id", "query_lang", "candidate_lang")
"""Roles of a discrimination CSV's columns (``columns`` of a task file): each maps to a header name, ``distractors``
to a list of them."""

LANGUAGE_KEY = re.compile(r"\s*[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*\s*")
"""What a language key of a user file looks like (``de``, ``deu``, ``pt-BR``, ``sr-Latn``): no path characters."""

MULTIWAY_FIELDS = ("id", "text", "group")
FEWER_THAN_TWO = "rows with fewer than two languages"
DISTRACTOR_IS_TRUE = "items with a distractor equal to the true translation"

Skipped = Counter
"""Reason -> number of rows skipped for it."""


def language_key(key: Any, path: str | Path, record: int | str) -> str:
    """polyret's code for a language key of a user file (``deu`` -> ``de``).

    Raises:
        DataError: a key that is not a language code (path characters, spaces, digits first, unknown code).
    """
    if not isinstance(key, str) or not LANGUAGE_KEY.fullmatch(key):
        raise DataError(
            path, f"language key {key!r} is not a language code", record=record,
            expected="a code such as 'de', 'deu' or 'pt-BR' (letters, digits and '-' only)",
        )
    return normalize_language(key, path=path, record=record)


def read_multiway(
    path: str | Path,
    *,
    languages: Sequence[str] | None = None,
    problems: ProblemLog | None = None,
    skipped: Skipped | None = None,
) -> ParallelCorpus:
    """Read a multi-way JSONL file: one ``{"id", "text": {lang: sentence}, "group"?}`` object per line.

    A language missing from a row (absent or ``null``) is a ``None`` cell of the corpus. A row with fewer than two
    languages (after the ``languages`` restriction) is skipped and counted under :data:`FEWER_THAN_TWO`.

    Args:
        path: the file (plain or ``.gz``).
        languages: keep only these languages (default: every language of the file).
        problems: collect problems instead of raising the first.
        skipped: counter the skipped rows are added to.

    Raises:
        DataError: malformed JSON, a missing or unexpected field, a duplicate id, a bad language key, an empty text,
            or no usable row.
        UsageError: a requested language that no row has.
    """
    problems = problems or ProblemLog()
    skipped = skipped if skipped is not None else Counter()
    wanted = _wanted(languages)
    ids: list[str] = []
    rows: list[dict[str, str]] = []
    groups: list[str | None] = []
    seen: set[str] = set()
    found: set[str] = set()
    for number, obj in iter_jsonl(path, problems):
        with problems.record():
            row_id, text, group = _multiway_record(obj, path, number)
            if row_id in seen:
                raise DataError(path, f"duplicate id {row_id!r}", record=number, expected="unique ids")
            seen.add(row_id)
            found.update(text)
            text = {lang: t for lang, t in text.items() if wanted is None or lang in wanted}
            if len(text) < 2:
                skipped[FEWER_THAN_TWO] += 1
                continue
            ids.append(row_id)
            rows.append(text)
            groups.append(group)
    _check_wanted(path, wanted, found)
    return _corpus(path, ids, rows, groups)


def _multiway_record(obj: dict[str, Any], path: str | Path, number: int) -> tuple[str, dict[str, str], str | None]:
    extra = sorted(set(obj) - set(MULTIWAY_FIELDS))
    if extra:
        raise DataError(path, f"unexpected field(s) {', '.join(extra)}", record=number,
                        expected=f"only {', '.join(MULTIWAY_FIELDS)}")
    row_id = str(field(obj, "id", (str, int), path, number))
    text: dict[str, str] = {}
    for key, value in field(obj, "text", dict, path, number).items():
        lang = language_key(key, path, number)
        if value is None:
            continue
        if lang in text:
            raise DataError(path, f"two texts in language {lang!r}", record=number, expected="one text per language")
        text[lang] = nonempty_text(value, f"text[{key!r}]", path, number)
    group = obj.get("group")
    if group is not None and not (isinstance(group, str) and group.strip()):
        raise DataError(path, f"group {group!r}", record=number, expected="a non-empty text or no group")
    return row_id, text, group


def _wanted(languages: Sequence[str] | None) -> list[str] | None:
    if languages is None:
        return None
    return list(dict.fromkeys(normalize_language(code) for code in languages))


def _check_wanted(path: str | Path, wanted: list[str] | None, found: set[str]) -> list[str] | None:
    """``wanted``, once every language in it is known to occur in the file."""
    missing = [lang for lang in wanted or () if lang not in found]
    if missing:
        raise UsageError(f"{path} has no text in {', '.join(missing)}; its languages: {', '.join(sorted(found))}")
    return wanted


def _corpus(path: str | Path, ids: list[str], rows: list[dict[str, str]], groups: list[str | None]) -> ParallelCorpus:
    """The corpus of the usable rows (``None`` where a row lacks a language)."""
    if not rows:
        raise DataError(path, "no usable rows", expected="at least one row with texts in two or more languages")
    found = sorted({lang for row in rows for lang in row})
    texts = {lang: [row.get(lang) for row in rows] for lang in found}
    with_groups = [g or row_id for g, row_id in zip(groups, ids, strict=True)] if any(groups) else None
    return ParallelCorpus(_task_stem(path), ids, texts, with_groups)


def read_parallel_tsv(
    path: str | Path, *, languages: Sequence[str] | None = None, problems: ProblemLog | None = None
) -> ParallelCorpus:
    """Read a parallel TSV file: a header of language codes, then one tab-separated translation per column.

    Raises:
        DataError: a bad header, a line with another number of cells than the header (ragged), an empty cell, or no
            row.
    """
    problems = problems or ProblemLog()
    lines = read_lines(path)
    if not lines or not lines[0].strip():
        raise DataError(path, "no header", record=1, expected="a first line of tab-separated language codes")
    header = [language_key(key.strip(), path, 1) for key in lines[0].split("\t")]
    if len(set(header)) != len(header) or len(header) < 2:
        raise DataError(path, f"header {lines[0]!r}", record=1, expected="two or more distinct language codes")
    wanted = _check_wanted(path, _wanted(languages), set(header))
    ids: list[str] = []
    rows: list[dict[str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        with problems.record():
            cells = line.split("\t")
            if len(cells) != len(header):
                raise DataError(path, f"{len(cells)} cell(s)", record=number,
                                expected=f"{len(header)} tab-separated cells, one per header language")
            row = {lang: nonempty_text(cell, f"the {lang} cell", path, number) for lang, cell in zip(header, cells,
                                                                                                      strict=True)}
            ids.append(str(number))
            rows.append({lang: t for lang, t in row.items() if wanted is None or lang in wanted})
    return _corpus(path, ids, rows, [None] * len(ids))


def read_aligned_files(path: str | Path, *, languages: Sequence[str] | None = None) -> ParallelCorpus:
    """Read ``NAME.<lang>[.txt][.gz]`` and the files beside it that differ only in the language: one sentence per
    line, line ``i`` of each file translating line ``i`` of the others.

    Raises:
        DataError: fewer than two such files, an empty line, or files of different line counts.
    """
    path = Path(path)
    siblings = aligned_siblings(path)
    wanted = _wanted(languages)
    chosen = {lang: p for lang, p in siblings.items() if wanted is None or lang in wanted}
    if len(chosen) < 2:
        raise DataError(path, f"{len(chosen)} aligned file(s) found",
                        expected="two or more files NAME.<lang>[.txt] side by side, one per language")
    texts = read_aligned(chosen)
    rows = len(next(iter(texts.values())))
    if rows == 0:
        raise DataError(path, "no lines", expected="one sentence per line")
    return ParallelCorpus(_task_stem(path), [str(i) for i in range(1, rows + 1)], dict(texts))


QUERY_COLUMNS = ("query", "source", "src", "sentence")
TRUE_COLUMNS = ("translation", "true_translation", "true", "target", "tgt", "positive", "reference")
DISTRACTOR_COLUMN = re.compile(r"(?:distractor|adversarial|adv|negative|neg)[ _-]?\d*", re.IGNORECASE)
ID_COLUMNS = ("id", "index")
QUERY_LANG_COLUMNS = ("query_lang", "source_lang", "src_lang")
CANDIDATE_LANG_COLUMNS = ("candidate_lang", "translation_lang", "target_lang", "tgt_lang")


def read_discrimination(
    path: str | Path,
    *,
    languages: Sequence[str] | None = None,
    columns: Mapping[str, Any] | None = None,
    problems: ProblemLog | None = None,
    skipped: Skipped | None = None,
    require_languages: bool = True,
) -> list[DiscriminationItem]:
    """Read a discrimination CSV: CLSD's own layout (a ``French`` or ``German`` column; both directions), or one item
    per row with a query, its true translation and one or more distractors.

    Columns are found by name: ``columns`` maps ``query``, ``translation``, ``distractors`` (a list), and optionally
    ``id``, ``query_lang`` and ``candidate_lang`` to header names; a role not given is guessed (``query`` / ``source``,
    ``translation`` / ``target`` / ``positive``, distractors ``distractor1``, ``adv2``, ``negative_3``, ...). Without
    language columns, ``languages`` gives the query and candidate language (with ``require_languages=False`` they may
    stay unknown, ``""``, for a format check). Items whose distractor equals the true
    translation cannot be answered and are skipped and counted (:data:`DISTRACTOR_IS_TRUE`).

    Raises:
        DataError: a missing column, a ragged row, an empty query or translation, a row without any distractor, a
            duplicate id, or no usable item.
    """
    problems = problems or ProblemLog()
    skipped = skipped if skipped is not None else Counter()
    columns = check_columns(columns or {}, str(path))
    header = _csv_header(path)
    if not columns and {"French", "German"} & set(header):  # CLSD's layout (a missing column is its error)
        items = read_clsd(path, english=Path(path).name.startswith("MT_"), problems=problems)
    else:
        roles = _roles(path, header, columns or {})
        fixed = _pair_languages(path, roles, languages, require_languages)
        items = _generic_items(path, roles, fixed, problems)
    usable = [it for it in items if not any(c.strip() == it.candidates[0].strip() for c in it.candidates[1:])]
    if len(usable) < len(items):
        skipped[DISTRACTOR_IS_TRUE] += len(items) - len(usable)
    if not usable:
        raise DataError(path, "no usable items",
                        expected="rows with a query, its true translation and distractors that differ from it")
    return usable


def check_columns(columns: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``columns`` (role -> column name, ``distractors`` -> a list of names), checked against :data:`COLUMN_ROLES`.

    Raises:
        UsageError: an unknown role or a value of the wrong type, naming ``where`` (a file or a config key).
    """
    for role, value in columns.items():
        if role not in COLUMN_ROLES:
            raise UsageError(f"{where}: unknown column role {role!r} (known: {', '.join(COLUMN_ROLES)})")
        expected_list = role == "distractors"
        ok = (isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)
              if expected_list else isinstance(value, str) and bool(value))
        if not ok:
            kind = "a non-empty list of column names" if expected_list else "a column name"
            raise UsageError(f"{where}: column role {role!r} must be {kind}, got {value!r}")
    return dict(columns)


def _csv_header(path: str | Path) -> list[str]:
    first = next((line for line in read_lines(path) if line.strip()), None)
    if first is None:
        raise DataError(path, "empty file", expected="a header line naming the columns")
    return [cell.lstrip("\ufeff") for cell in next(csv.reader([first]))]


def _roles(path: str | Path, header: list[str], given: Mapping[str, Any]) -> dict[str, Any]:
    """Role -> column name(s), from ``given`` else guessed from the header (case-insensitive)."""
    lower = {name.lower(): name for name in header}

    def guess(role: str, aliases: tuple[str, ...], required: bool) -> str | None:
        name = given.get(role) or next((lower[a] for a in aliases if a in lower), None)
        if name is not None and name not in header:
            raise DataError(path, f"no column {name!r} for the {role}", record=1, expected=f"one of {header}")
        if name is None and required:
            raise DataError(path, f"missing column for the {role} (header: {', '.join(header)})", record=1,
                            expected=f"a column named {' or '.join(aliases[:3])}, or the column given for {role!r}")
        return name

    roles: dict[str, Any] = {
        "query": guess("query", QUERY_COLUMNS, True),
        "translation": guess("translation", TRUE_COLUMNS, True),
        "id": guess("id", ID_COLUMNS, False),
        "query_lang": guess("query_lang", QUERY_LANG_COLUMNS, False),
        "candidate_lang": guess("candidate_lang", CANDIDATE_LANG_COLUMNS, False),
    }
    distractors = list(given.get("distractors") or [n for n in header if DISTRACTOR_COLUMN.fullmatch(n)])
    unknown = [n for n in distractors if n not in header]
    if not distractors or unknown:
        raise DataError(path, f"missing column for the distractors{f' ({unknown[0]!r})' if unknown else ''}", record=1,
                        expected="columns distractor1, distractor2, ... (or the ones given for 'distractors')")
    roles["distractors"] = distractors
    return roles


def _generic_items(
    path: str | Path, roles: dict[str, Any], fixed: tuple[str, str] | None, problems: ProblemLog
) -> list[DiscriminationItem]:
    required = tuple(roles[r] for r in ("query", "translation", "id", "query_lang", "candidate_lang") if roles[r])
    items: list[DiscriminationItem] = []
    seen: set[str] = set()
    distractor_columns = tuple(roles["distractors"])
    for number, row in read_table(path, ",", (*required, *distractor_columns), problems, distractor_columns):
        with problems.record():
            item_id = row[roles["id"]] if roles["id"] else str(number)
            if item_id in seen:
                raise DataError(path, f"duplicate id {item_id!r}", record=number, expected="unique ids")
            distractors = [name for name in roles["distractors"] if row[name].strip()]
            if not distractors:
                raise DataError(path, "no distractor", record=number, expected="at least one non-empty distractor")
            query_lang, candidate_lang = fixed or (language_key(row[roles["query_lang"]], path, number),
                                                   language_key(row[roles["candidate_lang"]], path, number))
            seen.add(item_id)
            names = (roles["translation"], *distractors)
            items.append(DiscriminationItem(item_id, row[roles["query"]], query_lang,
                                            tuple(row[n] for n in names), candidate_lang, names))
    return items


def _pair_languages(
    path: str | Path, roles: dict[str, Any], languages: Sequence[str] | None, required: bool
) -> tuple[str, str] | None:
    """(query, candidate) language from ``languages``, or ``None`` when the file has language columns."""
    if roles["query_lang"] and roles["candidate_lang"]:
        return None
    if languages is None and not required:
        return "", ""
    if languages is None or len(languages) != 2:
        raise DataError(path, "no query_lang / candidate_lang columns", record=1,
                        expected="those columns, or the query and candidate language given as two languages")
    query_lang, candidate_lang = (normalize_language(code) for code in languages)
    return query_lang, candidate_lang


def read_qa_task(
    path: str | Path, *, languages: Sequence[str] | None = None, name: str | None = None
) -> RetrievalTask:
    """A LAReQA-style task from a QA JSONL file in the training format (:func:`polyret.data.user_qa.load_qa_jsonl`).

    Every question is a query; every answer is a candidate (with its context when given) whose relevant queries are
    the questions of the same id in every language.

    Raises:
        DataError: from the QA reader, or no question left (after the ``languages`` restriction).
    """
    wanted = _wanted(languages)
    queries: list[Query] = []
    passages: list[Passage] = []
    qrels: dict[str, dict[str, int]] = {}
    for item in load_qa_jsonl(path):
        keep = [lang for lang in sorted(item.answers) if wanted is None or lang in wanted]
        answer_ids = [f"{item.id}|{lang}" for lang in keep]
        passages += [Passage(pid, lang, item.answers[lang], item.contexts.get(lang), item.id, item.group)
                     for pid, lang in zip(answer_ids, keep, strict=True)]
        for lang in sorted(item.questions):
            if answer_ids and (wanted is None or lang in wanted):
                queries.append(Query(f"{item.id}|{lang}", lang, item.questions[lang], item.id, item.group))
                qrels[queries[-1].id] = dict.fromkeys(answer_ids, 1)
    if not queries:
        raise DataError(path, "no usable questions", expected="questions with an answer in the chosen languages")
    return RetrievalTask(name or _task_stem(path), queries, passages, qrels)


def beir_files(folder: str | Path) -> tuple[Path, Path, Path]:
    """(corpus, topics, qrels) of a BEIR folder: ``corpus.jsonl``, ``queries.jsonl`` (or ``topics*.tsv``), and
    ``qrels/test.tsv`` (or the one ``qrels*`` file).

    Raises:
        DataError: a part missing or ambiguous.
    """
    folder = Path(folder)

    def one(what: str, patterns: tuple[str, ...]) -> Path:
        for pattern in patterns:
            found = sorted(p for p in folder.glob(pattern) if p.is_file())
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise DataError(folder, f"{len(found)} {what} files ({', '.join(p.name for p in found)})",
                                expected=f"one {what} file")
        raise DataError(folder, f"no {what} file", expected=f"a file matching {' or '.join(patterns)}")

    corpus = one("corpus", ("corpus.jsonl", "corpus.jsonl.gz"))
    topics = one("topics", ("queries.jsonl", "queries.jsonl.gz", "topics*.tsv", "queries.tsv"))
    qrels = one("qrels", ("qrels/test.tsv", "qrels/*.tsv", "qrels*.tsv", "qrels*.txt"))
    return corpus, topics, qrels


def read_beir_folder(folder: str | Path, *, name: str, lang: str = "en") -> RetrievalTask:
    """The BEIR task in ``folder`` (:func:`beir_files`), graded qrels kept."""
    return load_beir(*beir_files(folder), name=name, lang=lang)


def guess_format(path: str | Path, *, task: bool = True) -> str:
    """The format of a user's file from its name (and, for JSON lines, its first record): the one format guesser.

    A folder is ``beir``, ``*.csv`` ``clsd``, ``*.tsv`` ``tsv``, JSON lines with ``questions`` ``qa`` and with a
    ``text`` object ``multiway``, a file with language-suffixed siblings ``parallel``. With ``task=False`` (any file
    ``polyret data check`` reads) the parts of a task and training files come first: a name with ``qrels`` is
    ``qrels``, ``*.json`` ``lareqa``, topics or queries files ``topics``, a ``corpus`` JSONL ``corpus``; a name that
    tells nothing is then read as ``corpus`` (JSON lines) or ``parallel``.

    Raises:
        UsageError: with ``task``, a name that tells nothing.
    """
    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    part = None if task else _part_format(name)
    if part is not None:
        return part
    try:
        return _task_format(path, name)
    except UsageError:
        if task:
            raise
        return "corpus" if name.endswith(".jsonl") else "parallel"


def _part_format(name: str) -> str | None:
    if "qrels" in name:
        return "qrels"
    if name.endswith(".json"):
        return "lareqa"
    if name.endswith((".jsonl", ".tsv")) and ("topics" in name or "queries" in name):
        return "topics"
    if name.endswith(".jsonl") and "corpus" in name:
        return "corpus"
    return None


def _task_format(path: Path, name: str) -> str:
    if path.is_dir():
        return "beir"
    if name.endswith(".csv"):
        return "clsd"
    if name.endswith(".tsv"):
        return "tsv"
    if name.endswith(".jsonl"):
        first = first_object(path)
        if "questions" in first:
            return "qa"
        if isinstance(first.get("text"), dict):
            return "multiway"
    elif aligned_siblings(path):
        return "parallel"
    raise UsageError(f"cannot tell the task format of {path}; give it (one of {', '.join(TASK_FORMATS)})")


def first_object(path: str | Path) -> dict[str, Any]:
    """The first non-blank line of a JSON-lines file as an object (``{}`` when it is not one)."""
    for line in read_lines(path):
        if line.strip():
            try:
                obj = loads_json(line, path, 1)
            except DataError:
                return {}
            return obj if isinstance(obj, dict) else {}
    return {}


def _task_stem(path: str | Path) -> str:
    """A task name from a file name: without ``.gz``, its extension and a trailing language suffix."""
    name = Path(path).name.removesuffix(".gz")
    for suffix in (".txt", ".jsonl", ".tsv", ".csv"):
        name = name.removesuffix(suffix)
    stem, dot, last = name.rpartition(".")
    return stem if dot and LANGUAGE_KEY.fullmatch(last) else name


def default_task_name(path: str | Path) -> str:
    """The task name of a file or folder when none is given: its stem (``catalogue.jsonl`` -> ``catalogue``)."""
    return _task_stem(Path(path).resolve())


def language_coverage(corpus: ParallelCorpus) -> dict[str, float]:
    """Language -> share of the corpus rows that have a text in it."""
    return {lang: sum(t is not None for t in texts) / len(corpus) for lang, texts in corpus.texts.items()}
