"""``polyret evaluate --debias``: extra results per method, transductive labels, and the default reference set."""

from __future__ import annotations

import json

import pytest

from polyret.errors import UsageError
from polyret.evaluation.debiased import unused_articles_reference
from polyret.evaluation.suite import LareqaSpec, SuiteConfig

from .helpers import exit_code, mlqa_qa_file


@pytest.fixture
def mlqa_reference(tmp_path, data_dir):
    return mlqa_qa_file(tmp_path / "ref.jsonl", data_dir)


def test_debias_adds_one_result_per_task_and_method(tiny_model_dir, tmp_path, mlqa_reference, capsys):
    out = tmp_path / "run"
    argv = ["evaluate", "--model", str(tiny_model_dir), "--tasks", "xquad-r", "--no-context", "-o", str(out),
            "--debias", "lsar:2", "--debias", "center", "--debias-fit-on", str(mlqa_reference)]
    assert exit_code(*argv) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(results["results"]) == ["xquad-r", "xquad-r + lsar:2"]
    debias = results["meta"]["debias"]
    assert debias["lsar:2"]["fit"]["reference"]["source"] == str(mlqa_reference)
    assert debias["lsar:2"]["fit"]["rank"] == 2 and debias["lsar:2"]["fit"]["transductive"] is False
    assert "cannot transform" in debias["center"]["skipped"]["xquad-r"]  # MLQA-R lacks some XQuAD-R languages
    assert "center skipped xquad-r" in capsys.readouterr().out


def test_transductive_results_are_labelled(tiny_model_dir, tmp_path):
    out = tmp_path / "run"
    argv = ["evaluate", "--model", str(tiny_model_dir), "--tasks", "xquad-r", "--no-context", "-o", str(out),
            "--debias", "center", "--debias-transductive"]
    assert exit_code(*argv) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(results["results"]) == ["xquad-r", "xquad-r + center (transductive)"]
    assert "xquad-r + center (transductive)" in (out / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("extra", [["--debias-transductive"], ["--debias", "lsar", "--debias-transductive",
                                                               "--debias-fit-on", "x.jsonl"]])
def test_conflicting_debias_options_are_usage_errors(extra, tiny_model_dir, tmp_path, capsys):
    argv = ["evaluate", "--model", str(tiny_model_dir), "--tasks", "xquad-r", "-o", str(tmp_path / "r"), *extra]
    assert exit_code(*argv) == 2 and "debiasing" in capsys.readouterr().err


def test_default_reference_is_the_unevaluated_xquad_articles(data_dir):
    suite = SuiteConfig("s", (LareqaSpec("xquad-r", max_groups=2), LareqaSpec("mlqa-r", max_groups=1)))
    reference = unused_articles_reference(suite, data_dir=data_dir)
    assert reference.description["articles"] == 46 and len(reference.description["languages"]) == 11
    evaluated = {q.text for q in suite.tasks[0].load(data_dir).queries}
    assert evaluated.isdisjoint(text for text, _ in reference.queries)
    with pytest.raises(UsageError, match="every xquad-r article is test data"):
        unused_articles_reference(SuiteConfig("all", (LareqaSpec("xquad-r"),)), data_dir=data_dir)
