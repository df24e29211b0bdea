"""Evaluation: encode-once embedding store, exact/FAISS retrieval, metrics, language bias, task evaluators, suites,
reports and paired comparisons.

Usage::

    from polyret.evaluation import compare_results, evaluate

    base = evaluate("multilingual-e5-small", ["xquad-r"])
    tuned = evaluate("runs/hybrid/final", ["xquad-r"])
    rows = compare_results(tuned.results, base.results)

Every name below is imported on first use (the evaluators load numpy, scipy and FAISS; :func:`evaluate` loads
torch and sentence-transformers).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polyret.evaluation.beir import evaluate_beir
    from polyret.evaluation.bitext import evaluate_bitext
    from polyret.evaluation.catalog import CATALOG, SUITES, TASKS, TaskMetadata, get_suite
    from polyret.evaluation.clsd import evaluate_clsd
    from polyret.evaluation.lareqa import evaluate_lareqa
    from polyret.evaluation.report import read_evaluation_results, write_evaluation_report
    from polyret.evaluation.result import TaskResult
    from polyret.evaluation.run import EvaluationResult, evaluate
    from polyret.evaluation.significance import Comparison, compare_paired, compare_results
    from polyret.evaluation.store import EmbeddingStore
    from polyret.evaluation.suite import SuiteConfig, run_suite
    from polyret.evaluation.user_tasks import TaskFileSpec

_EXPORTS = {
    "EmbeddingStore": "store", "TaskResult": "result", "evaluate_lareqa": "lareqa", "evaluate_clsd": "clsd",
    "evaluate_bitext": "bitext", "evaluate_beir": "beir", "CATALOG": "catalog", "SUITES": "catalog",
    "TASKS": "catalog", "TaskMetadata": "catalog", "get_suite": "catalog", "SuiteConfig": "suite",
    "run_suite": "suite", "TaskFileSpec": "user_tasks", "EvaluationResult": "run", "evaluate": "run",
    "Comparison": "significance", "compare_paired": "significance", "compare_results": "significance",
    "read_evaluation_results": "report", "write_evaluation_report": "report",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"polyret.evaluation.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CATALOG", "Comparison", "EmbeddingStore", "EvaluationResult", "SUITES", "SuiteConfig", "TASKS", "TaskFileSpec",
    "TaskMetadata", "TaskResult", "compare_paired", "compare_results", "evaluate", "evaluate_beir", "evaluate_bitext",
    "evaluate_clsd", "evaluate_lareqa", "get_suite", "read_evaluation_results", "run_suite",
    "write_evaluation_report",
]
