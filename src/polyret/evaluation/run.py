"""The library's evaluation entry point: :func:`evaluate` one model on a suite of tasks, with the post-hoc debiasing
rows and the report, as ``polyret evaluate`` does.

Example::

    import polyret

    result = polyret.evaluate("multilingual-e5-small", "quick", output_dir="runs/e5-quick")
    print(result.main_scores())           # {"xquad-r": 0.62, "mlqa-r": 0.55, ...}
    result["xquad-r"].scores["multi.bias"]

Relations: the tasks and suites are :mod:`polyret.evaluation.suite`'s, the debiasing rows
:func:`polyret.evaluation.debiased.run_debiased`, the files :func:`polyret.evaluation.report.write_evaluation_report`;
two results are compared with :func:`polyret.evaluation.significance.compare_results`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from polyret.data.records import ParallelQA
from polyret.data.user_qa import load_qa_jsonl
from polyret.debias import DebiasSpec, parse_specs
from polyret.errors import DataError, UsageError
from polyret.evaluation.catalog import get_suite, resolve_task
from polyret.evaluation.debiased import (
    TRANSDUCTIVE,
    DebiasedRun,
    DebiasPlan,
    Reference,
    check_reference,
    reference_articles,
    unused_articles_reference,
)
from polyret.evaluation.report import REPORT_FILE, RESULTS_FILE, ReportFiles, write_evaluation_report
from polyret.evaluation.result import TaskResult
from polyret.evaluation.suite import LareqaSpec, ProgressCallback, SuiteConfig, TaskSpec, run_tasks, suite_context
from polyret.io import check_output_dir, output_lock
from polyret.models.backends import InferenceBackend
from polyret.models.encoders import backend_label, get_encoder
from polyret.models.protocol import Encoder, Role
from polyret.settings import data_dir as resolve_data_dir

log = logging.getLogger(__name__)

ENCODE_CHUNKS = 8
"""Encoder batches per call of the inner encoder (and per progress report)."""

EncodeCallback = Callable[[int, int], None]
"""Called as ``on_encode(texts_encoded, texts_requested)`` as encoding advances."""

Tasks = str | SuiteConfig | Sequence[str | TaskSpec]
"""A suite name (``"quick"``), a :class:`SuiteConfig`, or task names and specs (a name is the registered task,
whole; a spec such as :class:`~polyret.evaluation.user_tasks.TaskFileSpec` is run as given)."""


class CountingEncoder:
    """Wraps an encoder to count the texts it encodes, in chunks of :data:`ENCODE_CHUNKS` batches, reporting each
    chunk to ``on_encode``; same name and fingerprint (so the embedding cache is shared)."""

    def __init__(self, encoder: Encoder, on_encode: EncodeCallback | None = None):
        self.inner = encoder
        self.name = encoder.name
        self.on_encode = on_encode
        self.requested = 0
        self.encoded = 0

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def encode(
        self, texts: Sequence[str], role: Role, *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        self.requested += len(texts)
        self._report()
        step = batch_size * ENCODE_CHUNKS
        chunks = []
        for start in range(0, len(texts), step):
            chunk = texts[start : start + step]
            chunks.append(self.inner.encode(chunk, role, batch_size=batch_size))
            self.encoded += len(chunk)
            self._report()
        return np.concatenate(chunks) if chunks else self.inner.encode([], role, batch_size=batch_size)

    def _report(self) -> None:
        if self.on_encode is not None:
            self.on_encode(self.encoded, self.requested)


@dataclass(slots=True)
class EvaluationResult:
    """One model's evaluation: every task's result, the debiasing rows, the run's metadata and the files written.

    Attributes:
        model: the model as it was named.
        results: task name -> result, the debiased rows ``"<task> + <method>"`` after the plain tasks.
        meta: the run's metadata (suite, fingerprint, backend, data directory, texts encoded, seconds, ...).
        debiased: each debiasing method's run (results, skipped tasks and how it was fitted).
        files: the report's files (``None`` when no ``output_dir`` was given).
        mteb: the mteb result files (``polyret.evaluation.mteb_results.MtebFiles``; ``None`` unless asked for).
    """

    model: str
    results: dict[str, TaskResult]
    meta: dict[str, Any]
    debiased: list[DebiasedRun] = field(default_factory=list)
    files: ReportFiles | None = None
    mteb: Any = None

    def __getitem__(self, task: str) -> TaskResult:
        return self.results[task]

    def main_scores(self) -> dict[str, float]:
        """Task name -> its main score."""
        return {name: result.main_score for name, result in self.results.items()}


def evaluate(
    model: str | Path | Encoder, tasks: Tasks = "quick", *,
    backend: str = "torch", precision: str = "fp32", device: str | None = None,
    debias: Sequence[str | DebiasSpec] = (), debias_fit_on: str | Path | None = None,
    debias_transductive: bool = False, output_dir: str | Path | None = None, write_trec_runs: bool = False,
    data_dir: str | Path | None = None, cache_root: str | Path | None = None,
    batch_size: int = 32, with_context: bool = True, results_format: str = "polyret",
    on_task: ProgressCallback | None = None, on_encode: EncodeCallback | None = None,
    warn: Callable[[str], None] | None = None, say: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Evaluate ``model`` on ``tasks``; each text is encoded once across every task and debiasing method.

    Args:
        model: a model directory, Hub name or alias (``multilingual-e5-small``), or an :class:`Encoder`.
        tasks: see :data:`Tasks`.
        backend / precision / device: the inference runtime (:class:`~polyret.models.backends.InferenceBackend`).
        debias: post-hoc debiasing methods (``"center"``, ``"lir:1"``, ``"lsar"``) whose rows are added, fitted on
            the QA JSONL file ``debias_fit_on`` (default: the XQuAD-R articles no task evaluates; an evaluated task
            file: labelled transductive, one warning), or on each task's own test pool with ``debias_transductive``.
        output_dir: write ``results.json``, ``report.md`` and figures there (``None``: write nothing), under a lock
            (:func:`~polyret.io.output_lock`); with ``write_trec_runs`` also each BEIR-style task's TREC run and
            qrels (``trec/<task>.run`` / ``.qrels``).
        data_dir / cache_root: the data directory (:func:`polyret.settings.data_dir`); the embedding cache
            (``None``: keep embeddings in memory).
        batch_size / with_context: encoder batch size; LAReQA candidates with their paragraph.
        results_format: ``"polyret"``, or ``"mteb"`` to also write mteb ``TaskResult`` files of the tasks that
            have an mteb form under ``output_dir/mteb/results/`` (needs the ``polyret[mteb]`` extra).
        on_task / on_encode / warn: progress callbacks (:data:`~polyret.evaluation.suite.ProgressCallback`,
            :data:`EncodeCallback`); ``warn`` receives warnings (a missing backend runtime), else they are
            logged; ``say`` the debiasing stage lines (reference encoded, methods fitted).

    Raises:
        UsageError: unknown tasks, suites, methods or backends, conflicting debiasing options, TREC runs or mteb
            results without an ``output_dir``, mteb results without the mteb extra, or an ``output_dir`` another
            process is writing into.
        DataError / ModelError: unreadable data or model.
    """
    suite = build_suite(tasks, batch_size=batch_size, with_context=with_context)
    out = check_output_dir(output_dir, written_by=(RESULTS_FILE, REPORT_FILE)) if output_dir is not None else None
    with output_lock(out) if out is not None else contextlib.nullcontext():
        mteb_writer = _mteb_writer(results_format, out, write_trec_runs)
        specs = parse_specs([s if isinstance(s, str) else s.label for s in debias])
        plan = debias_reference(suite, specs, debias_fit_on, debias_transductive, data_dir, warn=warn)
        encoder = model if isinstance(model, Encoder) else get_encoder(
            model, device=device, backend=InferenceBackend(backend, precision), warn=warn)
        counting, started = CountingEncoder(encoder, on_encode), time.perf_counter()
        ctx = suite_context(counting, suite, data_dir=data_dir, cache_root=cache_root,
                            trec_dir=out / "trec" if out is not None and write_trec_runs else None)
        results = run_tasks(ctx, suite, on_task)
        debiased = plan.run(replace(ctx, trec_dir=None), suite, say=say)
        result = EvaluationResult(encoder.name if isinstance(model, Encoder) else str(model), results,
                                  run_meta(suite, encoder, data_dir, texts_encoded=counting.encoded, started=started))
        if mteb_writer is not None and out is not None:
            result.mteb = mteb_writer(ctx, suite, encoder, out / "mteb", source=result.model)
        _add_debiased(result, debiased)
        result.files = _write_report(result, suite, out)
    return result


