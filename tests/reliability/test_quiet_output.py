"""The console holds polyret's lines only: the libraries' progress bars and advisories appear with --verbose."""

from __future__ import annotations

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
