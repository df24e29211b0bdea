"""Study configs (presets, YAML/TOML overrides, validation) and the arm grid with its hashes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from polyret.errors import UsageError
from polyret.experiments.arm_names import ArmChoice
from polyret.experiments.arms import config_hash, expand_arms, resolved_arm_config
from polyret.experiments.config import PRESETS, ExperimentConfig, load_config

INPUTS = {"eval_inputs": {"xquad-r": {"digest": "e"}}, "train_inputs": {"digest": "t"}}


def hashes(config: ExperimentConfig, inputs: dict = INPUTS) -> dict[str, str]:
    return {arm.run_name: config_hash(resolved_arm_config(config, arm, **inputs)) for arm in expand_arms(config)}


def test_file_keys_override_the_preset_and_nested_sections_merge(tmp_path: Path) -> None:
    path = tmp_path / "study.toml"
    path.write_text('name = "mine"\n[training]\nmax_steps = 7\n[evaluation]\nmax_items = 3\n', encoding="utf-8")
    config = load_config(path, preset="quick")
    assert (config.name, config.training["max_steps"], config.evaluation.max_items) == ("mine", 7, 3)
    assert config.training["batch_size"] == PRESETS["quick"]["training"]["batch_size"]
    assert config.evaluation.qa_max_articles == PRESETS["quick"]["evaluation"]["qa_max_articles"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("unknown: 1\n", "'unknown'"),
        ("data: {folds: two}\n", "data.folds"),
        ("evaluation: {domain_shift: [miracl]}\n", "miracl"),
        ("training: {max_steps: null}\n", "training.max_steps"),
        ("hybrid_alpha: 1.5\n", "hybrid_alpha"),
        ("arms: [multi_positive]\ntraining: {max_steps: 5, batch_size: 6}\n", "positives_per_query"),
        ("evaluation: {backend: tpu}\n", "evaluation.backend"),
        ("evaluation: {backend: onnx, precision: bf16}\n", "evaluation.precision"),
        ("- a list\n", "mapping"),
        ("evaluation: {task_files: [{path: a.jsonl}]}\n", "evaluation.task_files[0].kind"),
        ("evaluation: {task_files: [{path: a.jsonl, kind: sideways}]}\n", "must be one of in-domain"),
        ("evaluation: {task_files: [{path: a.csv, kind: in-domain, columns: {qeury: src}}]}\n",
         "task_files[0].columns': columns of a.csv: unknown column role 'qeury'"),
        ("evaluation: {task_files: [{path: a.jsonl, kind: in-domain, format: xml}]}\n", "task_files[0].format"),
        ("evaluation: {task_files: [{path: a.jsonl, kind: in-domain, lang: de}]}\n", "task_files[0].lang"),
        ("evaluation: {task_files: [a.jsonl]}\n", "task_files[0]"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match="bad.yaml") as info:
        load_config(path)
    assert needle in str(info.value)


def test_unknown_preset() -> None:
    with pytest.raises(UsageError, match="quick"):
        load_config(preset="tiny")


def test_arm_grid_with_seeds_and_alpha_sweep() -> None:
    config = ExperimentConfig(seeds=[1, 2], alpha_sweep=[0.0, 0.5, 1.0], arms=["zero-shot", "mixed", "hybrid"])
    names = [arm.run_name for arm in expand_arms(config)]
    assert names == [  # seed by seed, so a study stopped halfway has every arm at its first seed
        "zero-shot",
        "mixed-s1",
        "hybrid-s1",
        "hybrid@0-s1",
        "hybrid@1-s1",
        "mixed-s2",
        "hybrid-s2",
        "hybrid@0-s2",
        "hybrid@1-s2",
    ]


def test_hash_changes_exactly_with_what_the_arm_depends_on() -> None:
    base = ExperimentConfig(arms=["zero-shot", "hybrid"])
    before = hashes(base)
    faster = dataclasses.replace(base, training={**base.training, "lr": 1e-4})
    after = hashes(faster)
    assert after["zero-shot"] == before["zero-shot"]  # not trained: training settings do not matter
    assert after["hybrid-s13"] != before["hybrid-s13"]
    assert hashes(base) == before  # stable
    other_test = {**INPUTS, "eval_inputs": {"xquad-r": {"digest": "other"}}}
    assert set(hashes(base, other_test).values()).isdisjoint(before.values())


def test_the_paper_preset_adds_the_multi_positive_arm_and_the_quick_preset_does_not() -> None:
    paper, quick = load_config(preset="paper"), load_config(preset="quick")
    assert ArmChoice("multi_positive") in paper.arms and ArmChoice("multi_positive") not in quick.arms
    arm = next(arm for arm in expand_arms(paper) if arm.sampler == "multi_positive")
    training = resolved_arm_config(paper, arm, **INPUTS)["training"]
    assert (training["sampler"], training["batch_size"], training["max_steps"]) == ("multi_positive", 100, 2000)
    assert [a.seed for a in expand_arms(paper) if a.label == "multi_positive"] == paper.seeds
