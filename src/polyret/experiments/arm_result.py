"""One arm's stored result (``results.json`` in its run folder): written atomically, trusted only when valid.

A result counts as finished only when the file parses, its config hash matches the folder's, and it holds a
finite main score for every task the study evaluates. Anything else (a crash mid-write, a hand-edited or truncated
file, a result of another config) is reported and recomputed, never silently reused.

The per-query values behind the scores (nine tenths of a result's bytes) are written beside it, gzip-compressed, to
``per_query.json.gz`` first; ``results.json`` is written last and names that file's sha256, so a committed study
stays small and a result whose values file is missing or changed is not trusted. Results written before this
layout (per-query values inside ``results.json``) are read as they are.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyret.errors import DataError
from polyret.evaluation.result import TaskResult
from polyret.io import atomic_write, loads_json, read_bytes, read_json, write_json
from polyret.schema import Check, Nullable, Number, Ranged, Record, at_least, check_shape

RESULTS_FILE = "results.json"
PER_QUERY_FILE = "per_query.json.gz"
"""The per-query values of every task, ``{task: {per-query metric: {query id: value}}}``, gzip-compressed JSON."""
PER_QUERY_KEY = "per_query_file"
"""The key of a stored result naming :data:`PER_QUERY_FILE` and its sha256 (absent in the older layout)."""
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
_PER_QUERY_REF = Record({"name": str, "sha256": str})
SHAPE = Record({"run_name": str, "label": str, "config_hash": str, "tasks": dict, "config": _CONFIG},
               {"info": _INFO, PER_QUERY_KEY: _PER_QUERY_REF})
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
        info: run facts (status, training steps, model folder, wall times;
            :meth:`polyret.experiments.arm_run.ArmRun.info` writes them).
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
    """Write ``result`` to ``run_dir``: its per-query values to ``per_query.json.gz``, then the rest and that file's
    digest to ``results.json`` (each atomically, the summary last); return the path of ``results.json``."""
    run_dir = Path(run_dir)
    data = result.to_dict()
    per_query = {name: task.pop("per_query") for name, task in data["tasks"].items()}
    raw = json.dumps(per_query, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with atomic_write(run_dir / PER_QUERY_FILE, "wb", encoding=None) as handle:
        handle.write(gzip.compress(raw, compresslevel=9, mtime=0))
    data[PER_QUERY_KEY] = {"name": PER_QUERY_FILE, "sha256": hashlib.sha256(raw).hexdigest()}
    path = run_dir / RESULTS_FILE
    write_json(path, data)
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
    if PER_QUERY_KEY in data:
        _attach_per_query(data, Path(run_dir), path)
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


def _attach_per_query(data: dict[str, Any], run_dir: Path, path: Path) -> None:
    """Put the per-query values of the file ``data`` names back into its tasks, after checking its digest."""
    ref = data[PER_QUERY_KEY]
    values_path = run_dir / Path(ref["name"]).name
    raw = read_bytes(values_path)
    if hashlib.sha256(raw).hexdigest() != ref["sha256"]:
        raise DataError(path, f"{values_path.name} does not match the sha256 this result records",
                        expected="the per-query values written with it (sha256 of the uncompressed JSON)")
    per_query = loads_json(raw.decode("utf-8", errors="replace"), values_path)
    if not isinstance(per_query, dict) or set(per_query) != set(data["tasks"]):
        raise DataError(values_path, "per-query values of other tasks", expected=f"tasks {sorted(data['tasks'])}")
    for name, task in data["tasks"].items():
        if isinstance(task, dict):
            task["per_query"] = per_query[name]
