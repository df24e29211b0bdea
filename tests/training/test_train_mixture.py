"""Training on several data sets: train() with DataSources, resume, the run record, and `polyret train --data A
--data B` with a prepared corpus and a JSONL file."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from polyret.data.lareqa import load_parallel_qa
from polyret.errors import UsageError
from polyret.sampling import LanguageBatchSampler, PairTable
from polyret.training import TrainConfig, train
from polyret.training.sources import DataSource, as_sources, batch_sampler, pair_tables

from .runs import copy_without_the_end, log_rows


@pytest.fixture(scope="module")
def two_sets(data_dir):
    """Two data sets of different languages and sizes (their ids distinct)."""
    first = load_parallel_qa("xquad-r", languages=["en", "de", "es"], groups=["0"], data_dir=data_dir)[:24]
    second = load_parallel_qa("xquad-r", languages=["en", "zh"], groups=["1"], data_dir=data_dir)[:16]
    return first, second


def _config(model_dir, **changes) -> TrainConfig:
    return TrainConfig(**{"model": str(model_dir), "batch_size": 4, "lr": 2e-3, "warmup_ratio": 0.0,
                          "with_context": False, "save_steps": 2, "sampler": "hybrid", **changes})


def test_one_data_source_draws_what_the_plain_data_draws(two_sets):
    config = TrainConfig(batch_size=4, seed=5)
    plain = LanguageBatchSampler(PairTable(two_sets[0]), 4, seed=5)
    for data in (two_sets[0], [DataSource("only", two_sets[0], weight=3.0)]):
        sources = as_sources(data)
        sampler = batch_sampler(config, pair_tables(config, sources), [s.name for s in sources],
                                [s.weight for s in sources], world_size=1)
        assert sampler.fingerprint == plain.fingerprint
        assert list(sampler.row_batches()) == list(plain.row_batches())


def test_a_mixed_run_logs_and_summarises_batches_per_data_set_and_resumes(tiny_model_dir, two_sets, tmp_path):
    sources = [DataSource("xq0", two_sets[0]), DataSource("xq1", two_sets[1], weight=2.0)]
    config = _config(tiny_model_dir, max_steps=6, data_mixing="temperature", data_temperature=3.0,
                     languages=["en", "de", "es", "zh"])
    full = train(config, sources, output_dir=tmp_path / "full")
    log = log_rows(full.run_dir)
    assert [row["step"] for row in log] == list(range(1, 7))
    for row in log:  # every batch from one data set: its ids are of that set only
        ids = {r.id for r in (two_sets[0] if row["data_set"] == "xq0" else two_sets[1])}
        assert set(row["examples"]) <= ids
    summary = full.summary
    assert summary["data_set_batches"] == {name: Counter(row["data_set"] for row in log)[name]
                                           for name in ("xq0", "xq1")}
    assert sum(summary["data_set_batches"].values()) == 6
    for name in ("xq0", "xq1"):
        assert summary["data_set_plan_counts"][name] == dict(sorted(Counter(
            row["plan"] for row in log if row["data_set"] == name).items()))
    record = json.loads((full.run_dir / "config.json").read_text())
    assert [(d["name"], d["weight"], d["questions"]) for d in record["data_sets"]] == [("xq0", 1.0, 24),
                                                                                         ("xq1", 2.0, 16)]
    provenance = json.loads((full.run_dir / "provenance.json").read_text())
    assert set(provenance["train_records_sha256"]) == {"xq0", "xq1"}
    partial = copy_without_the_end(full.run_dir, tmp_path / "partial", 6)
    resumed = train(config.replace(resume=True), sources, output_dir=partial)
    assert resumed.summary["resumed_from"].endswith("checkpoint-4")
    strip = [{key: row[key] for key in ("step", "plan", "data_set", "examples")} for row in log]
    assert [{key: row[key] for key in ("step", "plan", "data_set", "examples")} for row in log_rows(partial)] == strip
    with pytest.raises(Exception, match="other data"):  # another weight is another batch sequence
        train(config.replace(resume=True), [sources[0], DataSource("xq1", two_sets[1])], output_dir=partial)


def test_a_data_set_that_fills_no_batch_is_named(tiny_model_dir, two_sets, tmp_path):
    sources = [DataSource("xq0", two_sets[0]), DataSource("few", two_sets[1][:2])]
    with pytest.raises(UsageError, match="data set few: hybrid sampling: not one full batch"):
        train(_config(tiny_model_dir, max_steps=2), sources, output_dir=tmp_path / "run")
    with pytest.raises(UsageError, match="weight must be a finite number > 0"):
        DataSource("bad", two_sets[0], weight=0)


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps({"id": r.id, "questions": r.questions, "answers": r.answers}) + "\n"
                            for r in records), encoding="utf-8")
    return path


def test_polyret_train_takes_several_data_sets(tiny_model_dir, two_sets, tmp_path, cli):
    first, second = _write_jsonl(tmp_path / "a.jsonl", two_sets[0]), _write_jsonl(tmp_path / "b.jsonl", two_sets[1])
    assert cli("data", "prepare", second, "-o", tmp_path / "corpus-b").code == 0
    options = ["--model", str(tiny_model_dir), "--batch-size", "4", "--max-steps", "4", "--no-with-context",
               "--save-steps", "100"]
    done = cli("train", *options, "--data", first, "--data", tmp_path / "corpus-b", "--data-weights", "1,3",
               "--data-mixing", "uniform", "--output-dir", tmp_path / "run")
    assert done.code == 0, done.err
    summary = json.loads((tmp_path / "run" / "train_summary.json").read_text())
    assert sum(summary["data_set_batches"].values()) == 4
    for name, batches in summary["data_set_batches"].items():
        assert f"data set {name}: {batches} batches" in done.out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"] == [str(first), str(tmp_path / "corpus-b")] and config["data_weights"] == [1.0, 3.0]


@pytest.mark.parametrize(("flags", "key"), [
    (["--data-weights", "1,-2"], "data_weights"),
    (["--data-weights", "1,2,3"], "data_weights"),
    (["--data-mixing", "temperature", "--data-temperature", "0"], "data_temperature"),
    (["--data-temperature", "3"], "data_temperature"),
    (["--data-mixing", "sizes"], "data_mixing"),
])
def test_a_bad_weight_or_temperature_is_one_clear_error(flags, key, tmp_path, cli):
    done = cli("train", "--model", "m", "--data", "xquad-r", "--data", "mlqa-r", *flags,
               "--output-dir", tmp_path / "run")
    assert done.code == 2 and len(done.error_lines) == 1 and f"'{key}'" in done.err, done.err
    assert not (tmp_path / "run").exists()


def test_mixing_options_at_their_defaults_leave_the_identity_unchanged():
    identity = TrainConfig(model="m").identity()
    assert not {"data_weights", "data_mixing", "data_temperature"} & set(identity)
    assert identity["data"] == ""
    changed = TrainConfig(model="m", data=["a", "b"], data_mixing="temperature", data_temperature=3.0).identity()
    assert (changed["data_mixing"], changed["data_temperature"], changed["data"]) == ("temperature", 3.0, ["a", "b"])
    with pytest.raises(UsageError, match="'data'"):
        TrainConfig.from_dict({"data": ["a", "a"]})
