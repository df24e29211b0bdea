"""LAReQA (XQuAD-R, MLQA-R) and SQuAD-style files: retrieval tasks and parallel QA training items.

LAReQA setting: one query per question per language; the candidate pool is every sentence of every paragraph of
every language; the relevant set of a question is its gold sentence in every language where its ``qas`` id occurs.
The gold sentence is the one whose ``sentence_breaks`` span ``[start, end)`` contains ``answers[0].answer_start``.

Groups (articles, for leakage-safe splits) are the same key in every language: the article index for XQuAD-R (its
articles are aligned), and the index of the English article that holds the question for MLQA-R (each non-English
MLQA article maps to exactly one English article).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from polyret.data.languages import select_languages
from polyret.data.parsing import ProblemLog, field, nonempty_text
from polyret.data.records import ParallelQA, Passage, Query, RetrievalTask
from polyret.data.registry import locate
from polyret.data.splits import select_qa
from polyret.errors import DataError, UsageError
from polyret.io import read_json

#: Languages of each LAReQA data set (one ``<lang>.json`` file each).
LAREQA_LANGUAGES: dict[str, tuple[str, ...]] = {
    "xquad-r": ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"),
    "mlqa-r": ("ar", "de", "en", "es", "hi", "vi", "zh"),
}
#: Languages of plain XQuAD (``xquad.<lang>.json``); the same content as XQuAD-R plus Romanian.
XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    """A question of a SQuAD paragraph; ``gold`` is the index of the sentence holding the answer (if split)."""

    id: str
    text: str
    answer_start: int
    gold: int | None


@dataclass(frozen=True, slots=True)
class SquadParagraph:
    """A paragraph of a SQuAD-style file with its sentence split (LAReQA) and questions."""

    article: int
    index: int
    context: str
    sentences: tuple[str, ...]
    questions: tuple[SquadQuestion, ...]


def read_squad(path: str | Path, *, with_sentences: bool, problems: ProblemLog | None = None) -> list[SquadParagraph]:
    """Parse a SQuAD v1.1 JSON file (with LAReQA's ``sentences`` + ``sentence_breaks`` when ``with_sentences``).

    Raises:
        DataError: malformed JSON, a missing or empty field, a duplicate question id, or an answer outside every
            sentence (with the file and the ``data[i].paragraphs[j]`` record).
    """
    problems = problems or ProblemLog()
    doc = read_json(path)
    paragraphs: list[SquadParagraph] = []
    seen: set[str] = set()
    for a, article in enumerate(field(doc, "data", list, path, "top level")):
        entries: list = []
        with problems.record():
            entries = field(article, "paragraphs", list, path, f"data[{a}]")
        for p, para in enumerate(entries):
            with problems.record():
                paragraph = _parse_paragraph(para, a, p, path, with_sentences)
                for question in paragraph.questions:
                    if question.id in seen:
                        raise DataError(
                            path, f"duplicate question id {question.id!r}", record=f"data[{a}].paragraphs[{p}]"
                        )
                    seen.add(question.id)
                paragraphs.append(paragraph)
    return paragraphs


def _parse_paragraph(para: object, a: int, p: int, path: str | Path, with_sentences: bool) -> SquadParagraph:
    where = f"data[{a}].paragraphs[{p}]"
    context = field(para, "context", str, path, where).lstrip(_BOM)
    sentences: tuple[str, ...] = ()
    breaks: list[tuple[int, int]] = []
    if with_sentences:
        raw = field(para, "sentences", list, path, where)
        sentences = tuple(nonempty_text(s, f"sentences[{i}]", path, where).lstrip(_BOM) for i, s in enumerate(raw))
        breaks = _breaks(field(para, "sentence_breaks", list, path, where), len(sentences), path, where)
    questions = []
    for k, qa in enumerate(field(para, "qas", list, path, where)):
        at = f"{where}.qas[{k}]"
        answers = field(qa, "answers", list, path, at)
        if not answers:
            raise DataError(path, "no answer", record=at, expected="at least one answer")
        start = field(answers[0], "answer_start", int, path, f"{at}.answers[0]")
        qid = field(qa, "id", str, path, at)
        gold = _gold_sentence(breaks, start, path, at) if with_sentences else None
        questions.append(SquadQuestion(qid, field(qa, "question", str, path, at), start, gold))
    return SquadParagraph(a, p, context, sentences, tuple(questions))


def _breaks(raw: list, count: int, path: str | Path, where: str) -> list[tuple[int, int]]:
    if len(raw) != count:
        raise DataError(
            path,
            f"{len(raw)} sentence_breaks for {count} sentences",
            record=where,
            expected="one [start, end) per sentence",
        )
    spans = []
    for span in raw:
        if not (isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) for x in span)):
            raise DataError(path, f"sentence break {span!r}", record=where, expected="[start, end] integer pairs")
        spans.append((span[0], span[1]))
    return spans


def _gold_sentence(breaks: list[tuple[int, int]], start: int, path: str | Path, where: str) -> int:
    for i, (begin, end) in enumerate(breaks):
        if begin <= start < end:
            return i
    raise DataError(
        path, f"answer_start {start} lies in no sentence", record=where, expected="a sentence_breaks span holding it"
    )


def lareqa_task(
    paragraphs: Mapping[str, list[SquadParagraph]], *, name: str, pivot: list[SquadParagraph] | None = None
) -> RetrievalTask:
    """Build a LAReQA retrieval task from parsed files (language -> paragraphs).

    Args:
        paragraphs: the parsed LAReQA files by language.
        name: the task name.
        pivot: the paragraphs of the language whose article index names the group of a question id in every
            language (MLQA-R: English). Without it the group is the article index of each file.
    """
    groups = _article_groups(paragraphs, pivot)
    queries: list[Query] = []
    passages: list[Passage] = []
    gold: dict[str, list[str]] = defaultdict(list)
    for lang, paras in paragraphs.items():
        for para in paras:
            group = groups[lang, para.article]
            ids = [f"{lang}|{para.article}|{para.index}|{i}" for i in range(len(para.sentences))]
            passages += [
                Passage(pid, lang, s, para.context, group=group) for pid, s in zip(ids, para.sentences, strict=True)
            ]
            for q in para.questions:
                queries.append(Query(f"{q.id}|{lang}", lang, q.text, q.id, group))
                gold[q.id].append(ids[q.gold])
    qrels = {q.id: dict.fromkeys(gold[q.alignment_id], 1) for q in queries}
    return RetrievalTask(name, queries, passages, qrels)


def parallel_qa(
    paragraphs: Mapping[str, list[SquadParagraph]], *, pivot: list[SquadParagraph] | None = None
) -> list[ParallelQA]:
    """Group the questions of parsed files by id: questions, gold sentences (or paragraphs) and contexts per language.

    Files parsed without sentences give the paragraph as the answer (and no separate context).
    """
    groups = _article_groups(paragraphs, pivot)
    fields: dict[str, tuple[dict[str, str], dict[str, str], dict[str, str], str]] = {}
    for lang, paras in paragraphs.items():
        for para in paras:
            for q in para.questions:
                questions, answers, contexts, _ = fields.setdefault(q.id, ({}, {}, {}, groups[lang, para.article]))
                questions[lang] = q.text
                if q.gold is None:
                    answers[lang] = para.context
                else:
                    answers[lang] = para.sentences[q.gold]
                    contexts[lang] = para.context
    return [ParallelQA(qid, qs, ans, ctx, group) for qid, (qs, ans, ctx, group) in fields.items()]


def _article_groups(
    paragraphs: Mapping[str, list[SquadParagraph]], pivot: list[SquadParagraph] | None
) -> dict[tuple[str, int], str]:
    """(language, article index) -> group key: the article index, or the pivot article of its questions."""
    if pivot is None:
        return {(lang, para.article): str(para.article) for lang, paras in paragraphs.items() for para in paras}
    pivot_article = {q.id: str(para.article) for para in pivot for q in para.questions}
    groups: dict[tuple[str, int], str] = {}
    for lang, paras in paragraphs.items():
        for para in paras:
            hit = next((pivot_article[q.id] for q in para.questions if q.id in pivot_article), None)
            if hit is not None:
                groups[lang, para.article] = hit
            else:
                groups.setdefault((lang, para.article), f"{lang}:{para.article}")
    return groups


def load_lareqa(
    name: str, *, languages: Iterable[str] | None = None, data_dir: str | Path | None = None
) -> RetrievalTask:
    """Load XQuAD-R or MLQA-R as a LAReQA retrieval task.

    Args:
        name: ``"xquad-r"`` or ``"mlqa-r"``.
        languages: the languages to load (default: all of the data set).
        data_dir: the data directory (see :func:`polyret.data.registry.locate`).

    Returns:
        Queries ``"<qas id>|<lang>"``, passages ``"<lang>|<article>|<para>|<sent>"`` with their paragraph as
        context, and each query's gold sentences in all loaded languages as qrels.
    """
    paragraphs, pivot = _load_lareqa_files(name, languages, data_dir)
    return lareqa_task(paragraphs, name=name, pivot=pivot)


def load_parallel_qa(
    name: str,
    *,
    languages: Iterable[str] | None = None,
    groups: Iterable[str] | None = None,
    data_dir: str | Path | None = None,
) -> list[ParallelQA]:
    """Load XQuAD-R or MLQA-R as parallel QA items (answers = gold sentences, contexts = paragraphs).

    Args:
        name: ``"xquad-r"`` or ``"mlqa-r"``.
        languages: the languages to load (default: all).
        groups: keep only these article groups (e.g. the training folds of :func:`polyret.data.splits.group_folds`).
        data_dir: the data directory.
    """
    paragraphs, pivot = _load_lareqa_files(name, languages, data_dir)
    items = parallel_qa(paragraphs, pivot=pivot)
    return items if groups is None else select_qa(items, groups)


def load_xquad(
    languages: Iterable[str] | None = None,
    *,
    groups: Iterable[str] | None = None,
    data_dir: str | Path | None = None,
) -> list[ParallelQA]:
    """Load plain XQuAD (no sentence split, adds Romanian) as parallel QA items whose answer is the paragraph.

    XQuAD is the same content as XQuAD-R: never train on it when evaluating on XQuAD-R (see
    :func:`polyret.data.splits.check_leakage`). Groups are article indexes, the same as XQuAD-R's.
    """
    langs = select_languages("xquad", XQUAD_LANGUAGES, languages)
    paragraphs = {
        lang: read_squad(locate("xquad", f"xquad.{lang}.json", data_dir), with_sentences=False) for lang in langs
    }
    items = parallel_qa(paragraphs)
    return items if groups is None else select_qa(items, groups)


def _load_lareqa_files(
    name: str, languages: Iterable[str] | None, data_dir: str | Path | None
) -> tuple[dict[str, list[SquadParagraph]], list[SquadParagraph] | None]:
    if name not in LAREQA_LANGUAGES:
        raise UsageError(f"unknown LAReQA data set {name!r}; known: {', '.join(LAREQA_LANGUAGES)}")
    langs = select_languages(name, LAREQA_LANGUAGES[name], languages)

    def read(lang: str) -> list[SquadParagraph]:
        return read_squad(locate(name, f"{lang}.json", data_dir), with_sentences=True)

    paragraphs = {lang: read(lang) for lang in langs}
    pivot = None
    if name == "mlqa-r":
        pivot = paragraphs["en"] if "en" in paragraphs else read("en")
    return paragraphs, pivot
