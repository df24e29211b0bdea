"""Two processes writing into one output folder: the second is refused while the first runs (a lock file holding
the writer's pid, removed on exit); a lock left by a killed process is taken over."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from polyret.io import LOCK_FILE

HOLDER = textwrap.dedent("""
    import sys, time
    from polyret.io import output_lock
    with output_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(120)
""")


def _hold_lock(folder: Path) -> subprocess.Popen:
    """A real process that holds ``folder``'s lock until it is killed."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def _evaluate(cli, tiny_model_dir: Path, qa_file: Path, out: Path):
    return cli("evaluate", "--model", tiny_model_dir, "--task-file", qa_file, "-o", out)


def test_a_folder_another_process_writes_into_is_refused_then_taken_over_once_it_is_killed(
    cli, tiny_model_dir, qa_file, tmp_path
):
    out = tmp_path / "out"
    holder = _hold_lock(out)
    try:
        refused = _evaluate(cli, tiny_model_dir, qa_file, out)
        assert refused.code == 2, refused.err
        (message,) = refused.error_lines
        assert f"another polyret process (pid {holder.pid}) is writing into this folder" in message
        assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # nothing of the refused run
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (out / LOCK_FILE).read_text().strip() == str(holder.pid)  # a killed writer leaves its lock behind
    taken = _evaluate(cli, tiny_model_dir, qa_file, out)
    assert taken.code == 0, taken.err
    written = {p.name for p in out.iterdir()}
    assert {"report.md", "results.json"} <= written and LOCK_FILE not in written
    assert json.loads((out / "results.json").read_text())["results"]


def test_a_failed_run_leaves_no_folder_or_lock_behind(cli, tiny_model_dir, tmp_path):
    out = tmp_path / "out"
    result = _evaluate(cli, tiny_model_dir, tmp_path / "missing.jsonl", out)
    assert result.code == 3, result.err
    assert not out.exists()
