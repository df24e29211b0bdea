"""What a reader needs to reproduce a run: command, package versions, hardware, git revision, input checksums.

Training runs write these facts to ``provenance.json`` in their run directory; studies put them in their report.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from polyret.io import iter_chunks

PACKAGES = ("polyret", "torch", "sentence-transformers", "transformers", "numpy", "scipy", "faiss-cpu")


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed (``polyret experiment ...``), shell-quoted."""
    args = sys.argv if argv is None else argv
    return shlex.join(["polyret", *args[1:]] if args and Path(args[0]).name == "polyret" else list(args))


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the results (``"not installed"`` when absent)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = platform.python_version()
    return versions


def hardware() -> dict[str, Any]:
    """CPU, core count and accelerator of this machine."""
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    info["accelerator"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)"
    return info


def git_revision() -> str:
    """The git commit of the polyret source (``+dirty`` with uncommitted changes), or ``"unknown"``."""
    source = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=source, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        revision = git("rev-parse", "HEAD")
        return revision + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's (for ``.gz``: decompressed) content, read in chunks."""
    digest = hashlib.sha256()
    for chunk in iter_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def records_sha256(records: Iterable[Any]) -> str:
    """sha256 of dataclass records (e.g. ``ParallelQA``) as canonical JSON lines, whatever file they came from."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(dataclasses.asdict(record), sort_keys=True, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def environment(command: str | None = None) -> dict[str, Any]:
    """Command (default: this process's), git revision, package versions and hardware."""
    return {"command": command or command_line(), "git_revision": git_revision(), "packages": package_versions(),
            "hardware": hardware()}
