"""The console holds polyret's lines only: the libraries' progress bars and advisories appear with --verbose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LIBRARY_NOISE = ("Writing model shards", "LOAD REPORT", "Computing widget examples", "PAD/BOS/EOS", "it/s]")


def _train(tiny_model_dir: Path, qa_file: Path, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    argv = ["train", "--model", str(tiny_model_dir), "--data", str(qa_file), "--batch-size", "4", "--max-steps", "2",
            "-o", str(out), *flags]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for name in ("TQDM_DISABLE", "TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS"):
        env.pop(name, None)  # as a user's shell has them: unset
    return subprocess.run([sys.executable, "-c", "from polyret.cli import main; main()", *argv], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_library_noise_only_with_verbose(verbose, tiny_model_dir, qa_file, tmp_path):
    result = _train(tiny_model_dir, qa_file, tmp_path / "run", *(["--verbose"] if verbose else []))
    assert result.returncode == 0, result.stderr
    noise = [text for text in LIBRARY_NOISE if text in result.stdout + result.stderr]
    assert bool(noise) == verbose, result.stderr
    assert "trained 2 steps" in result.stdout


def _polyret(*argv: str) -> list[str]:
    return [sys.executable, "-c", "from polyret.cli import main; main()", *argv]


def test_a_closed_stdout_pipe_ends_quietly_with_141(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(_polyret("evaluate", "--list-tasks"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, text=True)
    process.stdout.close()  # as `| head -0` does: the reader is gone before polyret prints
    _, err = process.communicate(timeout=120)
    assert process.returncode == 141, err
    assert err == "", err


def test_a_terminal_that_cannot_show_a_name_gets_escapes(tmp_path):
    path = tmp_path / "中文.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": {"en": f"shoe {i}", "zh": f"鞋 {i}"}}) + "\n"
                            for i in range(3)), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PYTHONIOENCODING": "ascii"}
    result = subprocess.run(_polyret("data", "check", str(path)), env=env, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert b"\\u4e2d\\u6587.jsonl: multiway, 3 record(s)" in result.stdout, result.stdout
