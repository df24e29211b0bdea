"""The study's outputs: ``results.json`` (every number) and ``report.md`` (rendered only from that JSON) + PNGs.

:func:`summarise` turns arm results into one JSON-ready dict; :func:`render_markdown` draws the report from that dict
alone, so each number in ``report.md`` is the number in ``results.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from polyret.evaluation.markdown import markdown_table
from polyret.experiments import analysis, figures, recipes, verdict
from polyret.experiments.arm_names import HYBRID
from polyret.experiments.arm_result import TIME_KEYS, ArmResult
from polyret.experiments.config import ExperimentConfig
from polyret.experiments.debias_rows import BASE_LABEL
from polyret.experiments.study_data import dropped_languages_line
from polyret.experiments.task_files import task_names
from polyret.io import atomic_write, write_json

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"
FIGURES_DIR = "figures"
FOREST_FILE = "forest.png"


def summarise(
    config: ExperimentConfig, results: Sequence[ArmResult], *, train_inputs: dict[str, Any],
    provenance: dict[str, Any], dropped_languages: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Every number of the study as plain JSON data: table, robustness, comparisons, alpha curve, bias, verdict
    (``dropped_languages``: the study languages each domain-shift corpus lacks, named among the caveats)."""
    groups = analysis.group_by_label(results)
    files = config.evaluation.task_files
    in_domain = [*config.evaluation.in_domain, *task_names(files, "in-domain")]
    shift = [*config.evaluation.domain_shift, *task_names(files, "domain-shift")]
    robustness = analysis.robustness(groups, in_domain[0], shift) if in_domain else {}
    settings = comparison_settings(config)
    comparisons = analysis.comparisons(groups, [*in_domain, *shift], verdict_tasks=shift, settings=settings)
    answer = verdict.decide(comparisons, robustness, shift)
    return {
        "name": config.name,
        "question": verdict.QUESTION,
        "verdict": answer | {
            "text": verdict.explain(
                answer, level=config.significance_level, seeds=len(config.seeds), smoke=config.smoke_scale
            ),
            "caveats": caveats(config, train_inputs, dropped_languages or {}),
        },
        "table": analysis.table(groups, in_domain, shift),
        "robustness": robustness,
        "comparisons": comparisons,
        "debias_comparisons": analysis.debias_comparisons(groups, [*in_domain, *shift], settings=settings),
        "recipes": recipes.recipe_comparisons(groups, in_domain, shift, settings=settings),
        "alpha_curve": analysis.alpha_curve(groups, [*in_domain, *shift]),
        "bias": analysis.bias(groups, in_domain),
        "bias_sd": analysis.bias_sd(groups, in_domain),
        "bias_measures": analysis.bias_measures(groups, in_domain),
        "heatmaps": {
            task: {label: analysis.mean_matrix(runs, task, figures.HEATMAP_METRIC) for label, runs in groups.items()}
            for task in in_domain[:1]
        },
        "arms": {
            result.run_name: {"label": result.label, "config_hash": result.config_hash, "info": result.info}
            for result in results
        },
        "training_data": train_inputs,
        "config": config.to_dict(),
        "provenance": provenance,
    }


def comparison_settings(config: ExperimentConfig) -> analysis.ComparisonSettings:
    """The study's test settings: level, resamples, equivalence margins."""
    return analysis.ComparisonSettings(
        level=config.significance_level,
        resamples=config.significance_resamples,
        margin_map=config.equivalence_margin_map,
        margin_accuracy=config.equivalence_margin_accuracy,
        margin_bias=config.equivalence_margin_bias,
    )


def caveats(config: ExperimentConfig, train_inputs: dict[str, Any],
            dropped_languages: dict[str, list[str]] | None = None) -> list[str]:
    """What limits the answer: model size, data size, step budget, seeds, evaluation slices, languages a
    domain-shift corpus lacks."""
    training = config.training
    evaluation = config.evaluation
    notes = [
        f"One base model ({config.base_model}); a larger model or another family may behave differently.",
        f"Training data: {train_inputs.get('questions', 0)} questions in {len(train_inputs.get('languages', []))} "
        f"languages, far less than the paper's millions of translated pairs.",
        f"Step budget: {training.max_steps} steps of {training.batch_size} pairs per arm"
        f" (learning rate {training.lr:g}); longer training can change the ranking.",
    ]
    if len(config.seeds) == 1:
        notes.append("One seed: differences between training runs are not tested; p-values are over queries only.")
    leakage = train_inputs.get("leakage")
    if leakage:
        notes.append(_leakage_note(leakage))
    if evaluation.max_items is not None or evaluation.qa_max_articles is not None:
        notes.append(
            f"Evaluation slices: domain-shift tasks {_cap(evaluation.max_items, 'items')}, other QA sets "
            f"{_cap(evaluation.qa_max_articles, 'articles')}."
        )
    if evaluation.inference_backend().cache_suffix:
        notes.append(f"Encoded with the {evaluation.inference_backend().label} inference backend, not the torch fp32 "
                     "reference (each arm's info names the backend it ran on).")
    notes.extend(f"{dropped_languages_line(task, langs)}." for task, langs in (dropped_languages or {}).items())
    notes.append("The domain-shift tasks are sentence matching and discrimination, not question answering.")
    if config.debias:
        notes.append("Post-hoc rows are fitted on the training articles in every language of the data set, "
                     "held-out languages included (texts only, no relevance labels); the trained arms never see "
                     "those languages.")
    return notes


