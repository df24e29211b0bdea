"""``polyret data`` sub-commands through the real entry point."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from polyret.cli import main


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())  # undo rich's line wrapping


def test_list_shows_datasets_and_local_counts(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out = _run(["data", "list", "--data-dir", str(data_dir)], capsys)
    assert code == 0
    assert "xquad-r" in out and "CC BY-NC 4.0" in out and "11/11" in out and "0/2" in out


def test_verify_ok_and_mismatch(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(data_dir / "clsd", tmp_path / "clsd")
    assert _run(["data", "verify", "--data-dir", str(tmp_path)], capsys)[0] == 0
    (tmp_path / "clsd" / "DE_wmt1921_swaps_ner_pos.tsv.gz").write_bytes(gzip.compress(b"changed"))
    code, out = _run(["data", "verify", "--data-dir", str(tmp_path)], capsys)
    assert code == 3 and "mismatch" in out and "DE_wmt1921_swaps_ner_pos.tsv" in out


def test_fetch_offline_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    from polyret.data import registry

    monkeypatch.setattr(registry, "RAW_GITHUB", "http://127.0.0.1:9")  # nothing listens on the discard port
    code, out = _run(["data", "fetch", "xquad-r", "--data-dir", str(tmp_path)], capsys)
    assert code == 3 and "download failed" in out
    code, out = _run(["data", "fetch", "nope"], capsys)
    assert code == 2 and "unknown data set" in out


def test_check_reports_problems_with_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "topics.tsv"
    path.write_text("q1\thello\nq2\n")
    code, out = _run(["data", "check", str(path)], capsys)
    assert code == 3 and "line 2: 1 column(s)" in out and "1 record(s)" in out
    path.write_text("q1\thello\n")
    code, out = _run(["data", "check", str(path), "--format", "topics"], capsys)
    assert code == 0 and "no problems found" in out


def test_check_finds_relative_path_in_data_dir(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["data", "check", "xquad-r/th.json.gz", "--data-dir", str(data_dir)], capsys)
    assert code == 0 and "lareqa, 1190 record(s)" in out and "languages: th" in out
