"""A study with its own task files runs to its report, records each file's checksum, and refuses names that would
mix a file with another task."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from tests.experiments.conftest import tiny_study

SENTENCES = {"en": ["red shoe", "blue hat", "green coat", "old map", "new lamp", "warm soup"],
             "de": ["roter Schuh", "blauer Hut", "grüner Mantel", "alte Karte", "neue Lampe", "warme Suppe"]}


def _corpus(path: Path) -> Path:
    rows = [{"id": str(i), "text": {lang: SENTENCES[lang][i] for lang in SENTENCES}} for i in range(6)]
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def _study(tmp_path: Path, model: Path, task_files: list[dict]) -> Path:
    config = tiny_study(model)
    config["arms"] = ["zero-shot", "hybrid"]
    config["evaluation"] = {**config["evaluation"], "domain_shift": [], "task_files": task_files}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_a_study_with_a_task_file_of_its_own_name_writes_its_report(cli, tiny_model_dir, tmp_path):
    shop = _corpus(tmp_path / "shop-catalogue.jsonl")
    config = _study(tmp_path, tiny_model_dir, [{"path": str(shop), "kind": "domain-shift"}])
    result = cli("experiment", "--config", config, "--output-dir", tmp_path / "out")
    assert result.code == 0, result.err
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert results["provenance"]["data_checksums"][str(shop)] == hashlib.sha256(shop.read_bytes()).hexdigest()
    assert "shop-catalogue" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("names", "says"), [
    (["shop", "shop"], "also the name of task_files[0]"),
    (["ntrex128"], "name of a registered task"),
])
def test_task_file_names_that_would_mix_tasks_are_refused_in_a_dry_run(names, says, cli, tiny_model_dir, tmp_path):
    shop = _corpus(tmp_path / "shop.jsonl")
    files = [{"path": str(shop), "kind": "domain-shift", "name": name} for name in names]
    result = cli("experiment", "--config", _study(tmp_path, tiny_model_dir, files), "--dry-run")
    assert result.code == 2, result.err
    (error,) = result.error_lines
    assert says in error and "evaluation.task_files[" in error


def test_a_dry_run_ignores_stored_results_of_another_shape(cli, tiny_model_dir, tmp_path):
    shop = _corpus(tmp_path / "shop.jsonl")
    config = _study(tmp_path, tiny_model_dir, [{"path": str(shop), "kind": "domain-shift"}])
    sibling = tmp_path / "studies" / "old"
    arm = sibling / "arms" / "hybrid-s3-0"
    arm.mkdir(parents=True)
    (arm / "results.json").write_text(json.dumps({  # a batch size of 0 and negative seconds: not a measurement
        "config": {"base_model": str(tiny_model_dir), "training": {"batch_size": 0, "max_seq_length": 32}},
        "info": {"train_steps": 2, "train_wall_s": -1e309}}))
    (sibling / "results.json").write_text(json.dumps({"comparisons": [], "table": {"columns": "x"}}))
    result = cli("experiment", "--config", config, "--dry-run", "-o", tmp_path / "studies" / "new")
    assert result.code == 0, result.err
    assert "shop: size not counted before evaluation" in result.out and "None items" not in result.out
    assert "Estimated time: training unknown" in result.out and "-inf" not in result.out