def _leakage_note(leakage: dict[str, Any]) -> str:
    text = (
        f"Leakage check: {leakage['leaked_questions']} training questions and {leakage['leaked_answers']} answers "
        "occur in the in-domain test data" + (" (allowed by config)" if leakage["allowed"] else "")
    )
    return text + (
        f"; {leakage['short_texts_ignored']} training texts under {leakage['min_word_chars']} word characters were "
        f"not compared, {leakage['short_overlaps_ignored']} of them occur in the test data (e.g. "
        f"{', '.join(repr(e) for e in leakage['short_overlap_examples'][:3]) or 'none'})."
    )


def write_outputs(folder: Path, summary: dict[str, Any]) -> dict[str, Path]:
    """Draw the figures, then write ``results.json`` and ``report.md`` into ``folder`` (atomically)."""
    figure_dir = folder / FIGURES_DIR
    trained = trained_arm_comparisons(summary)
    summary["figures"] = {
        "heatmaps": {task: figures.draw_heatmaps(m, task, figure_dir) for task, m in summary["heatmaps"].items()},
        "bias": figures.draw_bias(summary["bias"], figure_dir),
        "alpha_curve": figures.draw_alpha_curve(summary["alpha_curve"], figure_dir / "alpha-curve.png").name
        if summary["alpha_curve"] else None,
        "forest": figures.draw_forest(trained, figure_dir / FOREST_FILE, arm=HYBRID).name if trained else None,
    }
    write_json(folder / RESULTS_FILE, summary)
    with atomic_write(folder / REPORT_FILE) as handle:
        handle.write(render_markdown(summary))
    return {"results": folder / RESULTS_FILE, "report": folder / REPORT_FILE}


def render_markdown(summary: dict[str, Any]) -> str:
    """The report, drawn only from ``summary`` (the content of ``results.json``)."""
    parts = [
        f"# polyret study: {summary['name']}",
        f"**Question.** {summary['question']}",
        _summary_section(summary),
        "## Answer\n\n" + summary["verdict"]["text"],
        "Caveats:\n" + "\n".join(f"- {note}" for note in summary["verdict"]["caveats"]),
        "## Results\n\nMean over seeds; LAReQA mAP in the monolingual (Mo.), cross-lingual (Cr.) and multilingual "
        "(Mul.) settings (Elmahdy et al. Table 1), then each domain-shift task's main score.\n\n"
        + _results_table(summary["table"]),
        "## Robustness to domain shift\n\nEach domain-shift score and its change vs zero-shot (in that task's main "
        "metric), beside the arm's change vs zero-shot on the in-domain held-out fold (in its main metric): each "
        "change compares a metric with itself.\n\n" + _robustness_table(summary["robustness"]),
    ]
    if summary["comparisons"]:
        parts.append(f"## {HYBRID} vs each baseline\n\n" + _comparison_table(summary["comparisons"]))
    if summary.get("debias_comparisons"):
        parts.append(
            "## Post-hoc debiasing vs the same arm without it\n\nHolm's adjustment here runs over these cells alone."
            "\n\n" + _comparison_table(summary["debias_comparisons"],
                                       first=("row", "task", "verdict", "metric", "row score", "arm score"))
        )
    if summary.get("recipes", {}).get("recipes"):
        parts.append(_recipes_section(summary["recipes"]))
    parts.append(_figures_section(summary))
    parts.append(_reproducibility(summary))
    return "\n\n".join(parts) + "\n"


def _results_table(table: dict[str, Any]) -> str:
    columns = table["columns"]
    headers = ["arm", "seeds", *(c["title"] for c in columns)]
    rows = [
        [row["arm"], row["seeds"], *(_with_sd(row[c["id"]], row.get("sd", {}).get(c["id"])) for c in columns)]
        for row in table["rows"]
    ]
    return markdown_table(headers, rows)


