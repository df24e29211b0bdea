"""Helpers for tests that read or cut back training run folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def log_rows(run_dir: Path) -> list[dict]:
    """The lines of a run's ``train_log.jsonl``."""
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


def copy_without_the_end(run_dir: Path, target: Path, last_step: int) -> Path:
    """A copy of a finished run as if it had been stopped before step ``last_step`` was saved (its last checkpoint
    and ``final/`` gone), to be resumed."""
    shutil.copytree(run_dir, target)
    shutil.rmtree(target / "checkpoints" / f"checkpoint-{last_step}")
    shutil.rmtree(target / "final")
    return target
