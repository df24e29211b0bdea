"""``polyret train`` from the command line: rank 0's summary, options reaching the trainer, a prepared corpus."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from polyret.cli import main
from polyret.data.lareqa import load_parallel_qa
from polyret.training import trainer

SUMMARY = {"wall_time_s": 1.0, "plan_counts": {"de-de": 2}, "unused_pairs_per_epoch": [0]}


@pytest.mark.parametrize(("rank", "printed"), [(None, True), ("0", True), ("1", False)])
def test_only_rank_zero_prints_the_summary(rank, printed, tmp_path, monkeypatch, capsys) -> None:
    outcome = SimpleNamespace(steps=2, summary=SUMMARY, model_dir=tmp_path / "final")
    monkeypatch.setattr(trainer, "train", lambda *args, **kwargs: outcome)
    if rank is None:
        monkeypatch.delenv("RANK", raising=False)
    else:
        monkeypatch.setenv("RANK", rank)
    main(["train", "--model", "m", "--data", "xquad-r", "--languages", "en,de", "--output-dir", str(tmp_path)])
    assert ("trained 2 steps" in capsys.readouterr().out) is printed


def test_the_multi_positive_sampler_is_chosen_from_the_command_line(tmp_path, monkeypatch, capsys) -> None:
    received = []
    outcome = SimpleNamespace(steps=2, summary=SUMMARY, model_dir=tmp_path / "final")
    monkeypatch.setattr(trainer, "train", lambda config, *args, **kwargs: received.append(config) or outcome)
    arguments = ["train", "--model", "m", "--data", "xquad-r", "--languages", "en,de", "--sampler", "multi_positive"]
    main([*arguments, "--batch-size", "8", "--output-dir", str(tmp_path / "run")])
    assert (received[0].sampler, received[0].batch_size, received[0].positives_per_query) == ("multi_positive", 8, 4)
    with pytest.raises(SystemExit) as exit_info:  # 10 pairs cannot hold whole questions of 4 translations
        main([*arguments, "--batch-size", "10", "--output-dir", str(tmp_path / "other")])
    assert exit_info.value.code == 2 and "positives_per_query" in capsys.readouterr().err


def test_the_training_device_reaches_the_trainer(tmp_path, monkeypatch) -> None:
    received = []
    outcome = SimpleNamespace(steps=2, summary=SUMMARY, model_dir=tmp_path / "final")
    monkeypatch.setattr(trainer, "train", lambda *args, **kwargs: received.append(kwargs["device"]) or outcome)
    base = ["train", "--model", "m", "--data", "xquad-r", "--languages", "en,de"]
    main([*base, "--output-dir", str(tmp_path / "a")])
    main([*base, "--device", "cpu", "--output-dir", str(tmp_path / "b")])
    assert received == ["auto", "cpu"]
    assert trainer._on_cpu("cpu") and trainer._precision("auto", on_cpu=True) == "fp32"


def test_every_training_option_is_a_flag(tmp_path, monkeypatch) -> None:
    import dataclasses

    from typer.testing import CliRunner

    from polyret.cli import app
    from polyret.training import TrainConfig

    help_text = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "300"}).output
    for field in dataclasses.fields(TrainConfig):
        assert f"--{field.name.replace('_', '-')}" in help_text, field.name
    received = []
    outcome = SimpleNamespace(steps=2, summary=SUMMARY, model_dir=tmp_path / "final")
    monkeypatch.setattr(trainer, "train", lambda config, *args, **kwargs: received.append(config) or outcome)
    main(["train", "--model", "m", "--data", "xquad-r", "--languages", "en, de", "--symmetric", "--weighting",
          "proportional", "--warmup-ratio", "0.2", "--no-with-context", "--output-dir", str(tmp_path / "run")])
    config = received[0]
    assert (config.symmetric, config.weighting, config.warmup_ratio, config.with_context) == (
        True, "proportional", 0.2, False)
    assert config.languages == ["en", "de"] and config.lr == TrainConfig().lr  # not given: the default stays


def test_a_prepared_corpus_trains_with_the_batches_of_its_jsonl_file(tiny_model_dir, data_dir, tmp_path, cli) -> None:
    records = load_parallel_qa("xquad-r", languages=["en", "de", "es"], groups=["0"], data_dir=data_dir)[:24]
    source = tmp_path / "train.jsonl"
    source.write_text("".join(json.dumps({"id": r.id, "questions": r.questions, "answers": r.answers}) + "\n"
                              for r in records), encoding="utf-8")
    assert cli("data", "prepare", source, "-o", tmp_path / "corpus").code == 0
    options = ["--model", str(tiny_model_dir), "--batch-size", "8", "--max-steps", "3", "--no-with-context",
               "--sampler", "hybrid"]
    for data, run in ((source, "from-file"), (tmp_path / "corpus", "from-corpus")):
        assert cli("train", *options, "--data", data, "--output-dir", tmp_path / run).code == 0
    logs = [[{key: row[key] for key in ("step", "plan", "loss")}
             for row in map(json.loads, (tmp_path / run / "train_log.jsonl").read_text().splitlines())]
            for run in ("from-file", "from-corpus")]
    assert len(logs[0]) == 3 and logs[0] == logs[1]

