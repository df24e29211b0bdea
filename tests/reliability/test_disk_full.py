"""A disk that fills up while polyret writes: one error naming the path, nothing half-written, never exit 70."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from polyret.errors import DiskFullError
from polyret.io import atomic_directory, atomic_write

FULL = "no space left on device"


class _FullDisk:
    """A file whose writes fail as on a full disk (the bytes never reach it)."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.handle, name)


def _fill_disk_for(monkeypatch, names: set[str]) -> None:
    """Every atomic write of a file named in ``names`` fails with ENOSPC, as a full disk makes it."""
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        target = Path(os.readlink(f"/proc/self/fd/{fd}")).name
        return _FullDisk(handle) if any(target.startswith(f".{name}.") for name in names) else handle

    monkeypatch.setattr("polyret.io.os.fdopen", fdopen)


def _evaluate(cli, fx_model: Path, qa_file: Path, out: Path):
    return cli("evaluate", "--model", fx_model, "--task-file", qa_file, "--no-cache", "-o", out)


@pytest.mark.parametrize("failing", ["results.json", "report.md"])
def test_a_full_disk_names_the_file_and_leaves_nothing_half_written(failing, cli, tiny_model_dir, qa_file, tmp_path,
                                                                    monkeypatch):
    _fill_disk_for(monkeypatch, {failing})
    out = tmp_path / "out"
    result = _evaluate(cli, tiny_model_dir, qa_file, out)
    assert result.code == 1, result.err
    (message,) = result.error_lines
    assert message.startswith(f"error: {out / failing}: {FULL}"), message
    assert "Traceback" not in result.err
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []  # a folder left empty is removed
    assert not any(name.endswith(".tmp") for name in written), written
    if failing == "results.json":
        assert written == []
    else:  # the results were written whole before the report failed
        assert "results.json" in written and "report.md" not in written
        assert json.loads((out / "results.json").read_text())["results"]


def test_a_folder_whose_files_fill_the_disk_is_not_left_behind(tmp_path):
    target = tmp_path / "export"
    for failure in (OSError(errno.ENOSPC, "No space left on device", "weights"),
                    RuntimeError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "
                                 "\"No space left on device\" })")):
        with pytest.raises(DiskFullError, match=f"^{target}: {FULL}"), atomic_directory(target) as staging:
            (staging / "config.json").write_text("{}")
            raise failure
        assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_full_disk_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    path.write_text("old")
    monkeypatch.setattr("polyret.io.os.fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EDQUOT, "quota")))
    with pytest.raises(DiskFullError, match=FULL), atomic_write(path) as handle:
        handle.write("new")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs unprivileged user and mount namespaces (unshare)")
def test_a_real_full_tmpfs(tiny_model_dir, qa_file, tmp_path):
    """A real, full 64 KiB tmpfs (mounted in a private user and mount namespace) as the output folder's disk."""
    disk = tmp_path / "disk"
    disk.mkdir()
    out = disk / "out"
    script = (f"mount -t tmpfs -o size=64k tmpfs {disk} && (head -c 1M /dev/zero > {disk}/filler || true) && "
              f"{sys.executable} -c 'from polyret.cli import main; main()' evaluate --model {tiny_model_dir} "
              f"--task-file {qa_file} --no-cache -o {out}; code=$?; echo left: $(ls -A {out}); exit $code")
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith(("error:", "internal error:"))]
    assert len(errors) == 1 and errors[0].startswith(f"error: {out}") and FULL in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.splitlines()[-1].strip() == "left:", done.stdout  # nothing half-written in the folder
