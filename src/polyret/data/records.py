"""Typed records every layer shares. Loaders produce them; samplers, trainers and evaluators consume them.

Language codes are the short codes of the data sets (``en``, ``de``, ``zh``, ...); :mod:`polyret.data.languages`
validates and normalises them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Query:
    """One query in one language.

    Attributes:
        id: unique within its task (e.g. ``"<qas id>|de"``).
        lang: language code.
        text: the query text.
        alignment_id: shared by the translations of the same query (e.g. the SQuAD ``qas[].id``).
        group: the article/document it belongs to, for leakage-safe splits (``None`` when unknown).
    """

    id: str
    lang: str
    text: str
    alignment_id: str
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Passage:
    """One retrieval candidate in one language.

    Attributes:
        id: unique within its task.
        lang: language code.
        text: the candidate text (for LAReQA a sentence).
        context: the surrounding paragraph, encoded together with ``text`` when the protocol asks for it.
        alignment_id: shared by translations of the same passage where such alignment exists, else ``None``.
        group: the article/document it belongs to (``None`` when unknown).
    """

    id: str
    lang: str
    text: str
    context: str | None = None
    alignment_id: str | None = None
    group: str | None = None

    def input_text(self, with_context: bool) -> str:
        """The text to encode: the candidate alone, or followed by its paragraph (LAReQA's answer + context)."""
        return passage_input(self.text, self.context if with_context else None)


def passage_input(text: str, context: str | None) -> str:
    """Join a candidate and its context into one encoder input (``text``, a blank line, then ``context``)."""
    return f"{text}\n\n{context}" if context else text


@dataclass(slots=True)
class RetrievalTask:
    """Queries, a candidate pool and relevance judgements (``qrels[query_id][passage_id] = grade``)."""

    name: str
    queries: list[Query]
    passages: list[Passage]
    qrels: dict[str, dict[str, int]]

    @property
    def query_languages(self) -> list[str]:
        return sorted({q.lang for q in self.queries})

    @property
    def passage_languages(self) -> list[str]:
        return sorted({p.lang for p in self.passages})

    def subset(
        self,
        *,
        query_langs: Iterable[str] | None = None,
        passage_langs: Iterable[str] | None = None,
        groups: Iterable[str] | None = None,
        name: str | None = None,
    ) -> RetrievalTask:
        """A task restricted to some query languages, passage languages and/or groups (articles)."""
        ql = set(query_langs) if query_langs is not None else None
        pl = set(passage_langs) if passage_langs is not None else None
        gs = set(groups) if groups is not None else None
        queries = [q for q in self.queries if (ql is None or q.lang in ql) and (gs is None or q.group in gs)]
        passages = [p for p in self.passages if (pl is None or p.lang in pl) and (gs is None or p.group in gs)]
        keep = {p.id for p in passages}
        qrels = {q.id: {pid: g for pid, g in self.qrels.get(q.id, {}).items() if pid in keep} for q in queries}
        return RetrievalTask(name or self.name, queries, passages, qrels)


@dataclass(slots=True)
class ParallelCorpus:
    """Sentences aligned across languages: ``texts[lang][i]`` translates ``texts[other][i]``.

    Attributes:
        name: e.g. ``"ntrex128"`` or ``"tatoeba:deu-eng"``.
        ids: one alignment id per row.
        texts: one column per language, each as long as ``ids``; ``None`` where a row lacks that language (a user's
            multi-way file may; the registered corpora are complete).
        groups: optional document id per row (NTREX document, TICO source document) for splits.
    """

    name: str
    ids: list[str]
    texts: dict[str, list[str | None]]
    groups: list[str] | None = None

    @property
    def languages(self) -> list[str]:
        return sorted(self.texts)

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, rows: Iterable[int], languages: Iterable[str] | None = None) -> ParallelCorpus:
        """A corpus holding only ``rows`` (and only ``languages`` when given)."""
        rows = list(rows)
        langs = list(languages) if languages is not None else self.languages
        return ParallelCorpus(
            self.name,
            [self.ids[i] for i in rows],
            {lang: [self.texts[lang][i] for i in rows] for lang in langs},
            [self.groups[i] for i in rows] if self.groups is not None else None,
        )


@dataclass(frozen=True, slots=True)
class ParallelQA:
    """One question with its answer passage in several languages: the unit of language-aware training.

    Attributes:
        id: the alignment id (shared question id across languages).
        questions: language -> question text.
        answers: language -> positive passage (for SQuAD-style data the gold sentence).
        contexts: language -> the paragraph around the answer, when known.
        group: article/document id for leakage-safe splits.
        negatives: language -> hard-negative passages (wrong answers in that language), when known.
    """

    id: str
    questions: Mapping[str, str]
    answers: Mapping[str, str]
    contexts: Mapping[str, str] = field(default_factory=dict)
    group: str | None = None
    negatives: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        """Languages in which both the question and its answer exist."""
        return sorted(set(self.questions) & set(self.answers))


@dataclass(frozen=True, slots=True)
class DiscriminationItem:
    """A CLSD-style item: a query and candidates of which exactly the first is its true translation.

    Attributes:
        id: row id (CLSD ``Index``).
        query: the source sentence.
        query_lang / candidate_lang: languages of the query and of the candidates.
        candidates: the true translation first, then the adversarial distractors.
        candidate_names: the column each candidate came from (e.g. ``German``, ``de_adv1``), for swap analysis.
    """

    id: str
    query: str
    query_lang: str
    candidates: tuple[str, ...]
    candidate_lang: str
    candidate_names: tuple[str, ...] = ()
