"""One arm's stored result (``results.json`` in its run folder): written atomically, trusted only when valid.

A result counts as finished only when the file parses, its config hash matches the folder's, and it holds a
finite main score for every task the study evaluates. Anything else (a crash mid-write, a hand-edited or truncated
file, a result of another config) is reported and recomputed, never silently reused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyret.errors import DataError
from polyret.evaluation.result import TaskResult
from polyret.io import read_json, write_json
from polyret.schema import Check, Nullable, Number, Ranged, Record, at_least, check_shape

RESULTS_FILE = "results.json"
TIME_KEYS = ("train_wall_s", "eval_wall_s")
"""The keys of an arm's ``info`` that hold its training and evaluation seconds (absent when not done)."""
_COUNT = Ranged(int, at_least(0))
_SECONDS = Nullable(Ranged(Number, Check(lambda value: math.isfinite(value) and value >= 0, "finite and >= 0")))
_CONFIG = Record({}, {"training": Nullable(Record({}, {"batch_size": Ranged(int, at_least(1)),
                                                      "max_seq_length": Nullable(int)}, open=True))}, open=True)
_INFO = Record({}, {"train_steps": _COUNT, "eval_texts": _COUNT, "train_wall_s": _SECONDS, "eval_wall_s": _SECONDS,
                    "backend": str}, open=True)
COSTS_SHAPE = Record({}, {"config": _CONFIG, "info": _INFO}, open=True)
"""The parts of a stored arm result a study plan reads to estimate time."""
SHAPE = Record({"run_name": str, "label": str, "config_hash": str, "tasks": dict, "config": _CONFIG}, {"info": _INFO})
"""What a stored arm result must look like (the task results are checked by :meth:`TaskResult.from_json`)."""


@dataclass
class ArmResult:
    """The evaluation results of one arm run.

    Attributes:
        run_name: the arm and seed, e.g. ``"hybrid-s13"``.
        label: the arm as tables show it (seeds pooled).
        config_hash: hash of the resolved config (the run folder's suffix).
        config: the resolved config itself.
        tasks: task name -> its result.
        info: run facts (training steps, model folder, wall times).
    """

    run_name: str
    label: str
    config_hash: str
    config: dict[str, Any]
    tasks: dict[str, TaskResult]
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_name": self.run_name,
            "label": self.label,
            "config_hash": self.config_hash,
            "config": self.config,
            "tasks": {name: result.to_dict() for name, result in self.tasks.items()},
            "info": self.info,
        }


def save_arm_result(run_dir: str | Path, result: ArmResult) -> Path:
    """Write ``result`` to ``run_dir/results.json`` atomically and return the path."""
    path = Path(run_dir) / RESULTS_FILE
    write_json(path, result.to_dict())
    return path


def load_arm_result(run_dir: str | Path, *, config_hash: str, tasks: list[str]) -> ArmResult:
    """Read and validate ``run_dir/results.json``.

    Args:
        run_dir: the arm's run folder.
        config_hash: the hash the result must carry.
        tasks: task names that must all be present with a finite main score.

    Raises:
        DataError: the file is missing, malformed, of another config, or incomplete (the message says which).
    """
    path = Path(run_dir) / RESULTS_FILE
    data = read_json(path)
    check_shape(data, SHAPE, path)
    result = ArmResult(
        run_name=data["run_name"],
        label=data["label"],
        config_hash=data["config_hash"],
        config=data["config"],
        tasks={name: TaskResult.from_json(task, path, f"/tasks/{name}") for name, task in data["tasks"].items()},
        info=data.get("info", {}),
    )
    if result.config_hash != config_hash:
        raise DataError(path, f"config hash {result.config_hash!r} does not match", expected=repr(config_hash))
    for name in tasks:
        task = result.tasks.get(name)
        if task is None:
            raise DataError(path, f"no result for task {name!r}")
        main = task.scores.get(task.main)
        if not isinstance(main, (int, float)) or not math.isfinite(main):
            raise DataError(path, f"task {name!r} has no finite main score {task.main!r}", record=name)
    return result
