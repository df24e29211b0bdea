"""Reuse task results of an earlier run of the same model when only other tasks of the study changed.

An arm's folder is named by the hash of everything that determines its results, evaluation included, so resizing
one task (lifting MLQA-R's article cap, say) gives every arm a new folder. The other tasks' results need not be
computed again: a *donor* is a finished run in the same study folder whose resolved config differs only in its
evaluation part. A task's result is taken from the donor when the task's own inputs (data digest, task spec) and the
settings every task is encoded with (backend, precision, token limit, context, batch size) are unchanged, and the
model is the same one:

- a run that records its model's fingerprint (``info["model_fingerprint"]``, every run since this module) must have
  the fingerprint of the model just trained or loaded;
- an older trained run without one must have the same mean training loss, to the last bit (training is
  deterministic on one CPU; a different result means a different model, and nothing is reused);
- an older untrained run (zero-shot, a reference encoder) is the same configured model.

Reused tasks are listed in ``info["tasks_reused_from"]`` with the donor's folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyret.errors import DataError
from polyret.evaluation.result import TaskResult
from polyret.experiments.arm_result import RESULTS_FILE, ArmResult, load_arm_result

EVALUATION_PARTS = ("evaluation", "eval_inputs")
"""The parts of a resolved arm config that describe its evaluation; everything else determines the model."""
ENCODING_SETTINGS = ("max_seq_length", "with_context", "batch_size", "backend", "precision")
"""Evaluation settings every task is encoded with (``ExperimentConfig.evaluation`` fields)."""
FINGERPRINT_KEY = "model_fingerprint"
REUSED_KEY = "tasks_reused_from"
SKIPPED_KEY = "skipped_tasks"
"""The key of a post-hoc row's ``info`` that lists the tasks its method could not transform, with the reason."""


@dataclass
class Donor:
    """A finished earlier run of the same model and the task results it can lend (not yet checked for the model)."""

    run_dir: Path
    result: ArmResult
    tasks: dict[str, TaskResult] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def lend(self, fingerprint: str, train_loss: float | None) -> dict[str, TaskResult]:
        """The lendable task results when the donor's model is the model of this run, else nothing."""
        info = self.result.info
        if FINGERPRINT_KEY in info:
            same = info[FINGERPRINT_KEY] == fingerprint
        elif "train_loss" in info:
            same = train_loss is not None and info["train_loss"] == train_loss
        else:
            same = "training" not in self.result.config
        return dict(self.tasks) if same else {}


def find_donor(root: Path, run_name: str, resolved: dict[str, Any], tasks: list[str]) -> Donor | None:
    """The earlier run of ``run_name`` under ``root`` that can lend the most of ``tasks`` (``None``: no such run).

    Args:
        root: the study's ``arms`` folder.
        run_name: the run (``"hybrid-s13"``); its folders are ``<run_name>-<hash>``.
        resolved: the run's resolved config now.
        tasks: the tasks the run needs.
    """
    resolved = json.loads(json.dumps(resolved))  # as stored: tuples become lists
    best: Donor | None = None
    for run_dir in sorted(root.glob(f"{_glob_escape(run_name)}-*")):
        donor = _donor(run_dir, resolved, tasks)
        if donor is not None and donor.tasks and (best is None or len(donor.tasks) > len(best.tasks)):
            best = donor
    return best


def _donor(run_dir: Path, resolved: dict[str, Any], tasks: list[str]) -> Donor | None:
    digest = run_dir.name.rsplit("-", 1)[-1]
    if not (run_dir / RESULTS_FILE).is_file():
        return None
    try:
        result = load_arm_result(run_dir, config_hash=digest, tasks=[])
    except DataError:
        return None  # an unreadable result lends nothing; its own run reports it when it is this config's
    old = result.config
    if _model_part(old) != _model_part(resolved):
        return None
    same = [name for name in tasks if task_identity(old, name) == task_identity(resolved, name)]
    skipped = result.info.get(SKIPPED_KEY) or {}
    return Donor(run_dir, result, {name: result.tasks[name] for name in same if name in result.tasks},
                 {name: skipped[name] for name in same if name in skipped})


def task_identity(resolved: dict[str, Any], task: str) -> dict[str, Any] | None:
    """What a task's result depends on besides the model: its inputs, its spec and the encoding settings
    (``None`` when the config does not evaluate ``task``)."""
    inputs = resolved.get("eval_inputs", {})
    specs = [spec for spec in inputs.get("suite", {}).get("tasks", []) if spec.get("name") == task]
    if task not in inputs or len(specs) != 1:
        return None
    evaluation = resolved.get("evaluation", {})
    return {
        "inputs": inputs[task],
        "spec": specs[0],
        "settings": {key: evaluation.get(key) for key in ENCODING_SETTINGS},
    }


def _model_part(resolved: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in resolved.items() if key not in EVALUATION_PARTS}


def _glob_escape(name: str) -> str:
    return "".join(f"[{char}]" if char in "[]*?" else char for char in name)
