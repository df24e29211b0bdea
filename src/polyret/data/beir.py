"""BEIR-style retrieval data (a corpus, topics and qrels) and the MIRACL topics/qrels of the registry.

Formats:
    corpus: JSON lines ``{"_id" | "docid": ..., "title": ..., "text": ...}``; the passage text is title and text
        joined by a space, as BEIR does.
    topics: ``qid<TAB>query`` lines (Anserini/MIRACL), or BEIR ``queries.jsonl`` (``{"_id", "text"}``).
    qrels: TREC ``qid Q0 docid rel`` (whitespace separated), or BEIR ``query-id<TAB>corpus-id<TAB>score`` with
        that header. Grade 0 marks a judged non-relevant pair: counted, never a positive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from polyret.data import parsing
from polyret.data.parsing import ProblemLog, iter_jsonl, split_columns
from polyret.data.records import Passage, Query, RetrievalTask
from polyret.data.registry import locate
from polyret.errors import DataError
from polyret.io import read_lines

logger = logging.getLogger(__name__)
_TREC_QRELS = "4 whitespace-separated columns 'qid Q0 docid relevance'"
_BEIR_QRELS_HEADER = "query-id"


@dataclass
class Qrels:
    """Relevance judgements: ``positive[qid][docid] = grade > 0`` and the judged non-relevant pairs."""

    positive: dict[str, dict[str, int]] = field(default_factory=dict)
    negative: dict[str, set[str]] = field(default_factory=dict)

    @property
    def negative_count(self) -> int:
        """Number of judged non-relevant (grade 0) pairs."""
        return sum(len(docs) for docs in self.negative.values())

    @property
    def query_ids(self) -> set[str]:
        """Every judged query id."""
        return set(self.positive) | set(self.negative)


def read_corpus(path: str | Path, *, lang: str = "en", problems: ProblemLog | None = None) -> list[Passage]:
    """Read a BEIR ``corpus.jsonl`` as passages of language ``lang``.

    Raises:
        DataError: a malformed line, a missing id or text, or a duplicate id.
    """
    problems = problems or ProblemLog()
    passages: list[Passage] = []
    seen: set[str] = set()
    for number, obj in iter_jsonl(path, problems):
        with problems.record():
            key = "_id" if "_id" in obj else "docid"
            docid = str(parsing.field(obj, key, (str, int), path, number))
            if docid in seen:
                raise DataError(path, f"duplicate document id {docid!r}", record=number, expected="unique ids")
            text = parsing.field(obj, "text", str, path, number)
            title = obj.get("title") or ""
            if not isinstance(title, str):
                raise DataError(path, f"title is a {type(title).__name__}", record=number, expected="a text")
            seen.add(docid)
            passages.append(Passage(docid, lang, f"{title} {text}" if title.strip() else text))
    return passages


def read_topics(path: str | Path, *, problems: ProblemLog | None = None) -> dict[str, str]:
    """Read topics (``qid<TAB>query`` lines, or BEIR ``queries.jsonl`` when the name ends in ``.jsonl[.gz]``).

    Raises:
        DataError: a line without both columns, an empty query, or a duplicate query id.
    """
    problems = problems or ProblemLog()
    topics: dict[str, str] = {}

    def add(qid: str, text: str, number: int) -> None:
        if qid in topics:
            raise DataError(path, f"duplicate query id {qid!r}", record=number, expected="unique query ids")
        topics[qid] = text

    if Path(path).name.removesuffix(".gz").endswith(".jsonl"):
        for number, obj in iter_jsonl(path, problems):
            with problems.record():
                qid = str(parsing.field(obj, "_id", (str, int), path, number))
                add(qid, parsing.field(obj, "text", str, path, number), number)
        return topics
    for number, line in enumerate(read_lines(path), start=1):
        with problems.record():
            qid, text = split_columns(line, 2, path, number, "'query id<TAB>query text'")
            add(qid, text, number)
    return topics


def read_qrels(path: str | Path, *, problems: ProblemLog | None = None) -> Qrels:
    """Read TREC or BEIR qrels; grade-0 pairs go to :attr:`Qrels.negative`.

    Raises:
        DataError: a line of the wrong shape, a non-integer or negative grade, or a pair judged twice.
    """
    problems = problems or ProblemLog()
    qrels = Qrels()
    lines = read_lines(path)
    beir = bool(lines) and lines[0].startswith(_BEIR_QRELS_HEADER)
    for number, line in enumerate(lines, start=1):
        if beir and number == 1:
            continue
        with problems.record():
            if beir:
                qid, docid, grade = split_columns(line, 3, path, number, "'query-id<TAB>corpus-id<TAB>score'")
            else:
                qid, _, docid, grade = split_columns(line, 4, path, number, _TREC_QRELS, sep=None)
            if not grade.isdigit():
                raise DataError(path, f"relevance {grade!r}", record=number, expected="an integer grade >= 0")
            if docid in qrels.positive.get(qid, {}) or docid in qrels.negative.get(qid, set()):
                raise DataError(path, f"pair ({qid}, {docid}) judged twice", record=number, expected="one judgement")
            if int(grade) > 0:
                qrels.positive.setdefault(qid, {})[docid] = int(grade)
            else:
                qrels.negative.setdefault(qid, set()).add(docid)
    return qrels


def load_beir(
    corpus: str | Path, topics: str | Path, qrels: str | Path, *, name: str, lang: str = "en"
) -> RetrievalTask:
    """Load a BEIR-style task: the queries with at least one relevant document, the corpus, and positive qrels.

    Topics without any positive judgement are left out (and logged with their count, as are judged non-relevant
    pairs, which are never positives).

    Args:
        corpus: the corpus JSON lines.
        topics: the topics / queries file.
        qrels: the relevance judgements.
        name: the task name.
        lang: the language of queries and documents.

    Raises:
        DataError: qrels naming a query or document that the topics or corpus lack.
    """
    passages = read_corpus(corpus, lang=lang)
    texts = read_topics(topics)
    judged = read_qrels(qrels)
    docids = {p.id for p in passages}
    for qid in sorted(judged.query_ids):
        if qid not in texts:
            raise DataError(qrels, f"query id {qid!r} is not in the topics {topics}", record=qid)
        dangling = sorted((set(judged.positive.get(qid, {})) | judged.negative.get(qid, set())) - docids)
        if dangling:
            raise DataError(
                qrels,
                f"{len(dangling)} judged document(s) missing from the corpus {corpus}, e.g. {dangling[0]!r}",
                record=qid,
            )
    queries = [Query(qid, lang, text, qid) for qid, text in texts.items() if qid in judged.positive]
    logger.info(
        "%s: %d queries kept, %d topics without a positive judgement left out, %d judged non-relevant pairs",
        name,
        len(queries),
        len(texts) - len(queries),
        judged.negative_count,
    )
    return RetrievalTask(name, queries, passages, {q.id: dict(judged.positive[q.id]) for q in queries})


def load_miracl_topics(lang: str, split: str = "dev", *, data_dir: str | Path | None = None) -> dict[str, str]:
    """MIRACL v1.0 topics of ``lang`` and ``split`` (``dev`` for 18 languages, ``train`` for 16)."""
    return read_topics(locate("miracl", f"topics/topics.miracl-v1.0-{lang}-{split}.tsv", data_dir))


def load_miracl_qrels(lang: str, split: str = "dev", *, data_dir: str | Path | None = None) -> Qrels:
    """MIRACL v1.0 qrels of ``lang`` and ``split`` (the corpus itself is not in the registry)."""
    return read_qrels(locate("miracl", f"qrels/qrels.miracl-v1.0-{lang}-{split}.tsv", data_dir))
