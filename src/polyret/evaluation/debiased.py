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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from polyret.data.lareqa import load_parallel_qa
from polyret.data.records import DiscriminationItem, ParallelCorpus, ParallelQA, RetrievalTask, passage_input
from polyret.data.splits import check_leakage, first_groups
from polyret.debias import Debiaser, DebiasSpec, LanguagesRequiredError, UnseenLanguageError
from polyret.errors import UsageError
from polyret.evaluation.result import TaskResult
from polyret.evaluation.store import EmbeddingStore
from polyret.evaluation.suite import LareqaSpec, RunContext, SuiteConfig, TaskData, TaskSpec
from polyret.models.protocol import Role

TRANSDUCTIVE = "transductive"
"""The label of results whose method was fitted on the test pool itself."""
REFERENCE_DATASET = "xquad-r"
"""The data set whose unevaluated articles are the default reference texts of ``polyret evaluate``."""
REFERENCE_ARTICLES: dict[str, int] = {"center": 9, "lir": 9, "lsar": 3, "shift": 6}
"""Reference articles (XQuAD-R-sized: about 25 questions in 11 languages each) each method needs at its default
parameter: the smallest reference from which on the pooled multilingual mAP on the held-out XQuAD-R fold lies
within 0.005, and the language bias within 5 ranks, of the full reference's (37 training articles;
``benchmarks/debias_reference_size.py``, multilingual-e5-small, answers without context)."""
PARAMETER_ARTICLES: dict[str, int] = {"lir": 9, "lsar": 6, "shift": 6}
"""The same with a rank or scale given: the most any measured one needed (LSAR rank 7: 6 articles, rank 4: 2;
SHIFT scale 0.5: 3; LIR was measured at rank 1 only)."""

Say = Callable[[str], None]
"""Where stage lines go (e.g. the console); ``None``: nowhere."""


def reference_articles(specs: Sequence[DebiasSpec]) -> int:
    """The default reference size, in articles, for fitting every method of ``specs``: the largest they need."""
    return max(REFERENCE_ARTICLES[spec.method] if spec.rank is None and spec.scale is None
               else PARAMETER_ARTICLES[spec.method] for spec in specs)


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
        """The debiased vectors of ``texts`` (unchanged in a role the method does not transform).

        Raises:
            LanguagesRequiredError / UnseenLanguageError: the method needs languages the caller did not give or
                it was not fitted on.
        """
        vectors = self.inner.embed(texts, role, languages=languages, **options)
        if not len(texts) or role not in self.debiaser.roles:  # e.g. SHIFT leaves queries as they are
            return vectors
        return self.debiaser.transform(vectors, languages)


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

    @property
    def summary(self) -> str:
        """One line on what the texts are: ``"xquad-r training folds, 4 articles, 11 languages"``."""
        facts = self.description
        parts = [str(facts.get("source", "reference texts"))]
        if "articles" in facts:
            parts.append(f"{facts['articles']} articles")
        return ", ".join([*parts, f"{len(facts['languages'])} languages"])

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


@dataclass(frozen=True)
class DebiasPlan:
    """The methods of an evaluation, what they are fitted on and which tasks each skips, settled before encoding.

    Attributes:
        specs: the methods (none: no debiasing).
        reference: the reference texts; ``None``: each task's own test pool (transductive).
        skipped: method label -> task -> reason, from :func:`language_skips`.
    """

    specs: tuple[DebiasSpec, ...] = ()
    reference: Reference | None = None
    skipped: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def fitted_on(cls, reference: Reference | None, suite: SuiteConfig, specs: Sequence[DebiasSpec],
                  data_dir: str | Path | None = None) -> DebiasPlan:
        """The plan for ``specs`` fitted on ``reference``, the language check done (raises as
        :func:`language_skips` does)."""
        skipped = {} if reference is None else language_skips(suite, specs, reference, TaskData(data_dir))
        return cls(tuple(specs), reference, skipped)

    def run(self, ctx: RunContext, suite: SuiteConfig, *, say: Say | None = None) -> list[DebiasedRun]:
        """Each method's results (see :func:`run_debiased`); nothing when there is no method."""
        if not self.specs:
            return []
        return run_debiased(ctx, suite, self.specs, self.reference, skipped=self.skipped, say=say)


def fit_method(spec: DebiasSpec, vectors: np.ndarray, languages: Sequence[str]) -> tuple[Debiaser, dict[str, Any]]:
    """Fit ``spec`` and return it with the facts of the fit (texts, languages, parameters, seconds)."""
    started = time.perf_counter()
    method = spec.build().fit(vectors, languages)
    return method, {"texts": int(len(vectors)), "languages": sorted(set(languages)), **method.params(),
                    "fit_seconds": round(time.perf_counter() - started, 4)}


