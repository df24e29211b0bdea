"""Leakage-safe splits by group (article/document) and a check that training data does not overlap evaluation data."""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from polyret.data.records import ParallelCorpus, ParallelQA, RetrievalTask
from polyret.errors import DataError, UsageError

_SPACE = re.compile(r"\s+")
_WORD_CHAR = re.compile(r"\w")
MIN_LEAK_WORD_CHARS = 4
"""Normalised texts with fewer word characters than this identify nothing ("I.", "E. I.", "Yes.") and are not
compared by :func:`check_leakage`, only counted; kept low because one CJK character is a word (a Chinese
question can have five)."""


def group_folds(groups: Iterable[str | None], k: int, seed: int = 0) -> list[list[str]]:
    """Split groups into ``k`` folds of about equal size, deterministically.

    Args:
        groups: the group of each item (repeats count towards a group's size), e.g. ``[q.group for q in queries]``.
        k: the number of folds (at least 2, at most the number of groups).
        seed: shuffles groups of equal size before they are placed.

    Returns:
        ``k`` sorted lists of group keys; together they hold every group exactly once. Larger groups are placed
        first, each in the fold with the fewest items so far.

    Raises:
        DataError: an item without a group.
        UsageError: ``k`` out of range.
    """
    sizes = Counter(groups)
    if None in sizes:
        raise DataError("groups", f"{sizes[None]} item(s) without a group", expected="a group for every item")
    if not 2 <= k <= len(sizes):
        raise UsageError(f"k must be between 2 and the number of groups ({len(sizes)}), not {k}")
    keys = sorted(sizes, key=str)
    random.Random(seed).shuffle(keys)
    keys.sort(key=lambda g: -sizes[g])
    folds: list[list[str]] = [[] for _ in range(k)]
    loads = [0] * k
    for key in keys:
        target = min(range(k), key=lambda f: (loads[f], f))
        folds[target].append(key)
        loads[target] += sizes[key]
    return [sorted(fold) for fold in folds]


def fold_groups(folds: list[list[str]], test_fold: int) -> tuple[set[str], set[str]]:
    """(training groups, test groups) with fold ``test_fold`` held out."""
    if not 0 <= test_fold < len(folds):
        raise UsageError(f"test fold must be between 0 and {len(folds) - 1}, not {test_fold}")
    train = {g for i, fold in enumerate(folds) if i != test_fold for g in fold}
    return train, set(folds[test_fold])


def first_groups(
    groups: Iterable[str | None], limit: int | None, *, allowed: Collection[str] | None = None
) -> tuple[str, ...]:
    """The first ``limit`` distinct groups in the order given (all when ``limit`` is ``None``), keeping only those in
    ``allowed`` when it is given; ``None`` groups are skipped."""
    ordered = [g for g in dict.fromkeys(groups) if g is not None and (allowed is None or g in allowed)]
    return tuple(ordered if limit is None else ordered[:limit])


def select_qa(items: list[ParallelQA], groups: Iterable[str]) -> list[ParallelQA]:
    """The QA items whose group is in ``groups`` (an item without a group is an error)."""
    keep = set(groups)
    _require_groups([item.group for item in items], "QA items")
    return [item for item in items if item.group in keep]


def select_corpus(corpus: ParallelCorpus, groups: Iterable[str]) -> ParallelCorpus:
    """The rows of ``corpus`` whose group is in ``groups``."""
    if corpus.groups is None:
        raise DataError(corpus.name, "the corpus has no groups", expected="a corpus with a group per row")
    keep = set(groups)
    return corpus.select(i for i, g in enumerate(corpus.groups) if g in keep)


def select_task(task: RetrievalTask, groups: Iterable[str]) -> RetrievalTask:
    """The queries and passages of ``task`` whose group is in ``groups`` (qrels restricted to them)."""
    _require_groups([q.group for q in task.queries] + [p.group for p in task.passages], task.name)
    return task.subset(groups=groups)


def _require_groups(groups: list[str | None], what: str) -> None:
    missing = sum(g is None for g in groups)
    if missing:
        raise DataError(what, f"{missing} record(s) without a group", expected="a group for every record")


