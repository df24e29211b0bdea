"""Materialise the training pairs as the ``datasets.Dataset`` the sentence-transformers trainer reads."""

from __future__ import annotations

from datasets import Dataset

from polyret.data.records import passage_input
from polyret.sampling import PairTable


def build_pair_dataset(
    table: PairTable, *, with_context: bool, group_labels: bool = False, language_labels: bool = False,
    parallel_queries: bool = False,
) -> Dataset:
    """One row per usable (example, X, Y): column ``query`` (question in X), column ``passage`` (answer in Y).

    Row ``i`` is ``table.rows[i]``, so a sampler's row indices select these rows. With ``with_context`` the passage
    is the answer, a blank line and its paragraph (:func:`polyret.data.records.passage_input`). With
    ``group_labels`` a column ``label`` holds the example index: rows with equal labels hold translations of one
    answer (the positives of :class:`~polyret.training.losses.MultiPositiveRankingLoss`). With ``language_labels``
    the label of a row ends with the index of its query and of its passage language (in the sorted languages of
    the table), as :class:`~polyret.training.language_losses.LanguageErasureLoss` reads them. With
    ``parallel_queries`` a third column ``parallel_query`` holds the question in another language
    (:func:`parallel_language`).
    """
    queries, passages, parallel = [], [], []
    question_languages = _question_languages(table) if parallel_queries else []
    for ref in table.rows:
        example = table.examples[ref.example_index]
        context = example.contexts.get(ref.passage_lang) if with_context else None
        queries.append(example.questions[ref.query_lang])
        passages.append(passage_input(example.answers[ref.passage_lang], context))
        if parallel_queries:
            other = parallel_language(ref.query_lang, ref.passage_lang, question_languages[ref.example_index])
            parallel.append(example.questions[other])
    columns = {"query": queries, "passage": passages}
    if parallel_queries:
        columns["parallel_query"] = parallel
    labels = [[ref.example_index] if group_labels else [] for ref in table.rows]
    if language_labels:
        index = {lang: i for i, lang in enumerate(sorted({r.query_lang for r in table.rows}
                                                         | {r.passage_lang for r in table.rows}))}
        labels = [[*label, index[ref.query_lang], index[ref.passage_lang]]
                  for label, ref in zip(labels, table.rows, strict=True)]
    if group_labels or language_labels:
        columns["label"] = labels if language_labels else [label for (label,) in labels]
    return Dataset.from_dict(columns)


def parallel_language(query_lang: str, passage_lang: str, question_langs: list[str]) -> str:
    """The language of a row's parallel query: the passage's language for a cross-lingual row whose question
    exists in it, else the next of the question's languages (sorted, cyclically) after the query's; the query's
    own language when the question has no other."""
    if passage_lang != query_lang and passage_lang in question_langs:
        return passage_lang
    return question_langs[(question_langs.index(query_lang) + 1) % len(question_langs)]


def _question_languages(table: PairTable) -> list[list[str]]:
    """Per example, the sorted languages its question is usable in (those of the table's rows)."""
    languages: list[set[str]] = [set() for _ in table.examples]
    for ref in table.rows:
        languages[ref.example_index].add(ref.query_lang)
    return [sorted(langs) for langs in languages]
