"""`polyret evaluate` end to end: the quick suite with the tiny model, option errors, and `compare`."""

from __future__ import annotations

import json
import re

import pytest

from polyret.evaluation.report import write_evaluation_report
from polyret.evaluation.result import TaskResult


def test_quick_suite_writes_results_report_and_figures(tiny_model_dir, tmp_path, cli):
    out = tmp_path / "run"
    captured = cli("evaluate", "--model", tiny_model_dir, "--suite", "quick", "-o", out)
    assert captured.code == 0, captured.err
    stdout = captured.out
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(results["results"]) == ["xquad-r", "mlqa-r", "clsd-wmt19", "clsd-wmt19-mt", "ntrex128", "tico19",
                                        "tatoeba"]
    # standard error is no terminal here: one plain stage line per task instead of a live bar
    stages = [line.split(" (")[0] for line in captured.err.splitlines() if line.startswith(("task ", "all "))]
    assert stages == [f"task {n}/7: {task}" for n, task in enumerate(results["results"], 1)] + ["all 7 tasks done"]
    assert results["meta"]["suite"] == "quick" and results["meta"]["texts_encoded"] > 0
    report = (out / "report.md").read_text(encoding="utf-8")
    for task, result in results["results"].items():
        main_score = result["scores"][result["main"]]
        assert f"| {task} | {result['main']} | {main_score:.4f} |" in report
        assert f"{main_score:.4f}" in stdout
        for key, value in result["scores"].items():
            assert re.search(rf"^\| {re.escape(key)} \| {value:.4f} \|$", report, re.M), (task, key)
    assert {p.name for p in out.glob("*.png")} >= {"xquad-r-map.png", "ntrex128-p-at-1.png", "ntrex128-bias.png"}


def test_a_partial_beir_task_is_a_usage_error(tiny_model_dir, tmp_path, cli):
    result = cli("evaluate", "--model", tiny_model_dir, "--beir-corpus", tmp_path / "c.jsonl")
    assert result.code == 2 and "--beir-topics" in result.err


def test_unknown_task_is_a_usage_error(tiny_model_dir, cli):
    result = cli("evaluate", "--model", tiny_model_dir, "--tasks", "nope")
    assert result.code == 2 and "no task nope" in result.err


def test_compare_prints_a_paired_test_per_shared_score(tmp_path, cli):
    for name, values in (("a", [1.0, 1.0, 0.0, 1.0]), ("b", [0.0, 1.0, 0.0, 0.0])):
        per_query = {"acc": {f"{i}|de-fr": v for i, v in enumerate(values)}}
        result = TaskResult("clsd-wmt19", "acc", {"acc": sum(values) / 4}, per_query=per_query)
        write_evaluation_report({"clsd-wmt19": result}, tmp_path / name, model_name=f"model-{name}")
    compared = cli("evaluate", "compare", tmp_path / "a", tmp_path / "b", "--resamples", "200", "--json",
                   tmp_path / "cmp.json")
    assert compared.code == 0, compared.err
    out = compared.out
    assert "model-a" in out and "+0.5000" in out
    (row,) = json.loads((tmp_path / "cmp.json").read_text(encoding="utf-8"))["comparisons"]
    assert (row["task"], row["score"], row["n_items"]) == ("clsd-wmt19", "acc", 4)
    assert (row["score_a"], row["score_b"], row["difference"]) == pytest.approx((0.75, 0.25, 0.5))
    assert 0.0 < row["p_value"] <= 1.0 and row["ci_low"] <= 0.5 <= row["ci_high"]
    assert row["p_holm"] == row["p_value"] and row["mde"] > 0.5  # one row: nothing to adjust; 4 items detect little


def test_compare_without_shared_scores_is_a_usage_error(tmp_path, cli):
    write_evaluation_report({}, tmp_path / "a", model_name="a")
    write_evaluation_report({}, tmp_path / "b", model_name="b")
    assert cli("evaluate", "compare", tmp_path / "a", tmp_path / "b").code == 2


@pytest.mark.parametrize("argv", [["evaluate"], ["evaluate", "--suite", "quick"]])
def test_evaluate_without_a_model_is_a_usage_error(argv, cli):
    result = cli(*argv)
    assert result.code == 2 and "--model" in result.err
