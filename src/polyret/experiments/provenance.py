"""The data checksums of a study (the general provenance facts live in :mod:`polyret.provenance`)."""

from __future__ import annotations

from pathlib import Path

from polyret.data.registry import get_dataset, verify
from polyret.evaluation.catalog import CATALOG
from polyret.experiments.config import ExperimentConfig
from polyret.experiments.task_files import study_task_files
from polyret.provenance import file_sha256


def data_checksums(tasks: list[str], data_dir: str | Path | None, extra_files: list[str | Path]) -> dict[str, str]:
    """sha256 of every local data file the study's tasks read, checked against the registry, plus user files.

    A registered file whose content does not match its checksum is listed with its status instead of the hash.

    Args:
        tasks: evaluation task names (a registered one reads a registered data set, :data:`CATALOG`; a user's task
            file is hashed through ``extra_files``).
        data_dir: the data directory.
        extra_files: user files (a training QA JSONL, task files; a folder, e.g. BEIR: every file in it), hashed
            as they are.
    """
    datasets = sorted({CATALOG[task].dataset for task in tasks if task in CATALOG})
    out = {}
    for status in verify(data_dir, datasets=datasets):
        digest = get_dataset(status.dataset).files[status.relpath]
        ok = status.status == "ok"
        out[f"{status.dataset}/{status.relpath}"] = digest if ok else f"{status.status} {status.detail}"
    for path in map(Path, extra_files):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        out.update({str(file): file_sha256(file) for file in files})
    return out


def study_files(config: ExperimentConfig) -> list[str]:
    """The user's own files a study reads: its training QA file and its task files."""
    own = [item.spec.path for item in study_task_files(config.evaluation.task_files)]
    training = config.data.training_source().path
    return [*([training] if training else []), *own]
