"""The flagship study: every batching arm trained on the same data and budget, evaluated in and out of domain.

``polyret experiment`` runs it from the command line; from Python::

    from polyret.experiments import load_config, run_experiment

    outcome = run_experiment(load_config(preset="quick"), output_dir="runs/quick")
    print(outcome.report.read_text())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polyret.experiments.config import PRESETS, ExperimentConfig, load_config

if TYPE_CHECKING:
    from polyret.experiments.runner import ExperimentOutcome, run_experiment


def __getattr__(name: str) -> Any:
    """The runner loads torch, sentence-transformers and matplotlib: import it on first use only."""
    if name in ("run_experiment", "ExperimentOutcome"):
        from polyret.experiments import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["PRESETS", "ExperimentConfig", "ExperimentOutcome", "load_config", "run_experiment"]
