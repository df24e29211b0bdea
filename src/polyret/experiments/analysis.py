"""From arm results to the study's numbers: the arms x settings table, robustness figures and paired comparisons.

Everything returned is plain JSON data; the report renders it and ``results.json`` stores it, so the two can never
disagree. Scores of several seeds are averaged per arm, with their standard deviation over seeds; comparisons are
paired over queries and, with two or more seeds, over seeds too (hierarchical bootstrap, see
:func:`polyret.evaluation.significance.compare_paired`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from polyret.evaluation.catalog import task_title
from polyret.evaluation.result import TaskResult
from polyret.evaluation.significance import compare_paired, holm
from polyret.experiments.arm_names import BASELINE_ARMS, HYBRID, ZERO_SHOT
from polyret.experiments.arm_result import ArmResult
from polyret.experiments.config import is_alpha_variant

LAREQA_SETTINGS = (("mono.map", "Mo."), ("cross.map", "Cr."), ("multi.map", "Mul."))
BIAS_KEY = "multi.bias"
BIAS_MEASURES = (
    ("multi.bias", "max−min rank ↓"), ("multi.bias_norm", "÷ pool ↓"), ("multi.peer@10", "PEER@10 ↑"),
    ("multi.own_lang_share@10", "own lang. in top 10"), ("multi.relevant_own_lang_share", "own lang. in answers"),
    ("multi.pref_gap@10", "preference gap (0: none)"), ("multi.own_r@10", "R@10 own lang."),
    ("multi.other_r@10", "R@10 other langs"),
)
"""The field's bias measures shown beside the study's criterion (max−min rank): score key, column title."""


def group_by_label(results: Sequence[ArmResult]) -> dict[str, list[ArmResult]]:
    """Arm results grouped by arm label, in first-seen order."""
    groups: dict[str, list[ArmResult]] = {}
    for result in results:
        groups.setdefault(result.label, []).append(result)
    return groups


def mean_scores(runs: Sequence[ArmResult], task: str) -> dict[str, float]:
    """Scores of ``task`` averaged over ``runs`` (keys every run has; empty when a run lacks the task)."""
    if not has_task(runs, task):
        return {}
    keys = set.intersection(*(set(run.tasks[task].scores) for run in runs))
    return {key: statistics.fmean(run.tasks[task].scores[key] for run in runs) for key in sorted(keys)}


def table(groups: dict[str, list[ArmResult]], in_domain: Sequence[str], domain_shift: Sequence[str]) -> dict[str, Any]:
    """The arms x settings table (paper Table 1 shape plus one column per domain-shift task).

    Returns:
        ``{"columns": [{"id", "title", "task", "key"}...], "rows": [{"arm", "seeds", "<column id>": mean over seeds,
        "sd": {"<column id>": standard deviation over seeds or None}}...]}``.
    """
    first = next(iter(groups.values()))[0]
    columns = [
        {"id": f"{task}:{key}", "title": f"{task_title(task)} {short}", "task": task, "key": key}
        for task in in_domain
        for key, short in LAREQA_SETTINGS
    ]
    columns += [
        {"id": f"{task}:{first.tasks[task].main}", "title": f"{task_title(task)} {first.tasks[task].main}",
         "task": task, "key": first.tasks[task].main}
        for task in domain_shift
    ]
    rows = []
    for label, runs in groups.items():
        row: dict[str, Any] = {"arm": label, "seeds": len(runs), "sd": {}}
        for column in columns:
            values = [run.tasks[column["task"]].scores.get(column["key"]) for run in runs
                      if column["task"] in run.tasks]  # a post-hoc row may skip a task
            known = [v for v in values if v is not None]
            row[column["id"]], row["sd"][column["id"]] = mean_and_sd(known) if known else (None, None)
        rows.append(row)
    return {"columns": columns, "rows": rows}


def robustness(
    groups: dict[str, list[ArmResult]], in_domain_task: str, domain_shift: Sequence[str]
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per arm and domain-shift task: the score, its change vs zero-shot, and the arm's in-domain change vs zero-shot.

    Each change compares one metric with itself: ``delta_vs_zero_shot`` is in the domain-shift task's main metric,
    ``in_domain_delta_vs_zero_shot`` in the main metric of ``in_domain_task`` (the held-out XQuAD-R fold), so an arm
    that gains in domain and loses out of domain shows both signs side by side.
    """
    zero = groups.get(ZERO_SHOT)
    figures: dict[str, dict[str, dict[str, float | None]]] = {}
    for label, runs in groups.items():
        if not has_task(runs, in_domain_task):
            continue  # a post-hoc row skips the tasks in languages its method was not fitted on
        in_domain_gain = None if zero is None else _main(runs, in_domain_task) - _main(zero, in_domain_task)
        figures[label] = {}
        for task in domain_shift:
            if not has_task(runs, task):
                continue
            score, spread = _mean_sd(runs, task, runs[0].tasks[task].main)
            figures[label][task] = {
                "score": score,
                "sd": spread,
                "delta_vs_zero_shot": None if zero is None else score - _main(zero, task),
                "in_domain_delta_vs_zero_shot": in_domain_gain,
            }
    return figures


