"""The flagship study: every batching arm trained on the same data and budget, evaluated in and out of domain.

``polyret experiment`` runs it from the command line; from Python::

    from polyret.experiments import load_config, run_experiment

    outcome = run_experiment(load_config(preset="quick"), output_dir="runs/quick")
    print(outcome.report.read_text())
"""

from __future__ import annotations

from polyret.experiments.config import PRESETS, ExperimentConfig, load_config
from polyret.experiments.runner import ExperimentOutcome, run_experiment

__all__ = ["PRESETS", "ExperimentConfig", "ExperimentOutcome", "load_config", "run_experiment"]