def _write_report(result: EvaluationResult, suite: SuiteConfig, out: Path | None) -> ReportFiles | None:
    """``results.json``, ``report.md`` and the figures in ``out`` (``None``: nothing is written)."""
    if out is None:
        return None
    return write_evaluation_report(result.results, out, model_name=result.model,
                                   meta=result.meta | {"suite_config": suite.describe()})


def _mteb_writer(results_format: str, out: Path | None, write_trec_runs: bool) -> Callable[..., Any] | None:
    """The mteb result writer when ``results_format`` asks for it (imported now: a missing extra fails before any
    work), after checking that the files asked for have a folder to go to."""
    if write_trec_runs and out is None:
        raise UsageError("TREC runs are written into the report folder: give an output folder")
    if results_format not in ("polyret", "mteb"):
        raise UsageError(f"results format must be polyret or mteb, not {results_format!r}")
    if results_format == "polyret":
        return None
    if out is None:
        raise UsageError("mteb result files are written into the report folder: give an output folder")
    from polyret.evaluation.mteb_results import write_suite_mteb_results  # UsageError naming the extra if missing

    return write_suite_mteb_results


def _add_debiased(result: EvaluationResult, debiased: list[DebiasedRun]) -> None:
    """The debiasing methods' rows after the plain tasks, and how each was fitted in the metadata."""
    result.debiased = debiased
    if debiased:
        result.results |= debiased_results(debiased)
        result.meta["debias"] = {run.label: {"fit": run.fit, "skipped": run.skipped} for run in debiased}


