"""DDP on the CPU: two gloo processes (``torchrun``) train the tiny model with hybrid batches.

The worker (``ddp_worker.py``) records what each rank's collator actually received and the loss each rank computed.
The checks: at every step both ranks follow the same language plan (the one logged), hold disjoint examples, the
gathered loss of step 1 equals the single-process loss over the concatenated global batch, rank 0 alone writes the
run directory, a resumed run hands every rank the batches it had in the uninterrupted run, a SIGTERM that
reaches one rank stops both at the same step with one complete checkpoint, and multi-positive batches put whole
translation groups on each rank, with the gathered multi-positive loss equal to the single-process one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from polyret.training.checkpoints import latest_complete_checkpoint
from polyret.training.losses import MultiPositiveRankingLoss
from polyret.training.run_log import SAMPLER_STATE_NAME

from .ddp_worker import BATCH_SIZE, POSITIVES, SIGNAL_STEP

WORKER = Path(__file__).with_name("ddp_worker.py")
LANGS = ("de", "en", "es")
WORLD_SIZE = 2
STEPS = 4

pytestmark = pytest.mark.slow


def _no_dropout_copy(model_dir: Path, target: Path) -> Path:
    """The tiny model without dropout, so the training forward pass equals a plain forward pass."""
    shutil.copytree(model_dir, target)
    config_path = target / "config.json"
    config = json.loads(config_path.read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    config_path.write_text(json.dumps(config))
    return target


def _records(model_dir: Path, count: int = 24) -> list[dict[str, Any]]:
    """Aligned records of distinct texts drawn from the tiny model's own vocabulary (no unknown tokens)."""
    vocab = json.loads((model_dir / "tokenizer.json").read_text())["model"]["vocab"]
    words = sorted(w for w in vocab if w.isalpha() and not w.startswith("##") and len(w) > 2)
    rng = random.Random(0)

    def text() -> str:
        return " ".join(rng.choices(words, k=8))

    return [{"id": f"q{i}", "questions": {lang: text() for lang in LANGS}, "answers": {lang: text() for lang in LANGS}}
            for i in range(count)]


