"""The task catalog is the one declaration of a task: one added there is seen by the suites, `--list-tasks`, the
study's task names, report titles, the terminal summary and `--tasks`."""

from __future__ import annotations

import json

import pytest

from polyret.errors import UsageError
from polyret.evaluation.catalog import CATALOG, SUITES, TASKS, TaskMetadata, headline_scores, register_task, task_title
from polyret.evaluation.kinds import BITEXT, HEADLINE_SCORES, KINDS
from polyret.evaluation.user_tasks import TaskFileSpec


@pytest.fixture
def added(tmp_path):
    """A three-row multi-way corpus declared as a registered domain-shift task (removed afterwards)."""
    path = tmp_path / "mine.jsonl"
    rows = [{"id": str(i), "text": {"en": f"The cat {i} sleeps.", "de": f"Die Katze {i} schläft."}} for i in range(3)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    spec = TaskFileSpec(str(path), name="my-corpus")
    meta = TaskMetadata(spec, "My corpus", BITEXT, "bitext P@1 (cats)", "3 rows x 2 languages", 3, ("en", "de"),
                        "ntrex128", quick=spec, study_default=False)
    register_task(meta)
    yield meta
    del CATALOG["my-corpus"]


def test_a_task_added_to_the_catalog_is_seen_everywhere(added, tiny_model_dir, tmp_path, cli):
    from polyret.experiments.config import EvaluationSettings, ExperimentConfig, validate

    assert TASKS["my-corpus"] is added.spec
    assert "my-corpus" in SUITES["full"].task_names and "my-corpus" in SUITES["domain-shift"].task_names
    assert SUITES["quick"].tasks[-1] is added.quick and "my-corpus" not in SUITES["lareqa"].task_names
    assert task_title("my-corpus") == "My corpus" and headline_scores("my-corpus") == BITEXT.headline_scores
    assert "my-corpus" not in EvaluationSettings().domain_shift  # not a study default
    config = ExperimentConfig()
    config.evaluation.domain_shift = ["my-corpus"]
    validate(config)  # a known domain-shift task
    listed = cli("evaluate", "--list-tasks")
    assert listed.code == 0 and "my-corpus" in listed.out
    out = tmp_path / "run"
    assert cli("evaluate", "--model", tiny_model_dir, "--tasks", "my-corpus", "-o", out).code == 0
    assert "my-corpus" in json.loads((out / "results.json").read_text(encoding="utf-8"))["results"]
    with pytest.raises(UsageError, match="registered already"):
        register_task(added)


def test_the_catalog_declares_the_study_defaults_titles_and_scores():
    from polyret.experiments.config import EvaluationSettings

    settings = EvaluationSettings()
    assert settings.in_domain == ["xquad-r", "mlqa-r"]
    assert settings.domain_shift == ["clsd-wmt19", "ntrex128", "tico19", "tatoeba"]
    assert [task_title(n) for n in ("xquad-r", "clsd-wmt19-mt", "tatoeba", "mine")] == [
        "XQuAD-R", "CLSD (en MT)", "Tatoeba", "mine"]
    assert {meta.kind.main_score for meta in CATALOG.values()} <= {kind.main_score for kind in KINDS.values()}
    assert headline_scores("a user's file") == HEADLINE_SCORES
    assert [meta.role for meta in CATALOG.values()].count("held-out") == 2
