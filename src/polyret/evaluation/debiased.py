"""Post-hoc debiasing applied through the embedding store: every task scored again, nothing encoded again.

A :class:`DebiasedStore` wraps an :class:`~polyret.evaluation.store.EmbeddingStore` and passes the vectors it
returns through a fitted method of :mod:`polyret.debias`. The evaluators give the store the language of every text,
so label-needing methods (centering, LIR) work where a task knows its languages; a task with a language the method
was not fitted on is skipped for that method and reported, never scored with a silent fallback.

A method is fitted either on reference texts that are not test data (:class:`Reference`, e.g. questions and answer
sentences of training articles), or, only when asked, on each task's own test pool ("transductive").
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from polyret.data.lareqa import load_parallel_qa
from polyret.data.records import ParallelQA, RetrievalTask, passage_input
from polyret.data.splits import check_leakage
from polyret.debias import Debiaser, DebiasSpec, LanguagesRequiredError, UnseenLanguageError
from polyret.errors import UsageError
from polyret.evaluation.result import TaskResult
from polyret.evaluation.store import EmbeddingStore
from polyret.evaluation.suite import LareqaSpec, RunContext, SuiteConfig, TaskSpec
from polyret.models.protocol import Role

TRANSDUCTIVE = "transductive"
"""The label of results whose method was fitted on the test pool itself."""
REFERENCE_DATASET = "xquad-r"
"""The data set whose unevaluated articles are the default reference texts of ``polyret evaluate``."""


class StoreView:
    """A store in front of another: same encoder, counts and cache, different vectors (subclasses decide)."""

    def __init__(self, inner: EmbeddingStore | StoreView):
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class DebiasedStore(StoreView):
    """The inner store's vectors after ``debiaser.transform``; its fingerprint names the method and its state."""

    def __init__(self, inner: EmbeddingStore | StoreView, debiaser: Debiaser):
        super().__init__(inner)
        self.debiaser = debiaser

    @functools.cached_property
    def fingerprint(self) -> str:
        """The inner fingerprint plus a digest of the fitted method (FAISS indexes are cached under it)."""
        digest = hashlib.sha256(self.debiaser.method.encode())
        for name, array in sorted(self.debiaser.state().items()):
            digest.update(name.encode() + np.ascontiguousarray(array).tobytes())
        return f"{self.inner.fingerprint}-{self.debiaser.method}-{digest.hexdigest()[:12]}"

    def embed(self, texts: Sequence[str], role: Role, *, languages: Sequence[str] | None = None,
              **options: Any) -> np.ndarray:
        """The debiased vectors of ``texts``.

        Raises:
            LanguagesRequiredError / UnseenLanguageError: the method needs languages the caller did not give or
                it was not fitted on.
        """
        vectors = self.inner.embed(texts, role, languages=languages, **options)
        return self.debiaser.transform(vectors, languages) if len(texts) else vectors


class RecordingStore(StoreView):
    """The inner store's vectors, unchanged, with every batch handed out kept (for fitting on a test pool)."""

    def __init__(self, inner: EmbeddingStore | StoreView):
        super().__init__(inner)
        self.vectors: list[np.ndarray] = []
        self.languages: list[str] | None = []

    def embed(self, texts: Sequence[str], role: Role, *, languages: Sequence[str] | None = None,
              **options: Any) -> np.ndarray:
        vectors = self.inner.embed(texts, role, languages=languages, **options)
        self.vectors.append(vectors)
        if languages is None or self.languages is None:
            self.languages = None
        else:
            self.languages.extend(languages)
        return vectors


@dataclass(frozen=True)
class Reference:
    """Texts a method is fitted on: questions (encoded as queries) and answers (as passages), with languages.

    Attributes:
        description: what the texts are (source, articles, languages), recorded with every result.
        queries / passages: ``(text, language)`` pairs.
    """

    description: dict[str, Any]
    queries: tuple[tuple[str, str], ...]
    passages: tuple[tuple[str, str], ...]

    @classmethod
    def from_qa(cls, items: Sequence[ParallelQA], description: dict[str, Any], *, with_context: bool) -> Reference:
        """Every question and answer of ``items`` (answers with their paragraph when ``with_context``)."""
        queries = tuple((qa.questions[lang], lang) for qa in items for lang in qa.languages)
        passages = tuple(
            (passage_input(qa.answers[lang], qa.contexts.get(lang) if with_context else None), lang)
            for qa in items for lang in qa.languages
        )
        languages = sorted({lang for _, lang in queries})
        return cls({**description, "questions": len(items), "texts": len(queries) + len(passages),
                    "languages": languages}, queries, passages)

    def embed(self, store: EmbeddingStore | StoreView, batch_size: int) -> tuple[np.ndarray, list[str]]:
        """The reference vectors (queries, then passages) and their languages."""
        parts = [(self.queries, "query"), (self.passages, "passage")]
        vectors = [store.embed([t for t, _ in pairs], role, languages=[lang for _, lang in pairs],
                               batch_size=batch_size) for pairs, role in parts if pairs]
        return np.concatenate(vectors), [lang for pairs, _ in parts for _, lang in pairs]


