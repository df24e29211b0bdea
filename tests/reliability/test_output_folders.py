"""Nothing a user wrote is deleted or overwritten: every command that writes a folder refuses a non-empty folder it
did not write, before any work, and leaves the user's files as they were."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from polyret.io import atomic_directory

FOREIGN = "notes.txt"


def _commands(fx: dict[str, Path], out: Path) -> dict[str, list]:
    return {
        "debias": ["debias", "--model", fx["model"], "--fit-on", fx["qa"], "-o", out],
        "evaluate": ["evaluate", "--model", fx["model"], "--task-file", fx["qa"], "-o", out],
        "train": ["train", "--model", fx["model"], "--data", fx["qa"], "--batch-size", "4", "--max-steps", "2",
                  "-o", out],
        "experiment": ["experiment", "-o", out],
    }


@pytest.fixture
def fixtures(tiny_model_dir: Path, qa_file: Path) -> dict[str, Path]:
    return {"model": tiny_model_dir, "qa": qa_file}


@pytest.mark.parametrize("command", ["debias", "evaluate", "train", "experiment"])
@pytest.mark.parametrize("where", ["a folder", "the current folder"])
def test_a_folder_holding_a_users_file_is_refused_and_kept(command, where, cli, fixtures, tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / FOREIGN).write_text("keep me")
    monkeypatch.chdir(folder)
    out = folder if where == "a folder" else Path(".")
    result = cli(*_commands(fixtures, out)[command])
    assert result.code == 2, result.err
    (error,) = result.error_lines
    assert "not empty" in error or "current folder" in error, error
    assert sorted(p.name for p in folder.iterdir()) == [FOREIGN]
    assert (folder / FOREIGN).read_text() == "keep me"


def test_an_export_replaces_an_earlier_export_but_not_a_file_added_to_it(cli, fixtures, tmp_path):
    out = tmp_path / "debiased"
    first = cli(*_commands(fixtures, out)["debias"])
    assert first.code == 0, first.err
    again = cli(*_commands(fixtures, out)["debias"])
    assert again.code == 0, again.err  # an earlier export is polyret's own: replaced whole
    (out / FOREIGN).write_text("keep me")
    added = cli(*_commands(fixtures, out)["debias"])
    assert added.code == 2 and FOREIGN in added.err, added.err
    assert (out / FOREIGN).read_text() == "keep me" and (out / "modules.json").is_file()


def test_atomic_directory_replaces_only_what_it_writes_again(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target) as staging:
        (staging / "a").write_text("1")
    with atomic_directory(target, ours=lambda _: True) as staging:  # every old name is written again
        (staging / "a").write_text("2")
    assert (target / "a").read_text() == "2"
    (target / "b").write_text("user's")
    with pytest.raises(Exception, match="holds b"), atomic_directory(target, ours=lambda _: True) as staging:
        (staging / "a").write_text("3")
    assert (target / "a").read_text() == "2" and (target / "b").read_text() == "user's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_an_exported_model_gets_the_users_umask_on_every_file(cli, fixtures, tmp_path, umask_022):
    out = tmp_path / "debiased"
    result = cli(*_commands(fixtures, out)["debias"])
    assert result.code == 0, result.err
    modes = {str(p.relative_to(out)): stat.S_IMODE(p.stat().st_mode) for p in [out, *out.rglob("*")]}
    assert modes["model.safetensors"] == 0o644, modes
    assert {mode for name, mode in modes.items() if (out / name).is_file()} == {0o644}, modes
    assert {mode for name, mode in modes.items() if (out / name).is_dir()} == {0o755}, modes


def test_atomic_directory_applies_the_umask_and_keeps_execute_bits(tmp_path):
    previous = os.umask(0o027)
    try:
        with atomic_directory(tmp_path / "out") as staging:
            (staging / "private").write_text("x")
            (staging / "private").chmod(0o600)
            (staging / "tool").write_text("x")
            (staging / "tool").chmod(0o700)
            (staging / "sub").mkdir(mode=0o700)
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "out").iterdir()}
    assert modes == {"private": 0o640, "tool": 0o750, "sub": 0o750}