def normalize_text(text: str) -> str:
    """Unicode NFKC, case-folded, whitespace collapsed: the form compared by :func:`check_leakage`."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _digest(text: str) -> bytes:
    return hashlib.blake2b(normalize_text(text).encode("utf-8"), digest_size=16).digest()


def word_characters(text: str) -> int:
    """How many word characters (letters, digits, ``_`` in any script) the normalised ``text`` holds."""
    return len(_WORD_CHAR.findall(normalize_text(text)))


@dataclass
class LeakageReport:
    """Training texts found (after :func:`normalize_text`) among evaluation queries and passages.

    Attributes:
        questions: number of training questions (per language) equal to an evaluation query.
        answers: number of training answers equal to an evaluation passage.
        total_questions / total_answers: how many training texts there were.
        short: training texts under ``min_word_chars`` word characters, not compared.
        short_matches: how many of the short texts do occur in the evaluation data (ignored, not leaks).
        min_word_chars: the length rule applied.
        examples: a few leaked texts.
        short_examples: a few ignored short overlaps.
    """

    questions: int = 0
    answers: int = 0
    total_questions: int = 0
    total_answers: int = 0
    short: int = 0
    short_matches: int = 0
    min_word_chars: int = MIN_LEAK_WORD_CHARS
    examples: list[str] = field(default_factory=list)
    short_examples: list[str] = field(default_factory=list)

    @property
    def leaked(self) -> bool:
        return bool(self.questions or self.answers)


def check_leakage(
    train: list[ParallelQA],
    eval_tasks: list[RetrievalTask],
    *,
    allow: bool = False,
    max_examples: int = 5,
    min_word_chars: int = MIN_LEAK_WORD_CHARS,
) -> LeakageReport:
    """Compare training questions and answers with the queries and passages of evaluation tasks.

    Texts are compared after :func:`normalize_text`. A training text with fewer than ``min_word_chars`` word
    characters (``\\w`` in any script: "I." has one) identifies nothing and is not compared: it is counted in
    ``short``, and ``short_matches`` says how many such texts occur in the evaluation data anyway.

    Args:
        train: the training items.
        eval_tasks: the evaluation tasks.
        allow: return the report instead of raising when texts overlap.
        max_examples: how many leaked texts to show.
        min_word_chars: shortest text (in word characters) that counts as a leak.

    Raises:
        DataError: some training text occurs in an evaluation task (unless ``allow``), with counts and examples.
    """
    query_hashes = {_digest(q.text) for task in eval_tasks for q in task.queries}
    passage_hashes = {_digest(p.text) for task in eval_tasks for p in task.passages}
    report = LeakageReport(min_word_chars=min_word_chars)
    for item in train:
        for text in item.questions.values():
            report.total_questions += 1
            report.questions += _compare(report, text, query_hashes, max_examples)
        for text in item.answers.values():
            report.total_answers += 1
            report.answers += _compare(report, text, passage_hashes, max_examples)
    if report.leaked and not allow:
        names = ", ".join(task.name for task in eval_tasks)
        raise DataError(
            "training data",
            f"{report.questions} of {report.total_questions} questions and {report.answers} of "
            f"{report.total_answers} answers also occur in the evaluation data ({names}); e.g. "
            + "; ".join(repr(e) for e in report.examples),
            expected="training data disjoint from evaluation data: split by group with group_folds, or allow the "
            "overlap explicitly (allow=True)",
        )
    return report


def _compare(report: LeakageReport, text: str, hashes: set[bytes], limit: int) -> int:
    """1 when ``text`` is a leak (long enough and among ``hashes``), else 0; counts short texts in ``report``."""
    found = _digest(text) in hashes
    if word_characters(text) < report.min_word_chars:
        report.short += 1
        report.short_matches += found
        if found and len(report.short_examples) < limit:
            report.short_examples.append(text[:120])
        return 0
    if found and len(report.examples) < limit:
        report.examples.append(text[:120])
    return int(found)
