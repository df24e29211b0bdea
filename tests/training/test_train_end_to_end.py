"""End-to-end: train the tiny model a few steps on XQuAD-R articles; resume; faults."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from transformers import TrainerControl, TrainerState, TrainingArguments

from polyret.data.columns import InMemoryColumns
from polyret.data.lareqa import load_parallel_qa
from polyret.errors import TrainingError, UsageError
from polyret.models.encoders import SentenceTransformerEncoder
from polyret.sampling import LanguageBatchSampler, PairTable
from polyret.training import TrainConfig, train
from polyret.training.run_log import RunLogCallback

from .runs import copy_without_the_end

LANGS = ["en", "de", "es"]


@pytest.fixture(scope="module")
def records(data_dir):
    return load_parallel_qa("xquad-r", languages=LANGS, groups=["0"], data_dir=data_dir)[:24]


def _config(model_dir, **changes) -> TrainConfig:
    return TrainConfig(**{"model": str(model_dir), "batch_size": 8, "lr": 2e-3, "warmup_ratio": 0.0,
                          "with_context": False, "save_steps": 3, **changes})


def _in_batch_loss(model: SentenceTransformer, records) -> float:
    """InfoNCE (scale 20) of English questions against their English answers, all records in one batch."""
    q = model.encode([r.questions["en"] for r in records], prompt_name="query")
    p = model.encode([r.answers["en"] for r in records], prompt_name="passage")
    logits = 20 * q @ p.T
    logits -= logits.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(logits).sum(axis=1)) - np.diag(logits)))


def _log(run_dir):
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


def test_training_lowers_the_loss_and_saves_a_loadable_run(tiny_model_dir, records, tmp_path):
    before = _in_batch_loss(SentenceTransformer(str(tiny_model_dir)), records)
    config = _config(tiny_model_dir, max_steps=12, sampler="hybrid", save_steps=100)
    outcome = train(config, records, output_dir=tmp_path / "run")
    model = SentenceTransformer(str(outcome.model_dir))
    assert _in_batch_loss(model, records) < before
    assert model.prompts["query"] == "Query: " and model.prompts["passage"] == "Passage: "
    log = _log(outcome.run_dir)
    assert [row["step"] for row in log] == list(range(1, 13))
    assert all(math.isfinite(row["loss"]) and row["plan"] for row in log)
    summary = json.loads((outcome.run_dir / "train_summary.json").read_text())
    assert summary["steps"] == 12 and sum(summary["plan_counts"].values()) == 12
    assert summary["plan_counts"] == dict(sorted(Counter(row["plan"] for row in log).items()))
    assert summary["unused_pairs_per_epoch"]
    assert json.loads((outcome.run_dir / "config.json").read_text())["sampler"] == "hybrid"
    assert (outcome.run_dir / "checkpoints" / "checkpoint-12" / "sampler_state.json").is_file()
    in_memory, reloaded = (SentenceTransformerEncoder(m, max_seq_length=32) for m in (outcome.model, model))
    assert in_memory.fingerprint() == reloaded.fingerprint()  # so the study may evaluate the model it just trained
    texts = [r.questions["de"] for r in records[:6]]
    np.testing.assert_array_equal(in_memory.encode(texts, "query"), reloaded.encode(texts, "query"))


def test_resumed_run_continues_with_the_same_batches(tiny_model_dir, records, tmp_path):
    config = _config(tiny_model_dir, max_steps=4, save_steps=2, sampler="monolingual")
    full = train(config, records, output_dir=tmp_path / "full")
    partial_dir = tmp_path / "partial"
    train(config, records, output_dir=partial_dir)
    shutil.rmtree(partial_dir / "checkpoints" / "checkpoint-4")
    shutil.rmtree(partial_dir / "final")
    with pytest.raises(UsageError, match="already holds"):
        train(config, records, output_dir=partial_dir)
    resumed = train(config.replace(resume=True), records, output_dir=partial_dir)
    assert resumed.summary["resumed_from"].endswith("checkpoint-2")
    assert [row["plan"] for row in _log(partial_dir)] == [row["plan"] for row in _log(full.run_dir)]
    with pytest.raises(TrainingError, match="other data"):
        train(config.replace(resume=True, seed=7), records, output_dir=partial_dir)


def test_non_finite_loss_names_the_step_and_language_plan(tmp_path, records):
    sampler = LanguageBatchSampler(PairTable(records), 4, kind="monolingual", seed=0)
    callback = RunLogCallback(tmp_path / "log.jsonl", sampler)
    args = TrainingArguments(str(tmp_path))
    callback.on_log(args, TrainerState(global_step=1, epoch=0.05), TrainerControl(), logs={"loss": 1.0})
    plan = sampler.epoch_plan(0).plans[1]
    with pytest.raises(TrainingError, match=f"step 2 \\(language plan {plan}\\)"):
        callback.on_log(args, TrainerState(global_step=2, epoch=0.1), TrainerControl(), logs={"loss": float("nan")})


def _weights(model_dir) -> dict[str, np.ndarray]:
    model = SentenceTransformer(str(model_dir), device="cpu")
    return {name: tensor.detach().numpy().copy() for name, tensor in model.state_dict().items()}


def test_multi_positive_trains_with_translation_groups_and_resumes_to_the_same_weights(tiny_model_dir, records,
                                                                                      tmp_path):
    config = _config(tiny_model_dir, max_steps=4, save_steps=2, batch_size=6, sampler="multi_positive",
                     positives_per_query=3, save_total_limit=None)
    full = train(config, records, output_dir=tmp_path / "full")
    log = _log(full.run_dir)
    assert [row["plan"] for row in log] == ["multi-positive"] * 4 and all(math.isfinite(row["loss"]) for row in log)
    for row in log:  # two questions per batch, each as three consecutive rows (its answer in en, de, es)
        ids = row["examples"]
        assert ids[0] == ids[1] == ids[2] != ids[3] == ids[4] == ids[5]
    partial_dir = copy_without_the_end(full.run_dir, tmp_path / "partial", 4)
    resumed = train(config.replace(resume=True), records, output_dir=partial_dir)
    assert resumed.summary["resumed_from"].endswith("checkpoint-2")
    assert [row["examples"] for row in _log(partial_dir)] == [row["examples"] for row in log]
    expected, got = _weights(full.model_dir), _weights(resumed.model_dir)
    assert expected.keys() == got.keys()
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, atol=1e-5, err_msg=name)
    with pytest.raises(TrainingError, match="other data"):
        train(config.replace(resume=True, positives_per_query=1), records, output_dir=partial_dir)


def test_question_columns_train_like_the_records_they_hold(tiny_model_dir, records, tmp_path):
    config = _config(tiny_model_dir, max_steps=2, sampler="hybrid", save_steps=100)
    from_records = train(config, records, output_dir=tmp_path / "records", final_checkpoint=False)
    from_columns = train(config, InMemoryColumns(records), output_dir=tmp_path / "columns", final_checkpoint=False)
    assert _log(from_columns.run_dir) == _log(from_records.run_dir)
    provenance = [json.loads((run.run_dir / "provenance.json").read_text()) for run in (from_records, from_columns)]
    assert provenance[0]["train_records_sha256"] == provenance[1]["train_records_sha256"]
