"""Validate a user's data file before training or evaluation: every problem found, plus a short summary."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from polyret.data.beir import read_corpus, read_qrels, read_topics
from polyret.data.languages import normalize_language
from polyret.data.lareqa import read_squad
from polyret.data.parallel import aligned_siblings, line_count_mismatch
from polyret.data.parsing import ProblemLog, nonempty_text
from polyret.data.user_qa import load_qa_jsonl
from polyret.data.user_tasks import (
    FORMATS,
    Skipped,
    beir_files,
    guess_format,
    language_coverage,
    read_discrimination,
    read_multiway,
    read_parallel_tsv,
)
from polyret.errors import DataError, UsageError
from polyret.io import read_lines


@dataclass
class FileReport:
    """What :func:`check_file` found.

    Attributes:
        path: the file.
        format: the format it was read as.
        records: records read without a problem (questions, documents, topics, judgements, lines or rows).
        languages: languages seen (or told by the file name).
        coverage: language -> share of records present in that language (QA items, aligned files).
        problems: the problems found (at most ``limit`` of them); ``problem_count`` counts them all.
        skipped: rows read but left out of evaluation on purpose (reason -> count), see :mod:`polyret.data.user_tasks`.
        padded: texts with white space at their start or end (kept as written: a tokenizer ignores it, but exact
            comparisons such as a CLSD distractor equal to its translation do not).
    """

    path: str
    format: str
    records: int = 0
    languages: list[str] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)
    problems: list[DataError] = field(default_factory=list)
    problem_count: int = 0
    skipped: Skipped = field(default_factory=Skipped)
    padded: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


def check_file(path: str | Path, format: str | None = None, *, collect: bool = True, limit: int = 100) -> FileReport:
    """Read ``path`` as ``format`` (guessed when ``None``) and report what it holds and every problem.

    Args:
        path: the file.
        format: one of :data:`FORMATS`.
        collect: keep going after a problem (``False``: raise the first one).
        limit: how many problems to keep (all are counted).

    Raises:
        UsageError: an unknown format.
        DataError: with ``collect=False``, the first problem.
    """
    fmt = format or guess_format(path, task=False)
    if fmt not in _CHECKS:
        raise UsageError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    problems = ProblemLog(collect=collect, limit=limit)
    report = FileReport(str(path), fmt)
    with problems.record():
        _CHECKS[fmt](Path(path), report, problems)
    if report.records == 0 and problems.count == 0:
        problems.add(DataError(path, f"no records (an empty {fmt} file)", expected="at least one record"))
    report.problems, report.problem_count = problems.problems, problems.count
    return report


def _name_language(path: Path) -> list[str]:
    """The language a file name ends with (``de.json``, ``x.deu-eng.deu``), if it is one."""
    stem = path.name.removesuffix(".gz").rsplit(".", 1)
    for part in (stem[-1], stem[0].rsplit(".", 1)[-1]):
        try:
            return [normalize_language(part)]
        except DataError:
            continue
    return []


def _check_lareqa(path: Path, report: FileReport, problems: ProblemLog) -> None:
    paragraphs = read_squad(path, with_sentences=True, problems=problems)
    report.records = sum(len(p.questions) for p in paragraphs)
    report.languages = _name_language(path)


def padded_count(texts: Iterable[str | None]) -> int:
    """How many texts start or end with white space."""
    return sum(1 for text in texts if text and text != text.strip())


def _check_qa(path: Path, report: FileReport, problems: ProblemLog) -> None:
    items = load_qa_jsonl(path, problems=problems)
    report.records = len(items)
    report.padded = padded_count(text for item in items for part in (item.questions, item.answers)
                                 for text in part.values())
    langs = sorted({lang for item in items for lang in item.languages})
    report.languages = langs
    report.coverage = {lang: sum(lang in item.languages for item in items) / len(items) for lang in langs}


def _check_corpus(path: Path, report: FileReport, problems: ProblemLog) -> None:
    report.records = len(read_corpus(path, problems=problems))


def _check_topics(path: Path, report: FileReport, problems: ProblemLog) -> None:
    report.records = len(read_topics(path, problems=problems))


def _check_qrels(path: Path, report: FileReport, problems: ProblemLog) -> None:
    qrels = read_qrels(path, problems=problems)
    report.records = sum(len(d) for d in qrels.positive.values()) + qrels.negative_count


def _check_clsd(path: Path, report: FileReport, problems: ProblemLog) -> None:
    items = read_discrimination(path, problems=problems, skipped=report.skipped, require_languages=False)
    report.records = len(items)
    report.padded = padded_count(text for item in items for text in (item.query, *item.candidates))
    report.languages = sorted({lang for item in items for lang in (item.query_lang, item.candidate_lang)} - {""})


def _check_multiway(path: Path, report: FileReport, problems: ProblemLog) -> None:
    corpus = read_multiway(path, problems=problems, skipped=report.skipped)
    report.records, report.languages, report.coverage = len(corpus), corpus.languages, language_coverage(corpus)
    report.padded = padded_count(text for texts in corpus.texts.values() for text in texts)


def _check_tsv(path: Path, report: FileReport, problems: ProblemLog) -> None:
    corpus = read_parallel_tsv(path, problems=problems)
    report.records, report.languages = len(corpus), corpus.languages
    report.padded = padded_count(text for texts in corpus.texts.values() for text in texts)


def _check_beir(path: Path, report: FileReport, problems: ProblemLog) -> None:
    """A BEIR folder: its corpus, topics and qrels, each checked as its own format."""
    corpus, topics, qrels = beir_files(path)
    for part, check in ((corpus, _check_corpus), (topics, _check_topics), (qrels, _check_qrels)):
        part_report = FileReport(str(part), "")
        check(part, part_report, problems)
        report.records += part_report.records


def _check_parallel(path: Path, report: FileReport, problems: ProblemLog) -> None:
    """One sentence per line; files beside it named like it with another language suffix must align with it."""
    lines = read_lines(path)
    for number, line in enumerate(lines, start=1):
        with problems.record():
            nonempty_text(line, "the line", path, number)
    report.records = len(lines)
    siblings = aligned_siblings(path)
    report.languages = sorted(siblings) or _name_language(path)
    for lang, sibling in siblings.items():
        count = len(lines) if sibling == path else len(read_lines(sibling))
        report.coverage[lang] = min(count, len(lines)) / max(count, len(lines), 1)
        if count != len(lines):
            problems.add(line_count_mismatch(sibling, count, path, len(lines)))


_CHECKS: dict[str, Callable[[Path, FileReport, ProblemLog], None]] = {
    "lareqa": _check_lareqa,
    "qa": _check_qa,
    "corpus": _check_corpus,
    "topics": _check_topics,
    "qrels": _check_qrels,
    "parallel": _check_parallel,
    "clsd": _check_clsd,
    "multiway": _check_multiway,
    "tsv": _check_tsv,
    "beir": _check_beir,
}
