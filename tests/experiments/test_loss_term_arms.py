"""Arms with loss terms (``hybrid+erasure``): naming, their training options, and unchanged hashes of the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyret.errors import UsageError
from polyret.experiments.arm_names import ArmChoice
from polyret.experiments.arms import ArmSpec, arm_train_config, config_hash, expand_arms, resolved_arm_config
from polyret.experiments.config import load_config

STANDARD_ARMS = Path(__file__).resolve().parents[2] / "studies" / "standard" / "arms"


def test_arm_names_with_loss_terms():
    assert ArmChoice.from_config("hybrid+erasure") == ArmChoice("hybrid", loss_terms=("erasure",))
    both = ArmChoice("hybrid", 0.25, ("erasure", "alignment"))
    assert ArmChoice.from_config("hybrid@0.25+erasure+alignment") == both
    assert ArmChoice.from_config({"name": "hybrid", "alpha": 0.25, "loss_terms": ["alignment"]}) == \
        ArmChoice.from_config("hybrid@0.25+alignment")
    assert str(ArmChoice.from_config("multi_positive+erasure")) == "multi_positive+erasure"
    for bad in ("hybrid+erasure+erasure", "zero-shot+erasure", "hybrid+lsar", "nope+erasure", "mixed@0.5",
                "hybrid@1.5", {"alpha": 0.5}):
        with pytest.raises(UsageError, match="arms"):
            ArmChoice.from_config(bad)


def test_the_term_weights_reach_only_the_arms_that_name_them():
    config = load_config(preset="standard")
    config.erasure_weight = 250.0
    specs = {spec.run_name: spec for spec in expand_arms(config)}
    erasure = arm_train_config(config, specs["hybrid+erasure-s13"])
    plain = arm_train_config(config, specs["hybrid-s13"])
    assert (erasure.erasure_weight, erasure.alignment_weight, erasure.sampler) == (250.0, 0.0, "hybrid")
    assert plain.erasure_weight == 0.0 and plain.replace(erasure_weight=250.0) == erasure
    assert arm_train_config(config, specs["multi_positive+erasure-s42"]).sampler == "multi_positive"


def test_a_cached_study_refuses_loss_term_arms(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("arms: [hybrid, hybrid+alignment]\ntraining: {max_steps: 5, cached: true}\n")
    with pytest.raises(UsageError, match="cached"):
        load_config(path)


@pytest.mark.skipif(not STANDARD_ARMS.is_dir(), reason="the committed standard study is not in this checkout")
def test_the_committed_standard_arms_keep_their_hashes():
    config = load_config(preset="standard")
    specs = {spec.run_name: spec for spec in expand_arms(config)}
    folders = [folder for folder in STANDARD_ARMS.iterdir() if "+" not in folder.name]  # not post-hoc rows
    assert len(folders) >= 19
    for folder in folders:
        stored = json.loads((folder / "arm_config.json").read_text())
        for key, value in stored["evaluation"].items():  # the evaluation they ran with (MLQA-R was capped then)
            setattr(config.evaluation, key, value)
        run_name, digest = folder.name.rsplit("-", 1)
        resolved = resolved_arm_config(config, specs[run_name], eval_inputs=stored["eval_inputs"],
                                       train_inputs=stored.get("train_inputs", {}))
        assert config_hash(resolved) == digest, folder.name


def test_a_loss_term_changes_the_hash():
    config = load_config(preset="standard")
    inputs = {"eval_inputs": {}, "train_inputs": {}}
    plain = resolved_arm_config(config, ArmSpec("hybrid", "hybrid", 0.5, 13), **inputs)
    erasure = resolved_arm_config(config, ArmSpec("hybrid+erasure", "hybrid", 0.5, 13, loss_terms=("erasure",)),
                                  **inputs)
    assert config_hash(plain) != config_hash(erasure)
    assert "loss_terms" not in plain["arm"] and "erasure_weight" not in plain["training"]
