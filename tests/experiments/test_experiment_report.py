"""The study's analysis, verdict and report on synthetic arm results (no model involved)."""

from __future__ import annotations

import json
import re

import pytest

from polyret.experiments import analysis
from polyret.experiments.config import ExperimentConfig
from polyret.experiments.figures import draw_heatmaps
from polyret.experiments.report import render_markdown, summarise, trained_arm_comparisons, write_outputs
from polyret.experiments.task_files import TaskFileEntry

from .synthetic import arm_result

PROVENANCE = {
    "command": "polyret experiment --preset quick",
    "git_revision": "abc",
    "wall_time_s": 1.0,
    "hardware": {},
    "packages": {},
    "data_checksums": {"xquad-r/en.json": "f" * 64},
}
TRAIN_INPUTS = {"questions": 10, "languages": ["de", "en"]}


def study(hybrid_shift: float, baseline_shift: float, seeds: tuple[int, ...] = (1,)) -> list:
    results = [arm_result("zero-shot", None, seed=None, in_domain=0.5, shift=0.5)]
    for seed in seeds:
        results += [
            arm_result("mixed", "mixed", seed=seed, in_domain=0.6, shift=baseline_shift),
            arm_result("monolingual", "monolingual", seed=seed, in_domain=0.6, shift=baseline_shift),
            arm_result("hybrid", "hybrid", seed=seed, in_domain=0.62, shift=hybrid_shift, alpha=0.5),
        ]
    return results


def config(seeds: tuple[int, ...] = (1,)) -> ExperimentConfig:
    cfg = ExperimentConfig(
        name="synthetic",
        seeds=list(seeds),
        arms=["zero-shot", "mixed", "monolingual", "hybrid"],
        significance_resamples=500,
    )
    cfg.evaluation.domain_shift = ["ntrex128", "tico19"]
    return cfg


def summary_of(hybrid_shift: float, baseline_shift: float, seeds: tuple[int, ...] = (1,)) -> dict:
    return summarise(
        config(seeds), study(hybrid_shift, baseline_shift, seeds), train_inputs=TRAIN_INPUTS, provenance=PROVENANCE
    )


@pytest.mark.parametrize(("hybrid_shift", "baseline_shift", "answer"), [(0.9, 0.5, "yes"), (0.3, 0.7, "no")])
def test_verdict_follows_the_numbers(hybrid_shift: float, baseline_shift: float, answer: str) -> None:
    verdict = summary_of(hybrid_shift, baseline_shift)["verdict"]
    assert verdict["answer"] == answer
    outcomes = verdict["better"] + verdict["worse"] + verdict["equivalent"] + verdict["inconclusive"]
    assert outcomes == verdict["comparisons"] == 4
    assert f"Answer: {answer}." in verdict["text"]


def test_robustness_deltas_are_consistent_with_scores() -> None:
    summary = summary_of(0.8, 0.5)
    rob = summary["robustness"]
    for tasks in rob.values():
        for task, figures in tasks.items():
            assert figures["delta_vs_zero_shot"] == pytest.approx(figures["score"] - rob["zero-shot"][task]["score"])
    rows = {r["arm"]: r for r in summary["table"]["rows"]}
    assert rob["hybrid"]["ntrex128"]["in_domain_delta_vs_zero_shot"] == pytest.approx(
        rows["hybrid"]["xquad-r:multi.map"] - rows["zero-shot"]["xquad-r:multi.map"]
    )


def test_several_seeds_use_the_hierarchical_bootstrap_and_show_seed_sds(tmp_path) -> None:
    one = summary_of(0.8, 0.5)
    three = summary_of(0.8, 0.5, seeds=(1, 2, 3))
    cell_one, cell_three = one["comparisons"]["mixed"]["ntrex128"], three["comparisons"]["mixed"]["ntrex128"]
    assert (cell_one["method"], cell_one["n_seeds"], cell_one["arm_sd"]) == ("randomization", 1, None)
    assert (cell_three["method"], cell_three["n_seeds"]) == ("hierarchical bootstrap", 3)
    assert cell_three["arm_sd"] > 0 and cell_one["n_queries"] == cell_three["n_queries"] == 200
    zero = three["comparisons"]["zero-shot"]["ntrex128"]  # trained once: paired with each hybrid seed
    assert zero["n_seeds"] == 3 and zero["baseline_sd"] is None
    row = next(r for r in three["table"]["rows"] if r["arm"] == "hybrid")
    assert row["sd"]["ntrex128:p@1"] > 0
    report = write_outputs(tmp_path, three)["report"].read_text(encoding="utf-8")
    assert re.search(r"\| hybrid \| 3 \| \d\.\d{4} ± \d\.\d{4} \|", report)
    assert re.search(r"\| hybrid \| \d+\.\d ± \d+\.\d \|", report)  # the bias table too


