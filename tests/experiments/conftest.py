"""A tiny study (tiny random model, a few training steps, one test article, small slices) run once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import run_polyret


def tiny_study(model_dir: Path) -> dict:
    """A study config small enough to train and evaluate three arms in well under a minute."""
    return {
        "name": "tiny",
        "base_model": str(model_dir),
        "arms": ["zero-shot", "mixed", "hybrid"],
        "seeds": [3],
        "significance_resamples": 200,
        "keep_checkpoints": True,  # the resume test restarts a finished arm from its last checkpoint
        "training": {"max_steps": 2, "batch_size": 4, "save_steps": 1, "max_seq_length": 32, "lr": 1e-3},
        "data": {"folds": 48, "test_fold": 0, "max_train_questions": 24},
        "evaluation": {"qa_max_articles": 1, "max_items": 6, "domain_shift": ["ntrex128"], "batch_size": 64},
    }


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_study_config(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("study-config") / "tiny.yaml", tiny_study(tiny_model_dir))


@pytest.fixture(scope="session")
def finished_study(tiny_study_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of one complete CLI run of the tiny study (do not modify: copy it first)."""
    out = tmp_path_factory.mktemp("study") / "tiny"
    assert run_polyret("experiment", "--config", tiny_study_config, "--output-dir", out) == 0
    return out