@pytest.fixture(scope="module")
def ddp(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 4-step two-rank run (checkpoints at 2 and 4), the same run resumed from checkpoint-2, and a run that
    rank 1 alone receives SIGTERM in."""
    root = tmp_path_factory.mktemp("ddp")
    model = _no_dropout_copy(tiny_model_dir, root / "model")
    records = _records(model)
    records_path = root / "records.json"
    records_path.write_text(json.dumps(records))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={WORLD_SIZE}",
               str(WORKER), str(model), str(records_path), str(root), str(STEPS)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    runs = {run: [json.loads((root / f"{run}-rank{rank}.json").read_text()) for rank in range(WORLD_SIZE)]
            for run in ("full", "resumed", "terminated", "multi")}
    return {"model": model, "records": records, "run_dir": root / "full", **runs}


def _pairs(records: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(query text, passage text) -> (alignment id, query language, passage language)."""
    return {(r["questions"][x], r["answers"][y]): (r["id"], x, y) for r in records for x in LANGS for y in LANGS}


def _trained(rank_record: dict[str, Any]) -> list[list[list[str]]]:
    """The batches a rank trained on: its loader collates one batch ahead, so drop the one past the last step."""
    return rank_record["batches"][: len(rank_record["losses"])]


def _log(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


def test_each_rank_gets_one_batch_of_the_configured_size_per_step(ddp):
    for rank_record in ddp["full"]:
        assert rank_record["world_size"] == WORLD_SIZE
        assert [len(batch) for batch in _trained(rank_record)] == [BATCH_SIZE] * STEPS


def test_both_ranks_follow_the_logged_language_plan_with_disjoint_examples(ddp):
    pairs = _pairs(ddp["records"])
    logged_plans = [row["plan"] for row in _log(ddp["run_dir"])]
    for step, plan in enumerate(logged_plans):
        per_rank = [[pairs[tuple(pair)] for pair in _trained(rank)[step]] for rank in ddp["full"]]
        global_batch = [ref for batch in per_rank for ref in batch]
        assert {f"{x}-{y}" for _, x, y in global_batch} == {plan}, f"step {step + 1} mixes plans"
        ids = [alignment_id for alignment_id, _, _ in global_batch]
        assert len(set(ids)) == len(ids) == WORLD_SIZE * BATCH_SIZE, f"step {step + 1}: an id on two ranks"


def _single_process_loss(model_dir: Path, global_batch: list[list[str]], loss_class: type,
                         labels: torch.Tensor | None = None) -> float:
    """The loss of one process over the whole (query, passage) batch."""
    model = SentenceTransformer(str(model_dir), device="cpu")
    with torch.no_grad():
        queries = model.encode([q for q, _ in global_batch], prompt_name="query", convert_to_tensor=True)
        passages = model.encode([p for _, p in global_batch], prompt_name="passage", convert_to_tensor=True)
        return float(loss_class(model).compute_loss_from_embeddings([queries, passages], labels))


def test_gathered_loss_equals_single_process_loss_over_the_global_batch(ddp):
    global_batch = [pair for rank in ddp["full"] for pair in rank["batches"][0]]
    expected = _single_process_loss(ddp["model"], global_batch, MultipleNegativesRankingLoss)
    rank_losses = [rank["losses"][0] for rank in ddp["full"]]
    assert sum(rank_losses) / WORLD_SIZE == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert _log(ddp["run_dir"])[0]["loss"] == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_rank_zero_alone_writes_the_run_directory(ddp):
    run_dir = ddp["run_dir"]
    assert [row["step"] for row in _log(run_dir)] == list(range(1, STEPS + 1))  # one line per step, not per rank
    assert json.loads((run_dir / "config.json").read_text())["world_size"] == WORLD_SIZE
    assert json.loads((run_dir / "train_summary.json").read_text())["steps"] == STEPS
    checkpoint = run_dir / "checkpoints" / "checkpoint-2"
    assert json.loads((checkpoint / SAMPLER_STATE_NAME).read_text())["position"] == 2 * WORLD_SIZE
    assert sorted(p.name for p in checkpoint.glob("rng_state*.pth")) == ["rng_state_0.pth", "rng_state_1.pth"]
    assert not list(run_dir.rglob(".*"))  # no staging or temporary files left by a second writer
    SentenceTransformer(str(run_dir / "final"), device="cpu")


def test_resumed_run_gives_every_rank_its_remaining_batches(ddp):
    for full, resumed in zip(ddp["full"], ddp["resumed"], strict=True):
        assert _trained(resumed) == _trained(full)[2:]
    assert [row["plan"] for row in _log(ddp["run_dir"].with_name("resumed"))] == [
        row["plan"] for row in _log(ddp["run_dir"])
    ]


def test_sigterm_on_one_rank_stops_every_rank_at_the_same_step(ddp):
    run_dir = ddp["run_dir"].with_name("terminated")
    checkpoint = run_dir / "checkpoints" / f"checkpoint-{SIGNAL_STEP}"
    for rank, record in enumerate(ddp["terminated"]):
        assert len(record["losses"]) == SIGNAL_STEP, f"rank {rank} trained past the signalled step"
        assert record["interrupted"] is not None, f"rank {rank} did not stop"
        assert record["interrupted"]["exit_code"] == 128 + signal.SIGTERM
        assert record["interrupted"]["checkpoint"] == str(checkpoint)
        assert f"stopped by SIGTERM after step {SIGNAL_STEP}" in record["interrupted"]["message"]
    assert latest_complete_checkpoint(run_dir / "checkpoints") == checkpoint
    assert sorted(p.name for p in checkpoint.glob("rng_state*.pth")) == ["rng_state_0.pth", "rng_state_1.pth"]
    assert [row["step"] for row in _log(run_dir) if "loss" in row] == list(range(1, SIGNAL_STEP + 1))
    assert not (run_dir / "final").exists()


def test_multi_positive_ranks_hold_whole_translation_groups_of_distinct_examples(ddp):
    pairs = _pairs(ddp["records"])
    for step in range(STEPS):
        groups = []
        for rank in ddp["multi"]:
            batch = [pairs[tuple(pair)] for pair in _trained(rank)[step]]
            groups += [batch[start : start + POSITIVES] for start in range(0, BATCH_SIZE, POSITIVES)]
        for group in groups:  # one question in one language, its answer in POSITIVES languages
            assert len({(alignment_id, x) for alignment_id, x, _ in group}) == 1
            assert len({y for _, _, y in group}) == POSITIVES
        ids = [group[0][0] for group in groups]
        assert len(set(ids)) == len(ids) == WORLD_SIZE * BATCH_SIZE // POSITIVES, f"step {step + 1}"


def test_gathered_multi_positive_loss_equals_single_process_loss_over_the_global_batch(ddp):
    pairs = _pairs(ddp["records"])
    global_batch = [pair for rank in ddp["multi"] for pair in rank["batches"][0]]
    ids = [pairs[tuple(pair)][0] for pair in global_batch]
    labels = torch.tensor([sorted(set(ids)).index(alignment_id) for alignment_id in ids])
    expected = _single_process_loss(ddp["model"], global_batch, MultiPositiveRankingLoss, labels)
    rank_losses = [rank["losses"][0] for rank in ddp["multi"]]
    assert sum(rank_losses) / WORLD_SIZE == pytest.approx(expected, rel=1e-5, abs=1e-6)