def test_holm_families_and_outcomes() -> None:
    comparisons = summary_of(0.9, 0.5)["comparisons"]
    verdict_cells = [c for cells in comparisons.values() for c in cells.values() if c["family"] == "verdict"]
    assert {(b, t) for b, cells in comparisons.items() for t, c in cells.items() if c["family"] == "verdict"} == {
        (b, t) for b in ("mixed", "monolingual") for t in ("ntrex128", "tico19")}
    assert all(c["p_holm"] >= c["p"] for c in verdict_cells)
    assert all(c["outcome"] == "better" for c in verdict_cells)
    assert comparisons["zero-shot"]["xquad-r"]["family"] == "other"
    assert comparisons["mixed"]["ntrex128"]["margin"] == 0.01 and comparisons["mixed"]["ntrex128"]["mde"] > 0


def test_per_query_difference_lies_in_its_interval() -> None:
    cell = summary_of(0.8, 0.5)["comparisons"]["mixed"]["ntrex128"]
    low, high = cell["ci_queries"]
    assert low <= cell["diff_queries"] <= high
    assert cell["diff_queries"] == pytest.approx(0.3, abs=0.1)  # hybrid's shift score 0.8 against 0.5


def test_alpha_curve_needs_a_sweep() -> None:
    results = study(0.8, 0.5)
    assert analysis.alpha_curve(analysis.group_by_label(results), ["ntrex128"]) == {}
    results.append(arm_result("hybrid@1", "hybrid", seed=1, in_domain=0.6, shift=0.6, alpha=1.0))
    curve = analysis.alpha_curve(analysis.group_by_label(results), ["ntrex128"])
    assert list(curve["ntrex128"]) == ["0.5", "1"]