def _with_sd(mean: float | None, sd: float | None, digits: int = 4) -> float | str | None:
    """``mean`` as it is, or ``"mean ± sd"`` when a standard deviation over seeds exists."""
    return mean if mean is None or sd is None else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def _robustness_table(robustness: dict[str, Any]) -> str:
    rows = [
        [arm, task, _with_sd(f["score"], f.get("sd")), f["delta_vs_zero_shot"], f.get("in_domain_delta_vs_zero_shot")]
        for arm, tasks in robustness.items()
        for task, f in tasks.items()
    ]
    return markdown_table(["arm", "task", "score (± seed SD)", "Δ vs zero-shot", "in-domain Δ vs zero-shot"], rows)


def trained_arm_comparisons(summary: dict[str, Any]) -> dict[str, Any]:
    """The comparisons of hybrid with each arm (zero-shot included), post-hoc rows left out."""
    arm_labels = {arm["label"] for arm in summary["arms"].values() if BASE_LABEL not in arm["info"]}
    return {baseline: cells for baseline, cells in summary["comparisons"].items() if baseline in arm_labels}


def _summary_section(summary: dict[str, Any]) -> str:
    """One screen: the answer, the verdict's outcome counts, the debiasing goal and the forest plot."""
    answer = summary["verdict"]
    mde = answer.get("mde")
    counts = [[answer["comparisons"], *(answer[name] for name in verdict.OUTCOMES),
               "" if mde is None else f"{mde['median']:.4f} ({mde['min']:.4f}–{mde['max']:.4f})"]]
    lines = [
        "## Summary",
        f"**Answer: {answer['answer']}** ({answer['reason']}). {HYBRID} against the standard fine-tuning arms on "
        "the domain-shift tasks:",
        markdown_table(["comparisons", *verdict.OUTCOMES, "median MDE (range)"], counts),
    ]
    goal = summary.get("recipes", {})
    if goal.get("recipes"):
        lines.append(f"Debiasing goal: best recipe **{goal['best']}**." if goal["best"] else
                     f"Debiasing goal: **no recipe** beats {goal['arm']} on every criterion (section below).")
    forest = summary.get("figures", {}).get("forest")
    if forest:
        lines.append(f"Each comparison of {HYBRID} with an arm (difference, unadjusted 95% interval; outcome after "
                     f"Holm's adjustment: green better, red worse, blue equivalent, grey inconclusive; shaded: the "
                     f"equivalence margin):\n\n"
                     f"![forest plot]({FIGURES_DIR}/{forest})")
    return "\n\n".join(lines)


COMPARISON_NOTE = (
    "Per comparison: both arms' task scores (mean ± SD over seeds), the mean per-item difference with its 95% "
    "interval, the p-value raw and Holm-adjusted, the equivalence margin, the minimum detectable effect (MDE, 80% "
    "power) and the outcome. One seed: paired randomisation test and bootstrap interval over items. Several seeds: "
    "hierarchical bootstrap (seeds, then items, with replacement). Holm's adjustment runs over two families: the "
    "verdict's comparisons (marked ✔: the standard fine-tuning arms on the domain-shift tasks) and all others. "
    "better/worse: adjusted p below the level; equivalent: the 90% interval lies within ± the margin (TOST); "
    "inconclusive: neither."
)


def _comparison_table(
    comparisons: dict[str, Any],
    first: tuple[str, ...] = ("baseline", "task", "verdict", "metric", HYBRID, "baseline score"),
) -> str:
    rows = [
        [baseline, task, "✔" if c["family"] == "verdict" else "", c["metric"], _with_sd(c["arm"], c["arm_sd"]),
         _with_sd(c["baseline"], c["baseline_sd"]), c["diff_queries"], _interval(c["ci_queries"]), c["p"],
         c["p_holm"], c["margin"], c["mde"], c["n_queries"], c["n_seeds"], c["outcome"]]
        for baseline, tasks in comparisons.items()
        for task, c in tasks.items()
    ]
    headers = [*first, "difference", "95% CI", "p", "p (Holm)", "margin", "MDE", "items", "seeds", "outcome"]
    return COMPARISON_NOTE + "\n\n" + markdown_table(headers, rows)


def _recipes_section(goal: dict[str, Any]) -> str:
    """Every recipe against the hybrid arm on the debiasing goal's criteria, and which recipe (if any) meets it."""
    arm, table = goal["arm"], goal["recipes"]
    columns = list(dict.fromkeys(key for recipe in table.values() for key in recipe["cells"]))
    rows = [[label, recipe["kind"], *(_goal_cell(recipe["cells"].get(key)) for key in columns),
             "yes" if recipe["meets_goal"] else "no", recipe["cost"]] for label, recipe in table.items()]
    best = goal["best"]
    if best is None:
        answer = f"**No recipe meets the goal**: none beats {arm} on every criterion below."
    else:
        cells = table[best]["cells"]
        gains = "; ".join(f"{key} {c['diff']:+.4f} (p Holm {c['p_holm']:.3g})" for key, c in cells.items()
                          if c["requirement"] == recipes.BETTER)
        answer = f"**Best recipe: {best}** ({table[best]['kind']}): {gains}. Cost: {table[best]['cost']}."
    return (
        f"## Best recipe vs {arm} (the debiasing goal)\n\n{answer}\n\nA recipe meets the goal when, against {arm}, "
        f"each criterion holds: {'; '.join(goal['criteria'])}. Each cell: the outcome and the difference (recipe − "
        f"{arm}, mean over seeds), tested like the comparisons above; Holm's adjustment runs over the cells that must "
        "be better (every recipe's multilingual mAP and bias) as one family, the other cells are tested unadjusted "
        "(a raw significant loss disqualifies; equivalence must hold on each).\n\n"
        + markdown_table(["recipe", "kind", *columns, "meets goal", "cost"], rows)
    )


