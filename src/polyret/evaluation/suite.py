"""Evaluation suites: which tasks, on which languages and slices, run against one encoder.

A suite is declarative: a :class:`SuiteConfig` holds task specs (:class:`LareqaSpec`, :class:`ClsdSpec`,
:class:`BitextSpec`, :class:`TatoebaSpec`, :class:`BeirSpec`); each spec knows how to load its data and which
evaluator scores it. :func:`run_suite` encodes through one :class:`~polyret.evaluation.store.EmbeddingStore`, so a
text shared by several tasks is encoded once (and, with a cache folder, never again for the same model).

The registered tasks and the named suites (``full``, ``quick``, ``lareqa``, ``domain-shift``) are declared in
:mod:`polyret.evaluation.catalog`. MIRACL or any BEIR-style corpus runs only when the user gives a corpus
(:meth:`SuiteConfig.with_tasks` + :class:`BeirSpec`), as do a user's own task files
(:class:`polyret.evaluation.user_tasks.TaskFileSpec`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from polyret.data.beir import load_beir
from polyret.data.clsd import load_clsd, load_swap_annotations
from polyret.data.lareqa import load_lareqa
from polyret.data.parallel import load_ntrex, load_tatoeba, load_tico
from polyret.data.records import DiscriminationItem, ParallelCorpus, RetrievalTask
from polyret.data.splits import first_groups
from polyret.errors import UsageError
from polyret.evaluation.beir import SearchMode, evaluate_beir
from polyret.evaluation.bitext import evaluate_bitext, evaluate_bitext_corpora
from polyret.evaluation.clsd import evaluate_clsd
from polyret.evaluation.lareqa import evaluate_lareqa
from polyret.evaluation.report import slug
from polyret.evaluation.result import TaskResult
from polyret.evaluation.store import EmbeddingStore
from polyret.models.protocol import Encoder

Languages = tuple[str, ...] | None


class TaskData:
    """The loaded data of suite tasks, each read once: one instance serves every run over the same data directory
    (a study's arms), so the files are parsed once per study instead of once per evaluation. Evaluators only read
    what they are given, so the loaded records are shared as they are.

    Args:
        data_dir: the data directory (see :func:`polyret.settings.data_dir`).
    """

    def __init__(self, data_dir: str | Path | None = None):
        self.data_dir = data_dir
        self._loaded: dict[Any, Any] = {}

    def load(self, spec: Any) -> Any:
        """``spec.load(data_dir)``, read at the first call for an equal spec and kept."""
        if spec not in self._loaded:
            self._loaded[spec] = spec.load(self.data_dir)
        return self._loaded[spec]


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every task of one suite run shares."""

    store: EmbeddingStore
    task_data: TaskData
    cache_root: str | Path | None
    with_context: bool
    batch_size: int
    trec_dir: Path | None = None

    def run_file(self, task_name: str) -> Path | None:
        """Where a retrieval task writes its TREC run (``<trec_dir>/<task>.run``), or ``None`` (write none)."""
        return None if self.trec_dir is None else self.trec_dir / f"{slug(task_name)}.run"

    @property
    def data_dir(self) -> str | Path | None:
        return self.task_data.data_dir

    @property
    def embed_options(self) -> dict[str, int]:
        return {"batch_size": self.batch_size}


class TaskSpec(Protocol):
    """A task of a suite: a result name and how to load and score it."""

    @property
    def name(self) -> str: ...

    def run(self, ctx: RunContext) -> TaskResult: ...


@dataclass(frozen=True, slots=True)
class LareqaSpec:
    """XQuAD-R or MLQA-R (mono / cross / multi mAP, language bias).

    Attributes:
        dataset: ``"xquad-r"`` or ``"mlqa-r"``.
        languages: languages to load (``None``: all).
        groups: keep only these article groups (e.g. the test folds of an experiment).
        max_groups: keep only the first ``max_groups`` articles (quick runs).
    """

    dataset: Literal["xquad-r", "mlqa-r"]
    languages: Languages = None
    groups: tuple[str, ...] | None = None
    max_groups: int | None = None

    @property
    def name(self) -> str:
        return self.dataset

    def load(self, data_dir: str | Path | None) -> RetrievalTask:
        """The task, restricted to the chosen groups."""
        task = load_lareqa(self.dataset, languages=self.languages, data_dir=data_dir)
        groups = self.groups
        if self.max_groups is not None:
            groups = first_groups((q.group for q in task.queries), self.max_groups, allowed=groups)
        if groups is None:
            return task
        subset = task.subset(groups=groups)
        if not subset.queries:
            raise UsageError(f"{self.dataset}: none of the article groups {', '.join(groups[:5])} has a query")
        return subset

    def run(self, ctx: RunContext) -> TaskResult:
        task = ctx.task_data.load(self)
        return evaluate_lareqa(task, ctx.store, with_context=ctx.with_context, **ctx.embed_options)


@dataclass(frozen=True, slots=True)
class ClsdSpec:
    """CLSD de↔fr adversarial discrimination (``acc``), optionally on the English machine translation.

    Attributes:
        year: WMT year (2019; 2021 is the held-out set, downloaded on demand).
        machine_translated: the M2M-100 English version of the same rows (task ``clsd-wmt19-mt``).
        limit: keep only the first ``limit`` rows (both directions of each).
        swap_analysis: add the accuracy per swap type from the annotation files.
    """

    year: int = 2019
    machine_translated: bool = False
    limit: int | None = None
    swap_analysis: bool = True

    @property
    def name(self) -> str:
        return f"clsd-wmt{self.year % 100:02d}" + ("-mt" if self.machine_translated else "")

    def load(self, data_dir: str | Path | None) -> list[DiscriminationItem]:
        """The items of both directions, restricted to the first ``limit`` rows."""
        items = load_clsd(self.year, machine_translated=self.machine_translated, data_dir=data_dir)
        if self.limit is None:
            return items
        keep = set(list(dict.fromkeys(item.id for item in items))[: self.limit])
        return [item for item in items if item.id in keep]

    def run(self, ctx: RunContext) -> TaskResult:
        items = ctx.task_data.load(self)
        swaps = None
        if self.swap_analysis:
            dataset = f"wmt{self.year % 100:02d}"
            annotations = [*load_swap_annotations("de", data_dir=ctx.data_dir),
                           *load_swap_annotations("fr", data_dir=ctx.data_dir)]
            swaps = [a for a in annotations if a.dataset == dataset]
        return evaluate_clsd(items, ctx.store, name=self.name, swaps=swaps, **ctx.embed_options)


def _first_rows(corpus: ParallelCorpus, limit: int | None) -> ParallelCorpus:
    return corpus if limit is None else corpus.select(range(min(limit, len(corpus))))


@dataclass(frozen=True, slots=True)
class BitextSpec:
    """A multi-way parallel corpus (P@1 per pair, pooled mAP and bias).

    Attributes:
        dataset: ``"ntrex128"`` (news) or ``"tico19"`` (medical).
        languages: languages to evaluate, all pairs among them.
        limit: keep only the first ``limit`` rows.
        pivot: evaluate only ``pivot``–X pairs instead of all pairs (the pooled setting still uses all).
    """

    dataset: Literal["ntrex128", "tico19"]
    languages: tuple[str, ...]
    limit: int | None = None
    pivot: str | None = None

    @property
    def name(self) -> str:
        return self.dataset

    def load(self, data_dir: str | Path | None) -> ParallelCorpus:
        """The corpus in the chosen languages, cut to the first ``limit`` rows."""
        loader = load_ntrex if self.dataset == "ntrex128" else load_tico
        return _first_rows(loader(self.languages, data_dir=data_dir), self.limit)

    def run(self, ctx: RunContext) -> TaskResult:
        corpus = ctx.task_data.load(self)
        return evaluate_bitext(corpus, ctx.store, name=self.name, pivot=self.pivot, **ctx.embed_options)


@dataclass(frozen=True, slots=True)
class TatoebaSpec:
    """Tatoeba X–eng pairs (one corpus per language, aggregated)."""

    languages: tuple[str, ...]
    limit: int | None = None

    @property
    def name(self) -> str:
        return "tatoeba"

    def load(self, data_dir: str | Path | None) -> list[ParallelCorpus]:
        """One X–eng corpus per language, each cut to the first ``limit`` rows."""
        return [_first_rows(c, self.limit) for c in load_tatoeba(self.languages, data_dir=data_dir)]

    def run(self, ctx: RunContext) -> TaskResult:
        return evaluate_bitext_corpora(ctx.task_data.load(self), ctx.store, name=self.name, **ctx.embed_options)


@dataclass(frozen=True, slots=True)
class BeirSpec:
    """A user-given BEIR-style corpus + topics + qrels (e.g. MIRACL with its Wikipedia corpus)."""

    corpus: str
    topics: str
    qrels: str
    task_name: str = "beir"
    lang: str = "en"
    k: int = 100
    index: SearchMode = "exact"

    @property
    def name(self) -> str:
        return self.task_name

    def run(self, ctx: RunContext) -> TaskResult:
        task = load_beir(self.corpus, self.topics, self.qrels, name=self.task_name, lang=self.lang)
        return evaluate_beir(task, ctx.store, k=self.k, index=self.index, cache_root=ctx.cache_root,
                             run_file=ctx.run_file(self.name), **ctx.embed_options)


@dataclass(frozen=True, slots=True)
class SuiteConfig:
    """A named list of task specs and how to encode for them.

    Attributes:
        name: the suite name (recorded in reports).
        tasks: the task specs, run in order.
        with_context: encode LAReQA candidates together with their paragraph (the paper's protocol).
        batch_size: encoder batch size.
    """

    name: str
    tasks: tuple[TaskSpec, ...]
    with_context: bool = True
    batch_size: int = 32

    @property
    def task_names(self) -> list[str]:
        return [task.name for task in self.tasks]

    def with_tasks(self, *tasks: TaskSpec) -> SuiteConfig:
        """The suite with ``tasks`` appended."""
        return replace(self, tasks=(*self.tasks, *tasks))

    def describe(self) -> dict:
        """A JSON-ready description (kind and fields of every task) for reports."""
        return {
            "name": self.name,
            "with_context": self.with_context,
            "batch_size": self.batch_size,
            "tasks": [{"kind": type(t).__name__, "name": t.name, **(asdict(t) if is_dataclass(t) else {})}
                      for t in self.tasks],
        }


ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(task_name, done, total)`` before each task, and with ``("", total, total)`` at the end."""


def run_suite(
    encoder: Encoder,
    suite: SuiteConfig,
    *,
    data_dir: str | Path | None = None,
    cache_root: str | Path | None = None,
    progress: ProgressCallback | None = None,
    task_data: TaskData | None = None,
) -> dict[str, TaskResult]:
    """Run every task of ``suite`` with ``encoder``; each text is encoded once across all tasks.

    Args:
        encoder: the model under test.
        suite: which tasks to run.
        data_dir: the data directory (see :func:`polyret.settings.data_dir`).
        cache_root: folder for the embedding cache and FAISS indexes (``None``: keep embeddings in memory).
        progress: optional callback, see :data:`ProgressCallback`.
        task_data: tasks already loaded from ``data_dir`` (e.g. by an earlier run on another encoder), else read here.

    Returns:
        Task name -> result, in suite order.
    """
    ctx = suite_context(encoder, suite, data_dir=data_dir, cache_root=cache_root, task_data=task_data)
    return run_tasks(ctx, suite, progress)


def suite_context(
    encoder: Encoder, suite: SuiteConfig, *, data_dir: str | Path | None = None, cache_root: str | Path | None = None,
    task_data: TaskData | None = None, trec_dir: str | Path | None = None,
) -> RunContext:
    """The context every task of ``suite`` shares: one embedding store of ``encoder``, the tasks' data (``task_data``
    when given, which must come from ``data_dir``) and the run options (``trec_dir``: where retrieval tasks write
    their TREC runs, ``None``: nowhere).

    Raises:
        UsageError: the suite names a task twice, or ``task_data`` was loaded from another data directory.
    """
    names = suite.task_names
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsageError(f"suite {suite.name!r} names task(s) {', '.join(duplicates)} twice")
    if task_data is None:
        task_data = TaskData(data_dir)
    elif _as_path(task_data.data_dir) != _as_path(data_dir):
        raise UsageError(f"task data loaded from {task_data.data_dir} cannot serve a run on {data_dir}")
    store = EmbeddingStore(encoder, cache_root)
    return RunContext(store, task_data, store.cache_root, suite.with_context, suite.batch_size, _as_path(trec_dir))


def _as_path(folder: str | Path | None) -> Path | None:
    return None if folder is None else Path(folder)


def run_tasks(ctx: RunContext, suite: SuiteConfig, progress: ProgressCallback | None = None) -> dict[str, TaskResult]:
    """Run every task of ``suite`` in ``ctx`` (see :func:`run_suite`)."""
    results: dict[str, TaskResult] = {}
    for done, task in enumerate(suite.tasks):
        if progress is not None:
            progress(task.name, done, len(suite.tasks))
        results[task.name] = task.run(ctx)
    if progress is not None:
        progress("", len(suite.tasks), len(suite.tasks))
    return results