VERDICT_FAMILY = "verdict"
OTHER_FAMILY = "other"
ACCURACY_METRICS = ("acc", "p@1")
"""Main metrics judged with the accuracy margin (0/1 per item); every other (ranking) metric gets the mAP margin."""
LOWER_IS_BETTER = ("bias",)
"""Metrics (after the last dot) where a lower value is the better one: the language bias in ranks."""


def comparisons(
    groups: dict[str, list[ArmResult]],
    tasks: Sequence[str],
    *,
    verdict_tasks: Sequence[str],
    settings: ComparisonSettings,
    arm: str = HYBRID,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``arm`` against every other arm (zero-shot, baselines, extra arms; not its alpha sweep or references).

    Each cell is :func:`polyret.evaluation.significance.compare_paired` on the task's main metric per item, over
    the seeds both arms share (a zero-shot arm, trained once, pairs with every seed). Holm's adjustment runs over
    two families: the verdict's comparisons (``arm`` against the standard fine-tuning arms on ``verdict_tasks``)
    and all the others; each cell then gets its outcome (better / worse / equivalent / inconclusive).

    Returns:
        ``{baseline: {task: {"metric", "arm", "baseline", "arm_sd", "baseline_sd", "diff", "family", "n_queries",
        "n_seeds", "p", "p_holm", "outcome", ...}}}``, the rest being :class:`Comparison`'s fields.
    """
    if arm not in groups:
        return {}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for baseline, runs in groups.items():
        if baseline == arm or _is_variant_or_reference(runs):
            continue
        out[baseline] = {
            task: compare(groups[arm], runs, task, settings)
            | {"family": VERDICT_FAMILY if baseline in BASELINE_ARMS and task in verdict_tasks else OTHER_FAMILY}
            for task in tasks if has_task([*groups[arm], *runs], task)
        }
    for family in (VERDICT_FAMILY, OTHER_FAMILY):
        adjust_holm([c for cells in out.values() for c in cells.values() if c["family"] == family])
    for cell in (c for cells in out.values() for c in cells.values()):
        cell["outcome"] = outcome(cell, settings.level)
    return out


@dataclass(frozen=True)
class ComparisonSettings:
    """How comparisons are tested: level, resamples and the equivalence margins (from the study config)."""

    level: float
    resamples: int
    margin_map: float
    margin_accuracy: float
    margin_bias: float = 5.0

    def margin(self, metric: str) -> float:
        """The equivalence margin of ``metric``: accuracy-like metrics the accuracy margin, the language bias its own
        (in ranks), other (ranking) metrics mAP's."""
        name = metric.rsplit(".", 1)[-1]
        if name in LOWER_IS_BETTER:
            return self.margin_bias
        return self.margin_accuracy if name in ACCURACY_METRICS else self.margin_map


def _is_variant_or_reference(runs: Sequence[ArmResult]) -> bool:
    """A hybrid alpha-sweep arm or a frozen reference encoder (not baselines of the comparison)."""
    arm = runs[0].config.get("arm", {})
    return arm.get("sampler") == HYBRID or arm.get("model") is not None


def outcome(cell: dict[str, Any], level: float) -> str:
    """better / worse / equivalent / inconclusive for a tested cell (after Holm), in the metric's direction."""
    if cell["p"] is None:
        return "inconclusive"
    if cell["p_holm"] < level and cell["diff_queries"] != 0:
        higher = cell["metric"].rsplit(".", 1)[-1] not in LOWER_IS_BETTER
        return "better" if (cell["diff_queries"] > 0) == higher else "worse"
    return "equivalent" if cell["equivalent"] else "inconclusive"


def debias_comparisons(
    groups: dict[str, list[ArmResult]], tasks: Sequence[str], *, settings: ComparisonSettings
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every post-hoc row "<arm> + <method>" against its own arm on each task both have, tested like
    :func:`comparisons` (Holm over these cells as one family): ``{row label: {task: comparison}}``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for label, runs in groups.items():
        base = runs[0].info.get("base_label")
        if base is None or base not in groups:
            continue
        shared = [t for t in tasks if has_task([*runs, *groups[base]], t)]
        out[label] = {task: compare(runs, groups[base], task, settings) | {"family": "debias"} for task in shared}
    cells = [c for row in out.values() for c in row.values()]
    adjust_holm(cells)
    for cell in cells:
        cell["outcome"] = outcome(cell, settings.level)
    return out


def adjust_holm(family: Sequence[dict[str, Any]]) -> None:
    """Set ``p_holm`` of the tested cells of ``family`` (``p`` not ``None``) by Holm's step-down over them."""
    tested = [cell for cell in family if cell["p"] is not None]
    for cell, adjusted in zip(tested, holm([cell["p"] for cell in tested]), strict=True):
        cell["p_holm"] = adjusted


def has_task(runs: Sequence[ArmResult], task: str, metric: str | None = None) -> bool:
    """Whether every run scored ``task`` (and its score ``metric``, when given); a post-hoc row skips tasks in
    languages its method was not fitted on."""
    return all(task in run.tasks and (metric is None or metric in run.tasks[task].scores) for run in runs)


def alpha_curve(groups: dict[str, list[ArmResult]], tasks: Sequence[str]) -> dict[str, dict[str, float]]:
    """Main score per task as a function of hybrid's alpha (``{task: {alpha: score}}``); empty without a sweep."""
    points = {
        runs[0].config["arm"]["alpha"]: runs
        for runs in groups.values()
        if is_alpha_variant(runs[0].config["arm"])
    }
    if len(points) < 2:
        return {}
    return {task: {f"{alpha:g}": _main(points[alpha], task) for alpha in sorted(points)} for task in tasks}


def bias(groups: dict[str, list[ArmResult]], tasks: Sequence[str]) -> dict[str, dict[str, float]]:
    """Language bias (mean max-min rank of a query's relevant passages; lower is better) per task and arm."""
    out: dict[str, dict[str, float]] = {}
    for task in tasks:
        means = {label: mean_scores(runs, task) for label, runs in groups.items()}
        out[task] = {label: scores[BIAS_KEY] for label, scores in means.items() if BIAS_KEY in scores}
    return out


def bias_measures(groups: dict[str, list[ArmResult]], tasks: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Every measure of :data:`BIAS_MEASURES` an arm has, mean over seeds: ``{task: {arm: {score key: value}}}``."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for task in tasks:
        means = {label: mean_scores(runs, task) for label, runs in groups.items()}
        out[task] = {label: {key: scores[key] for key, _ in BIAS_MEASURES if key in scores}
                     for label, scores in means.items() if BIAS_KEY in scores}
    return out


def bias_sd(groups: dict[str, list[ArmResult]], tasks: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """The seed standard deviation of each value of :func:`bias` (``None`` for an arm with one run)."""
    return {
        task: {label: mean_and_sd([run.tasks[task].scores[BIAS_KEY] for run in runs])[1]
               for label, runs in groups.items()
               if has_task(runs, task, BIAS_KEY)}
        for task in tasks
    }


def mean_matrix(runs: Sequence[ArmResult], task: str, metric: str) -> dict[str, dict[str, float]]:
    """The ``metric`` language x language matrix of ``task`` averaged over runs (empty when absent)."""
    matrices = [run.tasks[task].matrices.get(metric) if task in run.tasks else None for run in runs]
    if not all(matrices):
        return {}
    return {
        row: {col: statistics.fmean(m[row][col] for m in matrices) for col in matrices[0][row]}
        for row in matrices[0]
    }


def _main(runs: Sequence[ArmResult], task: str) -> float:
    return statistics.fmean(run.tasks[task].main_score for run in runs)


def compare(
    arm: list[ArmResult], baseline: list[ArmResult], task: str, settings: ComparisonSettings, metric: str | None = None
) -> dict:
    """``arm`` against ``baseline`` on ``task``'s ``metric`` (default: its main one), paired per query: both means
    and seed SDs, the difference, and the test's fields (``p_holm`` and ``outcome`` are filled in by the caller)."""
    metric = metric or arm[0].tasks[task].main
    ours, theirs = _mean_sd(arm, task, metric), _mean_sd(baseline, task, metric)
    runs_a, runs_b = _paired_runs(arm, baseline, task, metric)
    cell: dict[str, Any] = {
        "metric": metric, "arm": ours[0], "baseline": theirs[0], "arm_sd": ours[1], "baseline_sd": theirs[1],
        "diff": ours[0] - theirs[0], "margin": settings.margin(metric), "n_seeds": len(runs_a),
    }
    common = set.intersection(*(set(run) for run in (*runs_a, *runs_b))) if runs_a else set()
    if len(common) < 2:
        return cell | {"n_queries": len(common), "p": None, "p_holm": None, "diff_queries": None,
                       "ci_queries": None, "mde": None, "equivalent": None, "method": None}
    test = compare_paired(runs_a, runs_b, margin=cell["margin"], level=settings.level, n_resamples=settings.resamples)
    return cell | {
        "n_queries": test.n_items, "p": test.p_value, "p_holm": None, "diff_queries": test.difference,
        "ci_queries": [test.ci_low, test.ci_high], "mde": test.mde, "sd_difference": test.sd_difference,
        "equivalent": test.equivalent, "method": test.method,
    }


def _paired_runs(
    arm: list[ArmResult], baseline: list[ArmResult], task: str, metric: str
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Per-query tables of the runs to pair: the seeds both arms share, a single run paired with every run of the
    other side (zero-shot), else each side's mean over its runs (one pair)."""
    tables_a = {run.config.get("arm", {}).get("seed"): per_query_values(run.tasks[task], metric) for run in arm}
    tables_b = {run.config.get("arm", {}).get("seed"): per_query_values(run.tasks[task], metric) for run in baseline}
    common = sorted(set(tables_a) & set(tables_b) - {None})
    if len(common) > 1:
        return [tables_a[s] for s in common], [tables_b[s] for s in common]
    if len(tables_b) == 1 and len(tables_a) > 1:
        return list(tables_a.values()), list(tables_b.values()) * len(tables_a)
    if len(tables_a) == 1 and len(tables_b) > 1:
        return list(tables_a.values()) * len(tables_b), list(tables_b.values())
    return [_mean_table(list(tables_a.values()))], [_mean_table(list(tables_b.values()))]


def _mean_sd(runs: Sequence[ArmResult], task: str, metric: str) -> tuple[float, float | None]:
    """Mean of score ``metric`` over runs and its standard deviation over seeds (``None`` with one run)."""
    return mean_and_sd([run.tasks[task].scores[metric] for run in runs])


def mean_and_sd(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean of ``values`` and their sample standard deviation (``None`` for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def per_query_values(result: TaskResult, key: str) -> dict[str, float]:
    """The per-query values behind score ``key``: ``per_query[key]``, or for a mean AP (``*.map``) the per-query AP
    (``*.ap``, as the LAReQA evaluator stores it); empty when there are none."""
    for candidate in (key, key.removesuffix(".map") + ".ap"):
        if candidate in result.per_query:
            return result.per_query[candidate]
    return {}


def _mean_table(tables: list[dict[str, float]]) -> dict[str, float]:
    """Per-query mean over tables (queries every table has)."""
    common = set.intersection(*(set(t) for t in tables))
    return {query: statistics.fmean(t[query] for t in tables) for query in common}

