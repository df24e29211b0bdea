"""The study's ``debias:`` key: rows "<arm> + <method>" from the arm's stored embeddings, reused on a rerun."""

from __future__ import annotations

import json

import yaml

from .helpers import exit_code, mlqa_qa_file


def _study_file(tmp_path, data_dir, model_dir, **keys) -> str:
    """A small study config (MLQA-R reference questions, 6 items per task) with ``keys`` set, written to YAML."""
    config = {
        "name": "debias", "base_model": str(model_dir), "significance_resamples": 200,
        "data": {"folds": 48, "test_fold": 0, "train_qa": str(mlqa_qa_file(tmp_path / "train.jsonl", data_dir))},
        "evaluation": {"in_domain": ["xquad-r"], "domain_shift": ["ntrex128"], "max_items": 6,
                       "with_context": False},
    } | keys
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def _run(config: str, out) -> dict:
    """Run the study into ``out`` and return its results.json."""
    assert exit_code("experiment", "--config", config, "--output-dir", str(out)) == 0
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_debias_rows_join_the_study_tables(tiny_model_dir, tmp_path, data_dir):
    path = _study_file(tmp_path, data_dir, tiny_model_dir, arms=["zero-shot"], debias=["lsar:2", "center"],
                       training={"max_steps": 1})
    out = tmp_path / "study"
    summary = _run(path, out)
    rows = {row["arm"]: row for row in summary["table"]["rows"]}
    assert list(rows) == ["zero-shot", "zero-shot + lsar:2", "zero-shot + center"]
    assert rows["zero-shot + lsar:2"]["xquad-r:multi.map"] != rows["zero-shot"]["xquad-r:multi.map"]
    # the reference (MLQA-R) lacks languages of both tasks: centering is skipped there, with the reason kept
    skipped = summary["arms"]["zero-shot+center"]["info"]["skipped_tasks"]
    assert set(skipped) == {"xquad-r", "ntrex128"} and rows["zero-shot + center"]["xquad-r:multi.map"] is None
    assert "zero-shot + lsar:2" in summary["bias"]["xquad-r"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| zero-shot + lsar:2 |" in report and "Post-hoc debiasing vs the same arm" in report
    lsar_vs_arm = summary["debias_comparisons"]["zero-shot + lsar:2"]
    assert set(lsar_vs_arm) == {"xquad-r", "ntrex128"} and lsar_vs_arm["xquad-r"]["n_queries"] > 0
    assert summary["debias_comparisons"]["zero-shot + center"] == {}  # skipped everywhere: nothing to compare

    again = _run(path, out)
    assert again["arms"]["zero-shot+lsar:2"]["info"]["status"] == "reused"
    assert again["table"] == summary["table"]


def test_reference_articles_cap_keeps_the_first_training_articles(data_dir):
    from polyret.experiments.config import load_config
    from polyret.experiments.debias_rows import study_reference

    config = load_config(preset="standard")
    config.debias_reference_articles = None
    full = study_reference(config, data_dir=data_dir)
    config.debias_reference_articles = 2
    capped = study_reference(config, data_dir=data_dir)
    assert capped.description["articles"] == 2 < full.description["articles"]
    assert 0 < len(capped.queries) < len(full.queries) / 5
    assert set(capped.queries) <= set(full.queries) and set(capped.passages) <= set(full.passages)


def test_trained_arm_rows_and_a_study_copied_without_models(tiny_model_dir, tmp_path, data_dir):
    """A trained arm's rows read its own model; on a copy of the study without models (results only, as committed),
    an arm whose rows are missing is trained again, and rows already stored are reused without any model."""
    import shutil

    path = _study_file(tmp_path, data_dir, tiny_model_dir, arms=["mixed"], debias=["center"], seeds=[5],
                       training={"max_steps": 1, "batch_size": 4})
    out = tmp_path / "study"
    first = _run(path, out)["arms"]
    assert first["mixed-s5+center"]["info"]["run_dir"].startswith("arms/mixed-s5+center-")

    copied = tmp_path / "copied"
    shutil.copytree(out, copied, ignore=shutil.ignore_patterns("train"))
    reused = _run(path, copied)["arms"]
    assert reused["mixed-s5"]["info"]["status"] == reused["mixed-s5+center"]["info"]["status"] == "reused"

    shutil.rmtree(next((copied / "arms").glob("mixed-s5+center-*")))
    redone = _run(path, copied)["arms"]
    assert redone["mixed-s5"]["info"]["status"] == "trained"
    assert redone["mixed-s5+center"]["info"]["status"] == "debiased"
