"""A study whose evaluation changed in one task reuses the other tasks' results of the same models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from polyret.evaluation.result import TaskResult
from polyret.experiments import debias_rows, runner
from polyret.experiments.arm_result import PER_QUERY_FILE, ArmResult, load_arm_result
from polyret.experiments.config import load_config
from polyret.experiments.plan import plan_study
from polyret.experiments.task_reuse import Donor
from tests.conftest import run_polyret

from .conftest import tiny_study, write_config

CHANGED_TASK = "mlqa-r"


def committed_copy(finished: Path, target: Path, *, legacy: bool) -> Path:
    """The study's small result files only (no trained models), as a fresh clone has them; ``legacy`` drops the
    model fingerprints, as in results written before runs recorded them."""
    for path in finished.rglob("*.json*"):  # results.json and the per_query.json.gz it names
        relative = path.relative_to(finished)
        if "train" in relative.parts:
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        if path.name == PER_QUERY_FILE:
            shutil.copy2(path, target / relative)
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if legacy and path.name == "results.json" and "info" in data:
            data["info"].pop("model_fingerprint", None)
        (target / relative).write_text(json.dumps(data), encoding="utf-8")
    return target


def arm_results(study: Path) -> dict[str, dict]:
    """Run name -> the stored result of its newest folder (the changed config's), per-query values included."""
    summary = json.loads((study / "results.json").read_text(encoding="utf-8"))
    folders = {name: study / arm["info"]["run_dir"] for name, arm in summary["arms"].items()}
    return {name: load_arm_result(folder, config_hash=folder.name.rsplit("-", 1)[-1], tasks=[]).to_dict()
            for name, folder in folders.items()}


def study_config(model_dir: Path, *, mlqa_articles: int) -> dict:
    """The tiny study with an LSAR row for every arm, MLQA-R on its first ``mlqa_articles`` articles."""
    config = tiny_study(model_dir) | {"debias": ["lsar:2"], "debias_reference_articles": 2}
    config["evaluation"] = config["evaluation"] | {"qa_max_articles": mlqa_articles}
    return config


@pytest.fixture(scope="module")
def debias_study(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny study with post-hoc rows (do not modify: copy it first)."""
    folder = tmp_path_factory.mktemp("debias-study")
    config = write_config(folder / "study.yaml", study_config(tiny_model_dir, mlqa_articles=1))
    assert run_polyret("experiment", "--config", config, "--output-dir", folder / "study") == 0
    return folder / "study"


@pytest.fixture(scope="module")
def resized_config(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("resized") / "resized.yaml",
                        study_config(tiny_model_dir, mlqa_articles=2))


@pytest.fixture(scope="module")
def fresh_resized(resized_config: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every arm and row of the resized study computed from scratch."""
    fresh = tmp_path_factory.mktemp("fresh") / "study"
    assert run_polyret("experiment", "--config", resized_config, "--output-dir", fresh) == 0
    return arm_results(fresh)


@pytest.mark.parametrize("legacy", [False, True], ids=["fingerprint", "training-loss"])
def test_only_the_changed_task_is_evaluated_and_the_result_equals_a_fresh_run(
    debias_study: Path, resized_config: Path, fresh_resized: dict, tmp_path: Path, monkeypatch, legacy: bool, cli
) -> None:
    study = committed_copy(debias_study, tmp_path / "study", legacy=legacy)
    evaluated: list[list[str]] = []
    debiased: list[list[str]] = []
    real_run_suite, real_run_debiased = runner.run_suite, debias_rows.run_debiased
    monkeypatch.setattr(runner, "run_suite",
                        lambda encoder, suite, **k: evaluated.append(suite.task_names) or real_run_suite(
                            encoder, suite, **k))
    monkeypatch.setattr(debias_rows, "run_debiased",
                        lambda ctx, suite, *a, **k: debiased.append(suite.task_names) or real_run_debiased(
                            ctx, suite, *a, **k))
    assert cli("experiment", "--config", resized_config, "--output-dir", study).code == 0
    assert evaluated == debiased == [[CHANGED_TASK]] * 3  # each arm and each row: only the resized task
    reused = arm_results(study)
    assert reused.keys() == fresh_resized.keys() and len(reused) == 6
    for name, result in reused.items():
        if "+" not in name:
            assert set(result["info"]["tasks_reused_from"]) == {"xquad-r", "ntrex128"}, name
        assert result["tasks"] == fresh_resized[name]["tasks"], name
        assert result["info"].get("skipped_tasks") == fresh_resized[name]["info"].get("skipped_tasks"), name
        assert result["config_hash"] == fresh_resized[name]["config_hash"]


def donor(info: dict, *, trained: bool = True) -> Donor:
    config = {"training": {}} if trained else {}
    lendable = {"t": TaskResult("t", "acc", {"acc": 1.0})}
    return Donor(Path("arms/x"), ArmResult("x", "x", "h", config, {}, info), lendable)


def test_a_donor_lends_only_when_its_model_is_this_runs_model() -> None:
    assert donor({"model_fingerprint": "a"}).lend("a", None)
    assert not donor({"model_fingerprint": "a"}).lend("b", 0.5)
    assert donor({"train_loss": 0.5}).lend("b", 0.5)  # a run from before fingerprints: same training loss
    assert not donor({"train_loss": 0.5}).lend("b", 0.5000001)
    assert not donor({}).lend("b", None)  # trained, but nothing to tell its model by
    assert donor({}, trained=False).lend("b", None)  # the configured base model itself


def test_the_dry_run_shows_what_each_run_borrows_and_counts_only_the_texts_left(
    debias_study: Path, resized_config: Path, tmp_path: Path, cli
) -> None:
    study = committed_copy(debias_study, tmp_path / "study", legacy=False)
    result = cli("experiment", "--config", resized_config, "--output-dir", study, "--dry-run")
    assert result.code == 0, result.err
    out = result.out
    for run in ("zero-shot", "mixed-s3", "hybrid-s3"):
        assert f"{run} (borrows xquad-r, ntrex128)" in out
    plan = plan_study(load_config(resized_config), output_dir=study)
    mlqa = next(task for task in plan["tasks"] if task["task"] == CHANGED_TASK)
    assert {run["texts"] for run in plan["runs"]} == {mlqa["texts"]}