def _goal_cell(cell: dict[str, Any] | None) -> str | None:
    if cell is None:
        return None
    return f"{'✔' if cell['met'] else '✘'} {cell['outcome']} ({cell['diff']:+.4f})"


def _interval(bounds: list[float] | None) -> str | None:
    return None if bounds is None else f"[{bounds[0]:+.4f}, {bounds[1]:+.4f}]"


def _figures_section(summary: dict[str, Any]) -> str:
    figs = summary["figures"]
    lines = ["## Figures"]
    for task, values in summary["bias"].items():
        if values:
            lines.append(f"Language bias on {task} (mean max−min rank of a query's relevant items; lower is better):")
            spread = summary.get("bias_sd", {}).get(task, {})
            rows = [[arm, _with_sd(value, spread.get(arm), digits=1)] for arm, value in values.items()]
            lines.append(markdown_table(["arm", "bias (± seed SD)"], rows, digits=1))
            lines.append(f"![bias {task}]({FIGURES_DIR}/{figs['bias'][task]})")
            measures = summary.get("bias_measures", {}).get(task)
            if measures:
                lines.append(_bias_measures_table(task, measures))
    for task, files in figs["heatmaps"].items():
        lines += [f"![{task} {arm}]({FIGURES_DIR}/{name})" for arm, name in files.items()]
    if figs["alpha_curve"]:
        curve = summary["alpha_curve"]
        alphas = list(next(iter(curve.values())))
        lines.append("Alpha sweep (main score by alpha):")
        lines.append(markdown_table(["task", *alphas], [[task, *points.values()] for task, points in curve.items()]))
        lines.append(f"![alpha curve]({FIGURES_DIR}/{figs['alpha_curve']})")
    return "\n\n".join(lines)


def _bias_measures_table(task: str, measures: dict[str, dict[str, float]]) -> str:
    """The field's bias measures per arm (mean over seeds) beside the criterion (docs/evaluation.md defines them)."""
    columns = [(key, title) for key, title in analysis.BIAS_MEASURES if any(key in m for m in measures.values())]
    rows = [[arm, *(values.get(key) for key, _ in columns)] for arm, values in measures.items()]
    return (f"The field's language-bias measures on {task} (the criterion above stays max−min rank; ↑/↓: the better "
            "direction):\n\n" + markdown_table(["arm", *(title for _, title in columns)], rows))


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _reproducibility(summary: dict[str, Any]) -> str:
    prov = summary["provenance"]
    arms = [
        [run, arm["label"], arm["config_hash"], arm["info"].get("status", ""),
         *(_seconds(arm["info"].get(key)) for key in TIME_KEYS)]
        for run, arm in summary["arms"].items()
    ]
    compute = sum(arm["info"].get(key) or 0.0 for arm in summary["arms"].values() for key in TIME_KEYS)
    checksums = "\n".join(f"{digest}  {path}" for path, digest in prov["data_checksums"].items())
    return "\n\n".join([
        "## Reproducibility",
        f"- command: `{prov['command']}`\n- git revision: `{prov['git_revision']}`\n"
        f"- wall time of this invocation: {prov['wall_time_s']:.0f} s; training and evaluation of all arms, "
        f"whenever they ran (reused arms keep their times): {compute:.0f} s\n"
        f"- hardware: {json.dumps(prov['hardware'])}\n"
        f"- training data: {json.dumps(summary['training_data'])}\n"
        f"- packages: {json.dumps(prov['packages'])}",
        markdown_table(["run", "arm", "config hash", "status", "train s", "eval s"], arms),
        "Config:\n\n```yaml\n" + yaml.safe_dump(summary["config"], sort_keys=False) + "```",
        f"<details><summary>Data checksums (sha256, {len(prov['data_checksums'])} files)</summary>\n\n```\n"
        f"{checksums}\n```\n</details>",
    ])


def _cap(limit: int | None, unit: str) -> str:
    """``"capped at 60 items"``, or ``"in full (all items)"`` when no cap is set."""
    return f"capped at {limit} {unit}" if limit is not None else f"in full (all {unit})"
