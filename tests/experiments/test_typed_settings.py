"""Typed study settings: the training section, arms written either way, training sources, and the runner's records
writing the ``info`` every stored result has."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from polyret.errors import UsageError
from polyret.experiments.arm_run import ArmRun, ArmStatus, TrainingSummary
from polyret.experiments.arms import ArmSpec, arm_train_config, config_hash, expand_arms, resolved_arm_config
from polyret.experiments.config import load_config
from polyret.experiments.task_reuse import FINGERPRINT_KEY, REUSED_KEY

INPUTS = {"eval_inputs": {"xquad-r": {"digest": "d"}}, "train_inputs": {"digest": "t"}}
STANDARD_ARMS = Path(__file__).resolve().parents[2] / "studies" / "standard" / "arms"


def study(tmp_path: Path, text: str, *, preset: str | None = "quick"):
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, preset=preset)


def hashes(config) -> dict[str, str]:
    return {arm.run_name: config_hash(resolved_arm_config(config, arm, **INPUTS)) for arm in expand_arms(config)}


def test_the_training_section_is_typed_and_written_back_as_given(tmp_path: Path) -> None:
    config = study(tmp_path, "training: {lr: 1, warmup_ratio: 0.2}\n")
    assert (config.training.lr, config.training.warmup_ratio, config.training.weight_decay) == (1.0, 0.2, 0.01)
    given = config.to_dict()["training"]
    assert list(given) == [*load_config(preset="quick").to_dict()["training"], "warmup_ratio"]
    assert given["lr"] == 1.0 and "weight_decay" not in given
    again = study(tmp_path, yaml.safe_dump(config.to_dict()), preset=None)  # the written form reads back the same
    assert again == config and hashes(again) == hashes(config)


@pytest.mark.parametrize(("text", "says"), [
    ("training: {sampler: mixed}\n", "'training.sampler': set by the study (use arms)"),
    ("training: {seed: 3}\n", "'training.seed': set by the study (use seeds)"),
    ("training: {warmup_ratio: 1.0}\n", "'training.warmup_ratio': must be in [0.0, 1.0)"),
    ("significance_level: 0\n", "'significance_level': must be in (0.0, 1.0)"),
    ("alpha_sweep: [0.5, 1.5]\n", "'alpha_sweep'"),
    ("arms: [hybrid@1.5]\n", "'hybrid@1.5'"),
    ("arms: [{name: mixed, alpha: 0.5}]\n", "'arms[0].alpha': only the hybrid arm has an alpha"),
])
def test_each_range_is_refused_with_its_key(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(UsageError, match="study.yaml") as error:
        study(tmp_path, text)
    assert says in str(error.value)


def test_an_arm_as_a_mapping_is_the_arm_of_its_spelling(tmp_path: Path) -> None:
    spelled = study(tmp_path, "arms: [zero-shot, hybrid@0.25+erasure, mixed]\n")
    mapped = study(tmp_path, "arms: [{name: zero-shot}, {name: hybrid, alpha: 0.25, loss_terms: [erasure]}, "
                             "{name: mixed}]\n")
    assert mapped.arms == spelled.arms and mapped.to_dict() == spelled.to_dict()
    assert hashes(mapped) == hashes(spelled)
    assert [arm.run_name for arm in expand_arms(mapped)] [:3] == ["zero-shot", "hybrid@0.25+erasure-s13",
                                                                 "mixed-s13"]


def test_each_arm_carries_the_training_config_it_was_expanded_with() -> None:
    config = load_config(preset="standard")
    arms = [arm for arm in expand_arms(config) if arm.trained]
    assert len(arms) == 3 * 9  # six trained designs, two erasure arms and one alignment arm, three seeds each
    for arm in arms:
        by_hand = ArmSpec(arm.label, arm.sampler, arm.alpha, arm.seed, loss_terms=arm.loss_terms)
        assert arm.training is not None and arm.training == arm_train_config(config, by_hand), arm.run_name
        assert (arm.training.sampler, arm.training.seed, arm.training.max_steps) == (arm.sampler, arm.seed, 50)
    assert {arm.training.erasure_weight for arm in arms if "erasure" in arm.loss_terms} == {config.erasure_weight}
    aligned = {arm.training.alignment_weight for arm in arms if "alignment" in arm.loss_terms}
    assert aligned == {config.alignment_weight}


def test_one_training_source_stands_for_train_qa_and_several_are_refused(tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl"
    one = study(tmp_path, f"data: {{sources: [{{path: {qa}, weight: 2}}]}}\n")
    assert one.data.training_source().path == str(qa) and one.data.sources[0].weight == 2.0
    assert "sources" not in load_config(preset="quick").to_dict()["data"]  # unset: the form (and hash) of before
    quick = hashes(load_config(preset="quick"))
    assert hashes(one)["zero-shot"] == quick["zero-shot"] and hashes(one)["hybrid-s13"] != quick["hybrid-s13"]
    with pytest.raises(UsageError, match="'data.sources': several training sources need a trainer that mixes"):
        study(tmp_path, f"data: {{sources: [{{path: {qa}}}, {{dataset: xquad-r, weight: 0.5}}]}}\n")
    with pytest.raises(UsageError, match="give one of them"):
        study(tmp_path, f"data: {{train_qa: {qa}, sources: [{{dataset: xquad-r}}]}}\n")
    with pytest.raises(UsageError, match=r"'data.sources\[0\]': give exactly one of 'path'"):
        study(tmp_path, f"data: {{sources: [{{path: {qa}, dataset: xquad-r}}]}}\n")
    with pytest.raises(UsageError, match=r"'data.sources\[0\].weight': must be > 0"):
        study(tmp_path, "data: {sources: [{dataset: xquad-r, weight: 0}]}\n")


def test_the_runners_record_writes_the_info_of_the_committed_results() -> None:
    stored = [json.loads(path.read_text(encoding="utf-8"))["info"] for path in
              sorted(STANDARD_ARMS.glob("*/results.json")) if "+" not in path.parent.name]
    if not stored:
        pytest.skip("the committed standard study is not in this checkout")
    for info in stored:
        trained = "training" in info
        summary = {"steps": info.get("train_steps"), "wall_time_s": info.get("train_wall_s"),
                   "train_loss": info.get("train_loss")}
        run = ArmRun(info["run_dir"], TrainingSummary.from_run(ArmStatus(info["training"]), summary) if trained
                     else None, info["backend"], info.get(FINGERPRINT_KEY, "f"), info["eval_wall_s"],
                     info["eval_texts"], info.get(REUSED_KEY, {}))
        written = run.info()
        if FINGERPRINT_KEY not in info:  # written before runs recorded their model's fingerprint
            assert written.pop(FINGERPRINT_KEY) == "f"
        assert list(written.items()) == list(info.items())
        assert run.status == ArmStatus(info["status"])
