"""polyret: train and evaluate multilingual dense retrievers.

Data flows one way: files -> records (:mod:`polyret.data`) -> batch samplers (:mod:`polyret.sampling`) ->
trainer (:mod:`polyret.training`) -> model (:mod:`polyret.models`) -> embedding store and metrics
(:mod:`polyret.evaluation`) -> report (:mod:`polyret.experiments`).

The evaluation entry point is :func:`polyret.evaluate` (:func:`polyret.evaluation.run.evaluate`), imported on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polyret.evaluation.run import EvaluationResult, evaluate

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``evaluate`` loads torch and sentence-transformers: import it on first use only."""
    if name in ("evaluate", "EvaluationResult"):
        from polyret.evaluation import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EvaluationResult", "__version__", "evaluate"]
