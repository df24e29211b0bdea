"""Evaluation tasks from a user's own files, scored by the evaluators of the registered tasks.

A :class:`TaskFileSpec` is a suite task (:class:`polyret.evaluation.suite.TaskSpec`) like the registered ones, so its
:class:`~polyret.evaluation.result.TaskResult` gets the same report, figures and significance tests:

- ``multiway`` / ``tsv`` / ``parallel`` (a parallel corpus) -> :func:`polyret.evaluation.bitext.evaluate_bitext`:
  P@1 per language pair both ways, pooled multilingual mAP and language bias;
- ``clsd`` (a discrimination CSV) -> :func:`polyret.evaluation.clsd.evaluate_clsd`: accuracy per direction;
- ``qa`` (QA JSONL in the training format) -> :func:`polyret.evaluation.lareqa.evaluate_lareqa`: mono / cross /
  multi mAP and bias;
- ``beir`` (a folder with corpus, queries and qrels) -> :func:`polyret.evaluation.beir.evaluate_beir`: graded
  nDCG@10, Recall@k.

Rows skipped on purpose are counted in ``details["skipped"]`` (reason -> count).

Example::

    spec = TaskFileSpec("catalogue.jsonl", languages=("en", "de", "fr"))
    results = run_suite(encoder, SuiteConfig("mine", (spec,)))

Relations: the files are read by :mod:`polyret.data.user_tasks`; ``polyret evaluate --task-file`` and the
experiment key ``evaluation.task_files`` build these specs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from polyret.data.languages import normalize_language
from polyret.data.user_tasks import (
    TASK_FORMATS,
    check_columns,
    default_task_name,
    guess_format,
    language_coverage,
    read_aligned_files,
    read_beir_folder,
    read_discrimination,
    read_multiway,
    read_parallel_tsv,
    read_qa_task,
)
from polyret.errors import UsageError
from polyret.evaluation.beir import evaluate_beir
from polyret.evaluation.bitext import evaluate_bitext
from polyret.evaluation.clsd import evaluate_clsd
from polyret.evaluation.lareqa import evaluate_lareqa
from polyret.evaluation.result import TaskResult

if TYPE_CHECKING:
    from polyret.data.records import ParallelCorpus
    from polyret.evaluation.suite import RunContext

CORPUS_FORMATS = ("multiway", "tsv", "parallel")


@dataclass(frozen=True, slots=True)
class TaskFileSpec:
    """A task read from a user's file (formats in docs/data.md). Its fields are the one vocabulary of a task file:
    the same keys in a study's ``evaluation.task_files`` entries (:mod:`polyret.experiments.task_files`) and the
    same meaning in ``polyret evaluate --task-file`` / ``--task-format`` / ``--task-name`` / ``--languages`` /
    ``--pivot`` / ``--task-columns``.

    Attributes:
        path: the file (a folder for ``beir``).
        format: one of :data:`polyret.data.user_tasks.TASK_FORMATS` (``None``: guessed from the file).
        name: the result's name (empty: the file's stem, filled in at construction).
        languages: corpora and QA files: keep only these languages; a discrimination CSV without language columns:
            the query and the candidate language; BEIR: the first is the corpus language (default ``en``).
        pivot: corpora: evaluate only ``pivot``–X pairs (the pooled setting still uses every language).
        columns: discrimination CSV: role -> column name(s) (:data:`polyret.data.user_tasks.COLUMN_ROLES`: ``query``,
            ``translation``, ``distractors`` (a list), ``id``, ``query_lang``, ``candidate_lang``); roles not given
            are guessed, an unknown role is an error.
        k: BEIR run depth and recall cut-off.

    Raises:
        UsageError: an unknown format or column role.
    """

    path: str
    format: str | None = None
    name: str = ""
    languages: tuple[str, ...] | None = None
    pivot: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    k: int = 100

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in TASK_FORMATS:
            raise UsageError(f"unknown task format {self.format!r} for {self.path} (one of {', '.join(TASK_FORMATS)})")
        check_columns(self.columns, f"columns of {self.path}")
        if not self.name:
            object.__setattr__(self, "name", default_task_name(self.path))

    @property
    def resolved_format(self) -> str:
        """The format given, else guessed from the file."""
        return self.format or guess_format(self.path)

    def load_corpus(self, skipped: Counter) -> ParallelCorpus:
        """The parallel corpus of a ``multiway``, ``tsv`` or ``parallel`` file."""
        fmt = self.resolved_format
        if fmt == "multiway":
            return read_multiway(self.path, languages=self.languages, skipped=skipped)
        if fmt == "tsv":
            return read_parallel_tsv(self.path, languages=self.languages)
        return read_aligned_files(self.path, languages=self.languages)

    def run(self, ctx: RunContext) -> TaskResult:
        fmt = self.resolved_format
        skipped: Counter = Counter()
        options = ctx.embed_options
        if fmt in CORPUS_FORMATS:
            corpus = self.load_corpus(skipped)
            pivot = normalize_language(self.pivot) if self.pivot else None
            result = evaluate_bitext(corpus, ctx.store, name=self.name, pivot=pivot, **options)
            result.details["coverage"] = language_coverage(corpus)
        elif fmt == "clsd":
            items = read_discrimination(self.path, languages=self.languages, columns=self.columns, skipped=skipped)
            result = evaluate_clsd(items, ctx.store, name=self.name, **options)
        elif fmt == "qa":
            task = read_qa_task(self.path, languages=self.languages, name=self.name)
            result = evaluate_lareqa(task, ctx.store, with_context=ctx.with_context, **options)
        else:
            lang = self.languages[0] if self.languages else "en"
            task = read_beir_folder(self.path, name=self.name, lang=lang)
            result = evaluate_beir(task, ctx.store, k=self.k, cache_root=ctx.cache_root,
                                   run_file=ctx.run_file(self.name), **options)
        result.details |= {"source": str(self.path), "format": fmt, "skipped": dict(skipped)}
        return result
