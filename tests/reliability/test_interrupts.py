"""Interrupted training loses no work: SIGKILL + --resume reproduces an uninterrupted run; SIGTERM checkpoints."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from polyret.training.checkpoints import latest_complete_checkpoint
from polyret.training.interrupts import StopOnSignal
from tests.reliability.conftest import write_train_config

MAX_STEPS = 12
POLL_S = 0.02


def _train_process(run_dir: Path, config: Path, *extra: str) -> subprocess.Popen[str]:
    """``python -m polyret train`` as a real child process."""
    command = [sys.executable, "-m", "polyret", "train", "--config", str(config), "--output-dir", str(run_dir), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, process: subprocess.Popen[str], what: str, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"training ended (exit {process.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(POLL_S)


def _log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


def _batches(run_dir: Path) -> list[tuple[int, str, list[str]]]:
    return [(row["step"], row["plan"], row["examples"]) for row in _log(run_dir) if "loss" in row]


def _weights(model_dir: Path) -> dict[str, np.ndarray]:
    tensors: dict[str, np.ndarray] = {}
    for file in sorted(model_dir.rglob("*.safetensors")):
        tensors.update({f"{file.parent.name}/{key}": value for key, value in load_file(file).items()})
    return tensors


@pytest.fixture(scope="module")
def config_file(tiny_model_dir: Path, qa_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_train_config(tmp_path_factory.mktemp("config") / "train.yaml", tiny_model_dir, qa_file,
                              max_steps=MAX_STEPS)


def test_sigkill_then_resume_repeats_the_uninterrupted_run(config_file, cli, tmp_path):
    reference = cli("train", "--config", config_file, "--output-dir", tmp_path / "reference")
    assert reference.code == 0, reference.err
    kill_after = random.SystemRandom().randrange(2, MAX_STEPS - 4, 2)  # a checkpoint step (save_steps = 2)
    run_dir = tmp_path / "killed"
    process = _train_process(run_dir, config_file)
    checkpoints = run_dir / "checkpoints"

    def checkpoint_written() -> bool:
        last = latest_complete_checkpoint(checkpoints)
        return last is not None and int(last.name.split("-")[1]) >= kill_after

    _wait_for(checkpoint_written, process, f"checkpoint-{kill_after}")
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL, f"killed after checkpoint-{kill_after}"
    assert not (run_dir / "final").exists()

    resumed = cli("train", "--output-dir", run_dir, "--resume")  # the run's own config.json is reused
    assert resumed.code == 0, resumed.err
    summary = json.loads((run_dir / "train_summary.json").read_text())
    assert summary["steps"] == MAX_STEPS and summary["resumed_from"]
    assert _batches(run_dir) == _batches(tmp_path / "reference"), f"killed after checkpoint-{kill_after}"
    assert [step for step, _, _ in _batches(run_dir)] == list(range(1, MAX_STEPS + 1))
    expected, got = _weights(tmp_path / "reference" / "final"), _weights(run_dir / "final")
    assert expected.keys() == got.keys() and expected
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, atol=1e-5, err_msg=f"{name}, killed after {kill_after}")


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(config_file, cli, tmp_path):
    run_dir = tmp_path / "terminated"
    log = run_dir / "train_log.jsonl"

    def terminate_after_three_steps() -> None:
        while not (log.is_file() and len(log.read_text().splitlines()) >= 3):
            time.sleep(POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` would: the handler runs in the training thread

    threading.Thread(target=terminate_after_three_steps, daemon=True).start()
    result = cli("train", "--config", config_file, "--output-dir", run_dir, "--max-steps", "500", "--seed", "4")
    assert result.code == 128 + signal.SIGTERM, result.err
    checkpoint = latest_complete_checkpoint(run_dir / "checkpoints")
    assert checkpoint is not None
    last_step = max(row["step"] for row in _log(run_dir))
    assert checkpoint.name == f"checkpoint-{last_step}"  # saved at the step boundary the signal reached
    (message,) = result.error_lines
    assert f"checkpoint saved in {checkpoint}" in message and f"--output-dir {run_dir} --resume" in message
    assert "Traceback" not in result.err
    assert not (run_dir / "final").exists()


def test_sigint_twice_interrupts_at_once_and_handlers_are_restored():
    stop = StopOnSignal()
    before = signal.getsignal(signal.SIGINT)
    with stop.installed():
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.received == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


WORKER = Path(__file__).with_name("interrupt_worker.py")


@pytest.mark.parametrize(("command", "sig"), [("evaluate", "SIGINT"), ("evaluate", "SIGTERM"),
                                               ("debias", "SIGINT"), ("debias", "SIGTERM")])
def test_a_signal_during_evaluate_or_debias_ends_with_its_code_and_writes_nothing(
    command, sig, tiny_model_dir, qa_file, tmp_path
):
    out = tmp_path / "out"
    args = {
        "evaluate": ["evaluate", "--model", tiny_model_dir, "--task-file", qa_file, "--no-cache", "-o", out],
        "debias": ["debias", "--model", tiny_model_dir, "--fit-on", qa_file, "-o", out],
    }[command]
    env = {**os.environ, "POLYRET_CACHE_DIR": str(tmp_path / "cache")}
    process = subprocess.run([sys.executable, str(WORKER), sig, *map(str, args)], capture_output=True, text=True,
                             env=env, timeout=240)
    assert process.returncode == 128 + signal.Signals[sig], process.stderr
    assert f"interrupted by {sig}" in process.stderr and "Traceback" not in process.stderr
    assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")], "a staging folder was left behind"
