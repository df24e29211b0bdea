"""Hard negatives mined for a prepared corpus with an encoder and FAISS (``polyret data mine-negatives``).

For each language ``Y`` with answers, every row's answer in ``Y`` is a candidate passage; the row's question (in
``Y`` where it has one, else in the first language it has) searches them by inner product (the encoder's vectors
are unit length: cosine). Candidates whose row shares the query row's answer key (the row itself, so its answer
and every translation of it, and any row sharing an answer text with it in any language) are never negatives. The
rest are filtered and picked with the options of sentence-transformers' ``mine_hard_negatives``
(:class:`MiningOptions`, "top" sampling). The mined rows become the ``negatives.Y`` column of a new prepared corpus,
written like ``polyret data prepare`` writes one (staging folder, manifest last, rename), with the model and options
in its manifest.

Memory: one language's passage vectors at a time (the FAISS flat index: ``4 * dim`` bytes per answer in that
language) plus a chunk of queries; the mined row numbers wait on disk (``8 * num_negatives`` bytes per row and
language) in the staging folder, and texts are read for one chunk of rows at a time.

Example:
    >>> encoder = get_encoder("multilingual-e5-small")                                      # doctest: +SKIP
    >>> mined = mine_negatives(PreparedCorpus.open("corpora/train"), encoder, "corpora/train-neg",
    ...                        MiningOptions(num_negatives=4, range_min=2, relative_margin=0.05))  # doctest: +SKIP

Relations:
    Reads :class:`~polyret.data.corpus.PreparedCorpus`, encodes with an :class:`~polyret.models.protocol.Encoder`,
    writes with :func:`~polyret.data.prepare.prepare_corpus`; training uses the negatives with ``hard_negatives``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from polyret.data.corpus import TEXT_FIELDS, PreparedCorpus
from polyret.data.prepare import prepare_corpus
from polyret.data.records import ParallelQA, passage_input
from polyret.errors import UsageError
from polyret.models.protocol import Encoder
from polyret.training.negative_selection import MiningOptions, select_negatives

CHUNK_ROWS = 4096
"""Queries searched (and rows written) at once."""


@dataclass
class LanguageMining:
    """What mining one language gave: rows searched, rows left with fewer than ``num_negatives`` negatives."""

    rows: int = 0
    short: int = 0


class MinedCorpusSource:
    """A prepared corpus read row by row with mined negatives (a :class:`~polyret.data.corpus_sources.CorpusSource`).

    :meth:`items` first mines every language into ``work_dir`` (one ``int64`` array of row numbers per language),
    then yields the corpus's rows with those negatives in place of the ones they had in that language.
    """

    kind = "mined"

    def __init__(self, corpus: PreparedCorpus, encoder: Encoder, options: MiningOptions,
                 on_stage: Callable[[str], None] | None = None) -> None:
        self.corpus = corpus
        self.encoder = encoder
        self.options = options
        self.name = corpus.source
        self.say = on_stage or (lambda line: None)
        self.languages = [lang for lang in corpus.languages if corpus.has("answer", lang).any()]
        self.report: dict[str, LanguageMining] = {}

    def record_label(self, number: int) -> int | str:
        return f"row {number}"

    def sha256(self) -> str:
        content = {"corpus": self.corpus.digest, "model": self.encoder.fingerprint(), **self.options.to_dict()}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    def provenance(self) -> dict[str, Any]:
        """The manifest's ``mining`` entry: source corpus, model, options and per-language counts."""
        return {"corpus": self.corpus.source, "corpus_digest": self.corpus.digest, "model": self.encoder.name,
                "model_fingerprint": self.encoder.fingerprint(), "options": self.options.to_dict(),
                "languages": {lang: dataclasses.asdict(found) for lang, found in self.report.items()}}

    def items(self, work_dir: Path) -> Iterator[tuple[int, ParallelQA]]:
        mined = {}
        for lang in self.languages:
            self.say(f"mining {lang}")
            mined[lang], self.report[lang] = self._mine(lang, work_dir / f"negatives.{lang}.npy")
        for start in range(0, len(self.corpus), CHUNK_ROWS):
            rows = np.arange(start, min(start + CHUNK_ROWS, len(self.corpus)))
            yield from enumerate(self._records(rows, mined), start=start)
            self.corpus.release_pages()

    def _mine(self, lang: str, target: Path) -> tuple[np.ndarray, LanguageMining]:
        """Mine ``lang`` into an array on disk at ``target``: per corpus row, ``num_negatives`` rows or ``-1``."""
        rows = np.flatnonzero(self.corpus.has("answer", lang))
        first = self._first_with_same_passage(rows, lang)
        candidates = rows[first == np.arange(len(rows))]  # one row per distinct passage text
        index = self._index(candidates, lang)
        own = np.searchsorted(candidates, rows[first])  # where each row's own passage is in the index
        out = np.lib.format.open_memmap(target, mode="w+", dtype=np.int64,
                                        shape=(len(self.corpus), self.options.num_negatives))
        out[:] = -1
        query_langs = self._query_languages(lang)
        found = LanguageMining(rows=len(rows))
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = slice(start, start + CHUNK_ROWS)
            queries = self.encoder.encode(self._questions(rows[chunk], query_langs[rows[chunk]]), "query",
                                          batch_size=self.options.batch_size)
            positive = np.einsum("ij,ij->i", queries, index.reconstruct_batch(own[chunk]))
            out[rows[chunk]] = self._search(index, candidates, rows[chunk], queries, positive)
            found.short += int((out[rows[chunk]] < 0).any(axis=1).sum())
            self.corpus.release_pages()
        out.flush()
        return out, found

    def _search(self, index: Any, candidates: np.ndarray, rows: np.ndarray, queries: np.ndarray,
                positive: np.ndarray) -> np.ndarray:
        """The negatives (corpus rows, ``-1`` padded) of ``rows``: the nearest candidates, without those sharing the
        row's answer key, picked by :func:`select_negatives`."""
        keys = np.asarray(self.corpus.answer_keys())
        candidate_keys = keys[candidates]
        unique, counts = np.unique(candidate_keys, return_counts=True)
        at = np.minimum(np.searchsorted(unique, keys[rows]), len(unique) - 1)
        shared = np.where(unique[at] == keys[rows], counts[at], 0)  # candidates excluded for each row
        depth = min(self.options.window + int(shared.max()), len(candidates))
        scores, nearest = index.search(queries, depth)
        excluded = (nearest < 0) | (candidate_keys[np.maximum(nearest, 0)] == keys[rows][:, None])
        chosen = select_negatives(scores, excluded, positive, self.options)
        picked = np.take_along_axis(nearest, np.maximum(chosen, 0), axis=1)
        return np.where(chosen >= 0, candidates[np.maximum(picked, 0)], -1)

    def _first_with_same_passage(self, rows: np.ndarray, lang: str) -> np.ndarray:
        """Per position in ``rows``, the first position holding the same passage text in ``lang`` (its own where
        the text is unique). Equal texts share an answer key, so only rows sharing a key are read."""
        keys = np.asarray(self.corpus.answer_keys())[rows]
        first = np.arange(len(rows))
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        shared = np.flatnonzero(counts[inverse] > 1)
        seen: dict[tuple[int, bytes], int] = {}
        for start in range(0, len(shared), CHUNK_ROWS):
            positions = shared[start : start + CHUNK_ROWS]
            for position, text in zip(positions.tolist(), self._passages(rows[positions], lang), strict=True):
                digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
                first[position] = seen.setdefault((int(keys[position]), digest), position)
        return first

    def _index(self, passages: np.ndarray, lang: str) -> Any:
        """A FAISS inner-product index over the passages of ``lang``, encoded chunk by chunk."""
        import faiss

        index = None
        for start in range(0, len(passages), CHUNK_ROWS):
            vectors = self.encoder.encode(self._passages(passages[start : start + CHUNK_ROWS], lang), "passage",
                                          batch_size=self.options.batch_size)
            index = index or faiss.IndexFlatIP(vectors.shape[1])
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return index

    def _query_languages(self, lang: str) -> np.ndarray:
        """Per row, the language its query is asked in: ``lang`` where the row has a question in it, else the
        first of the corpus's languages it has one in (every row has a question in some language)."""
        languages = list(self.corpus.languages)
        chosen = np.full(len(self.corpus), -1, dtype=np.int64)
        for index in [*reversed(range(len(languages))), languages.index(lang)]:
            chosen[self.corpus.has("question", languages[index])] = index
        return chosen

    def _questions(self, rows: np.ndarray, langs: np.ndarray) -> list[str]:
        out: list[str] = [""] * len(rows)
        for lang in np.unique(langs).tolist():
            where = np.flatnonzero(langs == lang)
            texts = self.corpus.texts("question", self.corpus.languages[lang], rows[where])
            for position, text in zip(where.tolist(), texts, strict=True):
                out[position] = text
        return out

    def _passages(self, rows: np.ndarray, lang: str) -> list[str]:
        """The answers of ``rows`` in ``lang`` as encoded and stored (followed by their paragraph with context)."""
        answers = self.corpus.texts("answer", lang, rows)
        if not self.options.with_context:
            return answers  # type: ignore[return-value]
        contexts = self.corpus.texts("context", lang, rows)
        return [passage_input(a, c) for a, c in zip(answers, contexts, strict=True)]  # type: ignore[arg-type]

    def _records(self, rows: np.ndarray, mined: dict[str, np.ndarray]) -> list[ParallelQA]:
        """The corpus's ``rows`` as records, their negatives in the mined languages replaced by the mined ones."""
        corpus = self.corpus
        fields = {field: {lang: corpus.texts(field, lang, rows) for lang in corpus.languages}
                  for field in TEXT_FIELDS}
        negatives = {lang: corpus.negatives(lang, rows) for lang in corpus.languages if lang not in mined}
        for lang, chosen in mined.items():
            picked = np.asarray(chosen[rows])
            texts = iter(self._passages(picked[picked >= 0], lang))
            negatives[lang] = [[next(texts) for _ in range(int((row >= 0).sum()))] for row in picked]
        records = []
        for i, (identifier, group) in enumerate(zip(corpus.ids(rows), corpus.groups(rows), strict=True)):
            present = {field: {lang: texts[i] for lang, texts in by_lang.items() if texts[i] is not None}
                       for field, by_lang in fields.items()}
            records.append(ParallelQA(identifier, present["question"], present["answer"], present["context"], group,
                                      {lang: tuple(found[i]) for lang, found in negatives.items() if found[i]}))
        return records


def mine_negatives(corpus: PreparedCorpus, encoder: Encoder, output: str | Path, options: MiningOptions, *,
                   on_stage: Callable[[str], None] | None = None) -> tuple[PreparedCorpus, dict[str, Any]]:
    """Write ``corpus`` with mined hard negatives to ``output`` (see the module docstring).

    Returns:
        The new corpus and its manifest's ``mining`` entry (model, options, per-language counts).

    Raises:
        UsageError: bad options, or ``output`` is the corpus itself or a folder holding something else.
    """
    options.check()
    if Path(output).resolve() == Path(corpus.folder).resolve():
        raise UsageError(f"{output}: write the mined corpus to another folder than the one it is read from")
    source = MinedCorpusSource(corpus, encoder, options, on_stage)
    mined = prepare_corpus([source], output, extra=lambda: {"mining": source.provenance()})
    return mined, mined.manifest["mining"]
