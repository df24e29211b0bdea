"""Fixtures of the reliability tests: a small QA JSON-lines file, and a fast training config (the CLI runner `cli` is
the suite's, tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from polyret.data.lareqa import load_parallel_qa
from polyret.data.user_qa import load_qa_jsonl
from polyret.training import TrainConfig, train

LANGS = ["en", "de", "es"]
REPRO_STEPS = 6
FAST_TRAINING = {"batch_size": 8, "lr": 2e-3, "warmup_ratio": 0.0, "with_context": False, "max_seq_length": 32,
                 "sampler": "hybrid", "seed": 3, "save_steps": 2, "save_total_limit": 2}


@pytest.fixture(scope="session")
def qa_file(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 aligned XQuAD-R questions (en, de, es) as a user's QA JSON-lines file."""
    records = load_parallel_qa("xquad-r", languages=LANGS, groups=["0"], data_dir=data_dir)[:24]
    path = tmp_path_factory.mktemp("qa") / "train.jsonl"
    lines = [json.dumps({"id": r.id, "group": r.group, "questions": r.questions, "answers": r.answers})
             for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_train_config(path: Path, model_dir: Path, data: Path, **changes: object) -> Path:
    """A YAML training config for the tiny model on ``data`` (fast settings, overridable)."""
    path.write_text(yaml.safe_dump({"model": str(model_dir), "data": str(data), **FAST_TRAINING, **changes}))
    return path


@pytest.fixture(scope="session")
def runs(tiny_model_dir: Path, qa_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two finished training runs with one config and seed (each keeps its last checkpoint)."""
    root = tmp_path_factory.mktemp("repro")
    config = TrainConfig.from_dict({**FAST_TRAINING, "model": str(tiny_model_dir), "data": str(qa_file),
                                    "max_steps": REPRO_STEPS, "save_steps": 100})
    records = load_qa_jsonl(qa_file)
    first, second = (train(config, records, output_dir=root / name).run_dir for name in ("first", "second"))
    return first, second
