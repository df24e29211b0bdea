"""The data checksums of a study (the general provenance facts live in :mod:`polyret.provenance`)."""

from __future__ import annotations

from pathlib import Path

from polyret.data.registry import get_dataset, verify
from polyret.provenance import file_sha256

TASK_DATASETS = {
    "xquad-r": "xquad-r", "mlqa-r": "mlqa-r", "clsd-wmt19": "clsd", "clsd-wmt19-mt": "clsd", "ntrex128": "ntrex128",
    "tico19": "tico19", "tatoeba": "tatoeba-laser",
}


def data_checksums(tasks: list[str], data_dir: str | Path | None, extra_files: list[str | Path]) -> dict[str, str]:
    """sha256 of every local data file the study's tasks read, checked against the registry, plus user files.

    A registered file whose content does not match its checksum is listed with its status instead of the hash.

    Args:
        tasks: evaluation task names (each maps to a registered data set).
        data_dir: the data directory.
        extra_files: user files (e.g. a training QA JSONL), hashed as they are.
    """
    datasets = sorted({TASK_DATASETS[task] for task in tasks})
    out = {}
    for status in verify(data_dir, datasets=datasets):
        digest = get_dataset(status.dataset).files[status.relpath]
        ok = status.status == "ok"
        out[f"{status.dataset}/{status.relpath}"] = digest if ok else f"{status.status} {status.detail}"
    for path in extra_files:
        out[str(path)] = file_sha256(path)
    return out
