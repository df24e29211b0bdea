"""Shared by the debiasing CLI tests: run ``polyret`` in-process; write a small reference QA file."""

from __future__ import annotations

import json
from pathlib import Path

from polyret.cli import main


def exit_code(*args: str) -> int:
    """``polyret ARGS``' exit code (0 when it returns normally)."""
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def mlqa_qa_file(path: Path, data_dir: Path, count: int = 30) -> Path:
    """A QA JSONL file of ``count`` MLQA-R questions in three or more languages (not in XQuAD-R)."""
    from polyret.data.lareqa import load_parallel_qa

    items = [qa for qa in load_parallel_qa("mlqa-r", data_dir=data_dir) if len(qa.languages) >= 3][:count]
    rows = [{"id": qa.id, "questions": dict(qa.questions), "answers": dict(qa.answers)} for qa in items]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path
