"""Faults during training: a non-finite loss, a disk too small, checkpoints and logs cut short by a killed process."""

from __future__ import annotations

import json
import shutil
from collections import Counter, namedtuple
from pathlib import Path

import torch
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
from transformers import TrainerControl, TrainerState, TrainingArguments

from polyret.data.user_qa import load_qa_jsonl
from polyret.sampling import LanguageBatchSampler, PairTable
from polyret.training import TrainConfig, train
from polyret.training import checkpoints as checkpoints_module
from polyret.training.checkpoints import checkpoints_kept, discard_after, latest_complete_checkpoint
from polyret.training.run_log import RunLogCallback, plan_of_step
from tests.reliability.conftest import FAST_TRAINING, write_train_config

NAN_STEP = 5


def _nan_loss_at_step(monkeypatch, step: int) -> None:
    """Make the training loss NaN at the ``step``-th forward pass (1-based)."""
    forward = MultipleNegativesRankingLoss.forward
    calls = {"n": 0}

    def nan_at_step(self, *args, **kwargs):
        calls["n"] += 1
        loss = forward(self, *args, **kwargs)
        return loss * torch.tensor(float("nan")) if calls["n"] == step else loss

    monkeypatch.setattr(MultipleNegativesRankingLoss, "forward", nan_at_step)


def _train_with_nan(monkeypatch, cli, model_dir: Path, qa_file: Path, run_dir: Path, **changes: object):
    """Train 8 steps through the CLI with a NaN loss at ``NAN_STEP``; the result and the run's sampler."""
    _nan_loss_at_step(monkeypatch, NAN_STEP)
    config = write_train_config(run_dir.with_suffix(".yaml"), model_dir, qa_file, max_steps=8, **changes)
    result = cli("train", "--config", config, "--output-dir", run_dir)
    sampler = LanguageBatchSampler(PairTable(load_qa_jsonl(qa_file)), FAST_TRAINING["batch_size"],
                                   kind=FAST_TRAINING["sampler"], seed=FAST_TRAINING["seed"])
    return result, sampler


def test_nan_loss_stops_naming_step_and_plan_and_keeps_the_last_good_checkpoint(
    tiny_model_dir, qa_file, cli, tmp_path, monkeypatch
):
    run_dir = tmp_path / "run"
    result, sampler = _train_with_nan(monkeypatch, cli, tiny_model_dir, qa_file, run_dir)
    assert result.code == 5
    (message,) = result.error_lines
    assert f"at step {NAN_STEP} (language plan {plan_of_step(sampler, NAN_STEP)})" in message
    assert "Traceback" not in result.err
    last_good = latest_complete_checkpoint(run_dir / "checkpoints")
    assert last_good is not None and last_good.name == "checkpoint-4"
    assert not (run_dir / "final").exists()
    assert max(row["step"] for row in map(json.loads, (run_dir / "train_log.jsonl").read_text().splitlines())) == 4


def test_sparse_logging_counts_every_step_plan_and_names_the_step_range_of_a_nan(
    tiny_model_dir, qa_file, cli, tmp_path, monkeypatch
):
    run_dir = tmp_path / "run"
    result, sampler = _train_with_nan(monkeypatch, cli, tiny_model_dir, qa_file, run_dir, logging_steps=3)
    assert result.code == 5
    (message,) = result.error_lines
    assert "at steps 4-6 (language plans " in message
    assert all(plan in message for plan in {plan_of_step(sampler, step) for step in (4, 5, 6)})
    (logged,) = map(json.loads, (run_dir / "train_log.jsonl").read_text().splitlines())
    assert logged["step"] == 3
    assert sum(logged["plans_since_last_log"].values()) == 3
    assert logged["plans_since_last_log"] == dict(
        Counter(plan_of_step(sampler, step) for step in (1, 2, 3))
    )


def test_a_disk_too_small_for_the_checkpoints_is_refused_before_training(tiny_model_dir, qa_file, cli, tmp_path,
                                                                         monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(checkpoints_module.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 4096, 4096))
    config = write_train_config(tmp_path / "train.yaml", tiny_model_dir, qa_file, max_steps=8)
    result = cli("train", "--config", config, "--output-dir", tmp_path / "run")
    assert result.code == 5
    (message,) = result.error_lines
    assert "not enough disk space for 2 checkpoint(s)" in message and "0.0 MiB free" in message
    weights_mib = sum(f.stat().st_size for f in tiny_model_dir.rglob("*.safetensors")) / 2**20
    needed_mib = float(message.split("needs about ")[1].split(" MiB")[0])
    assert needed_mib > 2 * 3 * weights_mib  # two checkpoints of weights + two Adam moments
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_checkpoints_kept_follows_save_steps_and_the_limit():
    config = TrainConfig(model="m", max_steps=10, save_steps=3, save_total_limit=None)
    assert checkpoints_kept(config, steps_per_epoch=100) == 4
    assert checkpoints_kept(config.replace(save_total_limit=2), steps_per_epoch=100) == 2
    assert checkpoints_kept(TrainConfig(model="m", epochs=2.0, save_steps=5, save_total_limit=None), 10) == 4


def test_the_last_step_is_checkpointed_unless_the_caller_declines(tiny_model_dir, qa_file, tmp_path):
    config = TrainConfig.from_dict({**FAST_TRAINING, "model": str(tiny_model_dir), "max_steps": 4,
                                    "save_total_limit": None})
    records = load_qa_jsonl(qa_file)
    for final_checkpoint, expected in ((True, ["checkpoint-2", "checkpoint-4"]), (False, ["checkpoint-2"])):
        outcome = train(config, records, output_dir=tmp_path / str(final_checkpoint),
                        final_checkpoint=final_checkpoint)
        assert sorted(p.name for p in (outcome.run_dir / "checkpoints").iterdir()) == expected
        assert outcome.steps == 4 and (outcome.model_dir / "model.safetensors").is_file()


def _checkpoint(root: Path, step: int, *, complete: bool) -> Path:
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"weights")
    (path / "trainer_state.json").write_text("{}")
    if complete:
        (path / "sampler_state.json").write_text("{}")
    return path


def test_resume_skips_and_removes_a_checkpoint_cut_short(tmp_path):
    good = _checkpoint(tmp_path, 2, complete=True)
    _checkpoint(tmp_path, 10, complete=True).joinpath("trainer_state.json").unlink()
    _checkpoint(tmp_path, 4, complete=False)
    assert latest_complete_checkpoint(tmp_path) == good
    assert sorted(p.name for p in discard_after(tmp_path, 2)) == ["checkpoint-10", "checkpoint-4"]
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint-2"]
    shutil.rmtree(good)
    assert latest_complete_checkpoint(tmp_path) is None


def test_a_log_line_cut_short_by_a_kill_is_dropped_on_resume(tmp_path, qa_file):
    log = tmp_path / "train_log.jsonl"
    log.write_text('{"step": 1, "loss": 1.0}\n{"step": 2, "loss": 0.9}\n{"step": 3, "lo')
    callback = RunLogCallback(log, LanguageBatchSampler(PairTable(load_qa_jsonl(qa_file)), 4, seed=0))
    callback.on_train_begin(TrainingArguments(str(tmp_path)), TrainerState(global_step=2), TrainerControl())
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [1, 2]