def test_report_numbers_are_those_of_results_json(tmp_path) -> None:
    summary = summary_of(0.8, 0.5)
    paths = write_outputs(tmp_path, summary)
    stored = json.loads(paths["results"].read_text(encoding="utf-8"))
    report = paths["report"].read_text(encoding="utf-8")
    assert report == render_markdown(stored)
    for row in stored["table"]["rows"]:
        line = next(x for x in report.splitlines() if x.startswith(f"| {row['arm']} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        expected = [f"{row[c['id']]:.4f}" for c in stored["table"]["columns"]]
        assert cells[2:] == expected
    for name in re.findall(r"\]\((figures/[^)]+\.png)\)", report):
        assert (tmp_path / name).stat().st_size > 0


def test_report_keeps_each_arms_train_and_eval_time_when_arms_are_reused(tmp_path) -> None:
    results = study(0.8, 0.5)
    results[0].info.update(status="reused", eval_wall_s=5.0)  # zero-shot: evaluated only
    for number, result in enumerate(results[1:], 1):
        result.info.update(status="reused", train_wall_s=100.0 * number, eval_wall_s=7.0)
    summary = summarise(config(), results, train_inputs=TRAIN_INPUTS, provenance=PROVENANCE)
    report = write_outputs(tmp_path, summary)["report"].read_text(encoding="utf-8")
    assert "wall time of this invocation: 1 s" in report
    assert "whenever they ran (reused arms keep their times): 626 s" in report  # 5 + 100 + 200 + 300 + 3 x 7
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in report.splitlines() if line.startswith("| ") and "| reused |" in line}
    assert rows["zero-shot"][3:] == ["reused", "", "5"]
    assert rows["hybrid-s1"][3:] == ["reused", "300", "7"]


def test_figure_names_are_plain_file_names_so_markdown_renders_them(tmp_path) -> None:
    matrix = {"de": {"de": 0.5, "en": 0.4}, "en": {"de": 0.3, "en": 0.6}}
    files = draw_heatmaps({"use-multilingual (zero-shot)": matrix, "hybrid@0.25": matrix}, "xquad-r", tmp_path)
    assert files == {"use-multilingual (zero-shot)": "heatmap-xquad-r-use-multilingual-zero-shot.png",
                     "hybrid@0.25": "heatmap-xquad-r-hybrid-at-0.25.png"}
    assert all((tmp_path / name).stat().st_size > 0 for name in files.values())


def test_a_task_file_counts_where_its_kind_says() -> None:
    with_file = config()
    with_file.evaluation.domain_shift = ["ntrex128"]
    with_file.evaluation.task_files = [TaskFileEntry("mine/medical.jsonl", "domain-shift", name="tico19")]
    summary = summarise(with_file, study(0.8, 0.5), train_inputs=TRAIN_INPUTS, provenance=PROVENANCE)
    registered = summary_of(0.8, 0.5)
    assert "tico19" in summary["robustness"]["hybrid"]
    assert summary["robustness"] == registered["robustness"] and summary["verdict"]["answer"] == "yes"
    assert summary["table"]["columns"] == registered["table"]["columns"]


def test_report_opens_with_a_summary_whose_counts_and_forest_plot_follow_the_comparisons(tmp_path) -> None:
    summary = summary_of(0.3, 0.7)
    report = write_outputs(tmp_path, summary)["report"].read_text(encoding="utf-8")
    head = report.split("## Answer")[0]
    verdict = summary["verdict"]
    assert "## Summary" in head and f"**Answer: {verdict['answer']}**" in head
    counts_row = next(line for line in head.splitlines() if line.startswith(f"| {verdict['comparisons']} |"))
    assert [cell.strip() for cell in counts_row.strip("|").split("|")][1:5] == [
        str(verdict[name]) for name in ("better", "worse", "equivalent", "inconclusive")
    ]
    assert verdict["worse"] > 0  # the synthetic hybrid is worse out of domain: the counts are not all zero
    forest = tmp_path / "figures" / summary["figures"]["forest"]
    assert forest.read_bytes().startswith(b"\x89PNG") and f"(figures/{forest.name})" in head


def test_forest_plot_leaves_post_hoc_rows_out(tmp_path) -> None:
    summary = summary_of(0.8, 0.5)
    summary["comparisons"]["mixed + lsar"] = summary["comparisons"]["mixed"]
    summary["arms"]["mixed+lsar"] = {"label": "mixed + lsar", "config_hash": "x", "info": {"base_label": "mixed"}}
    assert set(trained_arm_comparisons(summary)) == {"zero-shot", "mixed", "monolingual"}


def test_bias_section_shows_the_fields_measures_beside_the_criterion(tmp_path) -> None:
    results = study(0.8, 0.5, seeds=(1, 2))
    for n, result in enumerate(results):  # LAReQA results as the evaluator now scores them
        result.tasks["xquad-r"].scores |= {"multi.peer@10": 0.1 * (n % 4), "multi.pref_gap@10": 0.5}
    summary = summarise(config((1, 2)), results, train_inputs=TRAIN_INPUTS, provenance=PROVENANCE)
    hybrid = [r.tasks["xquad-r"].scores["multi.peer@10"] for r in results if r.label == "hybrid"]
    measures = summary["bias_measures"]["xquad-r"]["hybrid"]
    assert measures["multi.peer@10"] == pytest.approx(sum(hybrid) / 2)
    assert measures["multi.bias"] == summary["bias"]["xquad-r"]["hybrid"]  # the criterion is unchanged
    assert "multi.peer@10" not in summary["bias_measures"]["mlqa-r"]["hybrid"]  # only the measures a task has
    report = write_outputs(tmp_path, summary)["report"].read_text(encoding="utf-8")
    section = report.split("The field's language-bias measures on xquad-r")[1].split("\n\n")[1]
    assert section.splitlines()[0] == "| arm | max−min rank ↓ | PEER@10 ↑ | preference gap (0: none) |"
    row = next(line for line in section.splitlines() if line.startswith("| hybrid |"))
    assert row.endswith(f"| {measures['multi.bias']:.4f} | {measures['multi.peer@10']:.4f} | 0.5000 |")


def test_the_report_names_the_study_languages_a_corpus_lacks(tmp_path) -> None:
    dropped = {"ntrex128": ["el", "vi"], "tico19": ["el"]}
    summary = summarise(config(), study(0.8, 0.5), train_inputs=TRAIN_INPUTS, provenance=PROVENANCE,
                        dropped_languages=dropped)
    report = write_outputs(tmp_path, summary)["report"].read_text(encoding="utf-8")
    assert "- ntrex128: its corpus has no el, vi, so it is evaluated without them" in report
    assert "- tico19: its corpus has no el, so it is evaluated without it" in report
    assert not any("corpus has no" in note for note in summary_of(0.8, 0.5)["verdict"]["caveats"])