def run_debiased(
    ctx: RunContext,
    suite: SuiteConfig,
    specs: Sequence[DebiasSpec],
    reference: Reference | None,
    *,
    skipped: Mapping[str, Mapping[str, str]] | None = None,
    say: Say | None = None,
) -> list[DebiasedRun]:
    """Score every task of ``suite`` again for each method, from the vectors ``ctx.store`` already holds.

    Args:
        ctx: the run context of the plain evaluation (its store serves every vector).
        suite: the tasks.
        specs: the methods.
        reference: the texts to fit on; ``None`` fits each method on each task's own test pool (transductive, as
            is a reference whose description holds ``"transductive"``: an evaluated task's file).
        skipped: method label -> task -> why it is not scored (from :func:`language_skips`, known before encoding).
        say: receives one line per stage (encoding the reference, fitting).
    """
    transductive = reference is None or bool(reference.description.get(TRANSDUCTIVE))
    runs = [DebiasedRun(spec, skipped=dict((skipped or {}).get(spec.label, {})), fit={TRANSDUCTIVE: transductive})
            for spec in specs]
    if reference is None:
        _run_transductive(ctx, suite, runs)
        return runs
    if say is not None:
        say(f"debias: encoding {reference.description['texts']} reference texts ({reference.summary})")
    vectors, languages = reference.embed(ctx.store, ctx.batch_size)
    fitted = []
    for run in runs:
        method, facts = fit_method(run.spec, vectors, languages)
        run.fit |= {"reference": reference.description, **facts}
        fitted.append(method)
        if say is not None:
            say(f"debias: fitted {run.label} on {facts['texts']} texts in {facts['fit_seconds']:.2f} s")
    for task in suite.tasks:
        for run, method in zip(runs, fitted, strict=True):
            if task.name not in run.skipped:
                _score(run, task, replace(ctx, store=DebiasedStore(ctx.store, method)))
    return runs


def _run_transductive(ctx: RunContext, suite: SuiteConfig, runs: list[DebiasedRun]) -> None:
    """Fit each method on each task's own test pool, then score the task with it."""
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


def _score(run: DebiasedRun, task: TaskSpec, ctx: RunContext) -> None:
    try:
        run.results[task.name] = task.run(ctx)
    except (LanguagesRequiredError, UnseenLanguageError) as exc:
        run.skipped[task.name] = str(exc)


def unused_articles_reference(
    suite: SuiteConfig, *, data_dir: str | Path | None = None, articles: int | None = None
) -> Reference:
    """The default reference of ``polyret evaluate``: the first ``articles`` XQuAD-R articles that no task of
    ``suite`` evaluates (``None``: all of them), every language, checked to share no text with the suite's LAReQA
    tasks.

    Raises:
        UsageError: every article is test data here, or a reference text occurs in a test pool.
    """
    lareqa = [task for task in suite.tasks if isinstance(task, LareqaSpec)]
    loaded = [task.load(data_dir) for task in lareqa]
    used = {q.group for spec, task in zip(lareqa, loaded, strict=True) if spec.dataset == REFERENCE_DATASET
            for q in task.queries}
    items = [qa for qa in load_parallel_qa(REFERENCE_DATASET, data_dir=data_dir) if qa.group not in used]
    kept = set(first_groups((qa.group for qa in items), articles))
    items = [qa for qa in items if qa.group in kept]
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


def task_languages(task: TaskSpec, task_data: TaskData) -> set[str] | None:
    """The languages of every text ``task`` encodes, read from its data without encoding anything; ``None`` when
    the task's data do not say (e.g. a BEIR folder) until it runs."""
    if not hasattr(task, "load"):
        return None
    data = task_data.load(task)
    parts = data if isinstance(data, list) else [data]
    languages: set[str] = set()
    for part in parts:
        if isinstance(part, RetrievalTask):
            languages |= {*part.query_languages, *part.passage_languages}
        elif isinstance(part, ParallelCorpus):
            languages |= set(part.languages)
        elif isinstance(part, DiscriminationItem):
            languages |= {part.query_lang, part.candidate_lang}
        else:
            return None
    return languages


def language_skips(
    suite: SuiteConfig, specs: Sequence[DebiasSpec], reference: Reference, task_data: TaskData
) -> dict[str, dict[str, str]]:
    """Which tasks each label-needing method must skip because the reference lacks one of their languages, found
    from the task data before anything is encoded: method label -> task -> reason (naming the languages).

    Raises:
        UsageError: a method could transform none of the tasks (naming the languages the reference lacks), or the
            reference lacks SHIFT's source language.
    """
    fitted = set(reference.description["languages"])
    for spec in specs:
        source = getattr(spec.build(), "source", None)  # SHIFT's offsets are relative to one language
        if source is not None and source not in fitted:
            raise UsageError(f"{spec.label} measures every language's offset from {source}, and the reference texts "
                             f"({reference.summary}: {', '.join(sorted(fitted))}) have no {source}")
    missing = {task.name: sorted((task_languages(task, task_data) or set()) - fitted) for task in suite.tasks}
    reasons = {name: f"the reference ({reference.summary}) has no {', '.join(langs)}; {name} needs them"
               for name, langs in missing.items() if langs}
    skips = {spec.label: dict(reasons) for spec in specs if spec.needs_languages and reasons}
    for label, skipped in skips.items():
        if len(skipped) == len(suite.tasks):
            lacking = sorted({lang for langs in missing.values() for lang in langs})
            raise UsageError(
                f"{label} works per language and the reference texts ({reference.summary}: "
                f"{', '.join(sorted(fitted))}) lack {', '.join(lacking)}, so it can transform none of the tasks: fit "
                "it on reference texts in those languages, or use lsar, which needs no languages"
            )
    return skips