def build_suite(tasks: Tasks, *, batch_size: int = 32, with_context: bool = True) -> SuiteConfig:
    """The suite ``tasks`` names (see :data:`Tasks`), encoding with ``batch_size`` and ``with_context``.

    Raises:
        UsageError: an unknown suite or task name.
    """
    if isinstance(tasks, SuiteConfig):
        suite = tasks
    elif isinstance(tasks, str):
        suite = get_suite(tasks)
    else:
        specs = tuple(resolve_task(t) if isinstance(t, str) else t for t in tasks)
        suite = SuiteConfig("+".join(spec.name for spec in specs) if len(specs) < 4 else "tasks", specs)
    return replace(suite, batch_size=batch_size, with_context=with_context)


def run_meta(
    suite: SuiteConfig, encoder: Encoder, data_dir: str | Path | None, *, texts_encoded: int, started: float
) -> dict[str, Any]:
    """The metadata of one evaluation run, as ``results.json`` records it."""
    return {
        "suite": suite.name,
        "tasks": ", ".join(suite.task_names),
        "model_fingerprint": encoder.fingerprint(),
        "backend": backend_label(encoder),
        "with_context": suite.with_context,
        "batch_size": suite.batch_size,
        "data_dir": str(resolve_data_dir(data_dir)),
        "texts_encoded": texts_encoded,
        "seconds": round(time.perf_counter() - started, 1),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "polyret_version": version("polyret"),
    }


def debias_reference(
    suite: SuiteConfig, specs: Sequence[DebiasSpec], fit_on: str | Path | None, transductive: bool,
    data_dir: str | Path | None, *, warn: Callable[[str], None] | None = None,
) -> DebiasPlan:
    """What the debiasing methods are fitted on, checked before anything is encoded: the ``fit_on`` QA file, the
    first XQuAD-R articles no task evaluates (as many as the methods need), or each task's test pool
    (``transductive``). A ``fit_on`` file that is also an evaluated task file is fitting on the test data: its rows
    are labelled transductive and ``warn`` (else the log) is told once.

    Raises:
        UsageError: a reference file or transductive fitting without a method, both at once, a reference that
            overlaps the test data, or one that lacks every task's languages for a method that needs them.
    """
    if not specs:
        if fit_on is not None or transductive:
            raise UsageError("a debiasing reference file or transductive fitting needs a debiasing method: name one "
                             "(center, lir, lsar or shift)")
        return DebiasPlan()
    if transductive:
        if fit_on is not None:
            raise UsageError("fit the debiasing methods on a reference file or on the test pool (transductive), "
                             "not both")
        return DebiasPlan.fitted_on(None, suite, specs, data_dir)
    if fit_on is None:
        reference = unused_articles_reference(suite, data_dir=data_dir, articles=reference_articles(specs))
    else:
        items = reference_items(fit_on)
        check_reference(items, [task.load(data_dir) for task in suite.tasks if isinstance(task, LareqaSpec)])
        reference = Reference.from_qa(items, {"source": str(fit_on), **_evaluated_file(fit_on, suite, warn)},
                                      with_context=suite.with_context)
    return DebiasPlan.fitted_on(reference, suite, specs, data_dir)


def _evaluated_file(fit_on: str | Path, suite: SuiteConfig, warn: Callable[[str], None] | None) -> dict[str, str]:
    """``{"transductive": why}`` when the reference file ``fit_on`` is the file of an evaluated task, else ``{}``."""
    tasks = [task.name for task in suite.tasks if _same_file(getattr(task, "path", None), fit_on)]
    if not tasks:
        return {}
    why = f"the reference is the evaluated task file of {', '.join(tasks)}"
    (warn or log.warning)(f"debiasing reference {fit_on}: {why}, so the methods are fitted on the test data; their "
                          "rows are labelled transductive")
    return {TRANSDUCTIVE: why}


def _same_file(path: str | Path | None, other: str | Path) -> bool:
    try:
        return path is not None and os.path.samefile(path, other)
    except OSError:
        return False


def reference_items(path: str | Path) -> list[ParallelQA]:
    """The QA records of a ``--fit-on`` / ``--debias-fit-on`` file.

    Raises:
        DataError: the file cannot be read, or holds no record to fit on.
    """
    items = load_qa_jsonl(path)
    if not items:
        raise DataError(path, "no QA records to fit on (an empty file)",
                        expected="JSON lines with questions and answers in two or more languages")
    return items


def debiased_results(runs: Sequence[DebiasedRun]) -> dict[str, TaskResult]:
    """Each method's results as extra tasks ``"<task> + <method>"``, with how the method was fitted in details."""
    extra = {}
    for run in runs:
        for task, result in run.results.items():
            result.details["debias"] = run.fit
            extra[f"{task} + {run.label}"] = result
    return extra