@dataclass
class DebiasedRun:
    """One method's results on a suite.

    Attributes:
        spec: the method as the user named it.
        results: task name -> result of the debiased embeddings.
        skipped: task name -> why the method could not be applied to it.
        fit: how the method was fitted (reference description, texts, languages, rank, seconds); per task when
            transductive.
    """

    spec: DebiasSpec
    results: dict[str, TaskResult] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``"lsar:8"``, or ``"lsar:8 (transductive)"`` when fitted on the test pool."""
        return f"{self.spec.label} ({TRANSDUCTIVE})" if self.fit.get(TRANSDUCTIVE) else self.spec.label


def fit_method(spec: DebiasSpec, vectors: np.ndarray, languages: Sequence[str]) -> tuple[Debiaser, dict[str, Any]]:
    """Fit ``spec`` and return it with the facts of the fit (texts, languages, parameters, seconds)."""
    started = time.perf_counter()
    method = spec.build().fit(vectors, languages)
    return method, {"texts": int(len(vectors)), "languages": sorted(set(languages)), **method.params(),
                    "fit_seconds": round(time.perf_counter() - started, 4)}


def run_debiased(
    ctx: RunContext, suite: SuiteConfig, specs: Sequence[DebiasSpec], reference: Reference | None
) -> list[DebiasedRun]:
    """Score every task of ``suite`` again for each method, from the vectors ``ctx.store`` already holds.

    Args:
        ctx: the run context of the plain evaluation (its store serves every vector).
        suite: the tasks.
        specs: the methods.
        reference: the texts to fit on; ``None`` fits each method on each task's own test pool (transductive).
    """
    runs = [DebiasedRun(spec, fit={TRANSDUCTIVE: reference is None}) for spec in specs]
    if reference is not None:
        vectors, languages = reference.embed(ctx.store, ctx.batch_size)
        fitted = []
        for run in runs:
            method, facts = fit_method(run.spec, vectors, languages)
            run.fit |= {"reference": reference.description, **facts}
            fitted.append(method)
        for task in suite.tasks:
            for run, method in zip(runs, fitted, strict=True):
                _score(run, task, replace(ctx, store=DebiasedStore(ctx.store, method)))
        return runs
    for task in suite.tasks:
        recorder = RecordingStore(ctx.store)
        task.run(replace(ctx, store=recorder))
        for run in runs:
            if recorder.languages is None:
                run.skipped[task.name] = f"{task.name} does not give the language of its texts"
                continue
            method, facts = fit_method(run.spec, np.concatenate(recorder.vectors), recorder.languages)
            run.fit.setdefault("per_task", {})[task.name] = facts
            _score(run, task, replace(ctx, store=DebiasedStore(ctx.store, method)))
    return runs


def _score(run: DebiasedRun, task: TaskSpec, ctx: RunContext) -> None:
    try:
        run.results[task.name] = task.run(ctx)
    except (LanguagesRequiredError, UnseenLanguageError) as exc:
        run.skipped[task.name] = str(exc)


def unused_articles_reference(suite: SuiteConfig, *, data_dir: str | Path | None = None) -> Reference:
    """The default reference of ``polyret evaluate``: the XQuAD-R articles that no task of ``suite`` evaluates,
    every language, checked to share no text with the suite's LAReQA tasks.

    Raises:
        UsageError: every article is test data here, or a reference text occurs in a test pool.
    """
    lareqa = [task for task in suite.tasks if isinstance(task, LareqaSpec)]
    loaded = [task.load(data_dir) for task in lareqa]
    used = {q.group for spec, task in zip(lareqa, loaded, strict=True) if spec.dataset == REFERENCE_DATASET
            for q in task.queries}
    items = [qa for qa in load_parallel_qa(REFERENCE_DATASET, data_dir=data_dir) if qa.group not in used]
    if not items:
        raise UsageError(
            f"every {REFERENCE_DATASET} article is test data in suite {suite.name!r}, so no default reference is left "
            "to fit the debiasing methods on: give a QA JSONL file of reference texts, or fit on the test pool "
            "(transductive)"
        )
    check_reference(items, loaded)
    groups = sorted({qa.group for qa in items if qa.group is not None})
    return Reference.from_qa(items, {"source": f"{REFERENCE_DATASET} articles not evaluated",
                                     "articles": len(groups)}, with_context=suite.with_context)


def check_reference(items: Sequence[ParallelQA], tasks: Sequence[RetrievalTask]) -> None:
    """Refuse reference texts that occur in a test pool (fitting on them would be transductive).

    Raises:
        UsageError: with the counts and examples.
    """
    report = check_leakage(list(items), list(tasks), allow=True)
    if report.leaked:
        raise UsageError(
            f"{report.questions} reference questions and {report.answers} reference answers occur in the test data "
            f"(e.g. {'; '.join(repr(e) for e in report.examples)}): fit on texts that are not test data, or fit "
            "on the test pool on purpose (transductive)"
        )
