"""``polyret evaluate --debias``: extra results per method, transductive labels, and the default reference set."""

from __future__ import annotations

import json

import pytest

from polyret.debias import parse_specs
from polyret.errors import UsageError
from polyret.evaluation.debiased import reference_articles, unused_articles_reference
from polyret.evaluation.suite import LareqaSpec, SuiteConfig

from .helpers import exit_code, mlqa_qa_file


@pytest.fixture
def mlqa_reference(tmp_path, data_dir):
    return mlqa_qa_file(tmp_path / "ref.jsonl", data_dir)


def test_debias_adds_one_result_per_task_and_method(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["evaluate", "--model", str(tiny_model_dir), "--suite", "quick", "--tasks", "xquad-r,clsd-wmt19",
            "--no-context", "-o", str(out), "--debias", "lsar:2", "--debias", "center", "--debias", "shift:0.5"]
    assert exit_code(*argv) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(results["results"]) == ["xquad-r", "clsd-wmt19", "xquad-r + lsar:2", "clsd-wmt19 + lsar:2",
                                        "xquad-r + center", "xquad-r + shift:0.5"]
    shifted, plain = results["results"]["xquad-r + shift:0.5"]["scores"], results["results"]["xquad-r"]["scores"]
    assert shifted["multi.map"] != plain["multi.map"]
    debias = results["meta"]["debias"]
    reference = debias["lsar:2"]["fit"]["reference"]
    assert reference["source"] == "xquad-r articles not evaluated"
    assert reference["articles"] == reference_articles(parse_specs(["lsar:2", "center", "shift:0.5"]))
    assert debias["lsar:2"]["fit"]["rank"] == 2 and debias["lsar:2"]["fit"]["transductive"] is False
    assert "has no fr" in debias["center"]["skipped"]["clsd-wmt19"]  # XQuAD-R has no French
    assert debias["shift:0.5"]["fit"]["scale"] == 0.5 and "clsd-wmt19" in debias["shift:0.5"]["skipped"]
    printed = capsys.readouterr().out
    assert "center skipped clsd-wmt19" in printed and "debias: encoding" in printed
    report = (out / "report.md").read_text(encoding="utf-8")
    section = report[report.index("## Post-hoc debiasing"):]
    assert f"| lsar:2 | xquad-r articles not evaluated, {reference['articles']} articles | {reference['texts']} |" \
        in section
    assert f"- center skipped clsd-wmt19: {debias['center']['skipped']['clsd-wmt19']}" in section


def test_missing_languages_are_refused_before_the_model_is_read(tmp_path, mlqa_reference, capsys):
    argv = ["evaluate", "--model", str(tmp_path / "no-such-model"), "--tasks", "xquad-r", "-o", str(tmp_path / "r"),
            "--debias", "center", "--debias-fit-on", str(mlqa_reference)]
    assert exit_code(*argv) == 2
    error = capsys.readouterr().err
    assert "center works per language" in error and "lack de, el, ru, th, tr, vi, zh" in error
    assert not (tmp_path / "r").exists()


def test_transductive_results_are_labelled(tiny_model_dir, tmp_path):
    out = tmp_path / "run"
    argv = ["evaluate", "--model", str(tiny_model_dir), "--tasks", "xquad-r", "--no-context", "-o", str(out),
            "--debias", "center", "--debias-transductive"]
    assert exit_code(*argv) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(results["results"]) == ["xquad-r", "xquad-r + center (transductive)"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "xquad-r + center (transductive)" in report
    assert "| center (transductive) | each task's own test pool (transductive) |" in report
    assert "No method skipped a task." in report


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
    first = unused_articles_reference(suite, data_dir=data_dir, articles=3)
    assert first.description["articles"] == 3 and set(first.queries) < set(reference.queries)
    with pytest.raises(UsageError, match="every xquad-r article is test data"):
        unused_articles_reference(SuiteConfig("all", (LareqaSpec("xquad-r"),)), data_dir=data_dir)
