"""From arm results to the study's numbers: the arms x settings table, robustness figures and paired comparisons.

Everything returned is plain JSON data; the report renders it and ``results.json`` stores it, so the two can never
disagree. Scores of several seeds are averaged per arm; paired tests run over queries (per-query values averaged over
seeds) and, when both arms have two or more common seeds, over seeds.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from scipy import stats

from polyret.evaluation.result import TaskResult
from polyret.evaluation.significance import paired_test
from polyret.experiments.arm_result import ArmResult
from polyret.experiments.config import BASELINE_ARMS, HYBRID, ZERO_SHOT

LAREQA_SETTINGS = (("mono.map", "Mo."), ("cross.map", "Cr."), ("multi.map", "Mul."))
BIAS_KEY = "multi.bias"
TASK_TITLES = {
    "xquad-r": "XQuAD-R", "mlqa-r": "MLQA-R", "clsd-wmt19": "CLSD", "clsd-wmt19-mt": "CLSD (en MT)",
    "ntrex128": "NTREX", "tico19": "TICO", "tatoeba": "Tatoeba",
}


def group_by_label(results: Sequence[ArmResult]) -> dict[str, list[ArmResult]]:
    """Arm results grouped by arm label, in first-seen order."""
    groups: dict[str, list[ArmResult]] = {}
    for result in results:
        groups.setdefault(result.label, []).append(result)
    return groups


def mean_scores(runs: Sequence[ArmResult], task: str) -> dict[str, float]:
    """Scores of ``task`` averaged over ``runs`` (keys every run has)."""
    keys = set.intersection(*(set(run.tasks[task].scores) for run in runs))
    return {key: statistics.fmean(run.tasks[task].scores[key] for run in runs) for key in sorted(keys)}


def table(groups: dict[str, list[ArmResult]], in_domain: Sequence[str], domain_shift: Sequence[str]) -> dict[str, Any]:
    """The arms x settings table (paper Table 1 shape plus one column per domain-shift task).

    Returns:
        ``{"columns": [{"id", "title", "task", "key"}...], "rows": [{"arm", "seeds", "<column id>": value}...]}``.
    """
    first = next(iter(groups.values()))[0]
    columns = [
        {"id": f"{task}:{key}", "title": f"{TASK_TITLES.get(task, task)} {short}", "task": task, "key": key}
        for task in in_domain
        for key, short in LAREQA_SETTINGS
    ]
    columns += [
        {"id": f"{task}:{first.tasks[task].main}", "title": f"{TASK_TITLES.get(task, task)} {first.tasks[task].main}",
         "task": task, "key": first.tasks[task].main}
        for task in domain_shift
    ]
    rows = []
    for label, runs in groups.items():
        row: dict[str, Any] = {"arm": label, "seeds": len(runs)}
        for column in columns:
            row[column["id"]] = mean_scores(runs, column["task"]).get(column["key"])
        rows.append(row)
    return {"columns": columns, "rows": rows}


def robustness(
    groups: dict[str, list[ArmResult]], in_domain_task: str, domain_shift: Sequence[str]
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per arm and domain-shift task: the score, its change vs zero-shot, and its change vs the arm's in-domain score.

    The in-domain reference is the main score of ``in_domain_task`` (the held-out XQuAD-R fold).
    """
    zero = groups.get(ZERO_SHOT)
    figures: dict[str, dict[str, dict[str, float | None]]] = {}
    for label, runs in groups.items():
        in_domain = _main(runs, in_domain_task)
        figures[label] = {}
        for task in domain_shift:
            score = _main(runs, task)
            figures[label][task] = {
                "score": score,
                "delta_vs_zero_shot": None if zero is None else score - _main(zero, task),
                "delta_vs_in_domain": score - in_domain,
            }
    return figures


def comparisons(
    groups: dict[str, list[ArmResult]], tasks: Sequence[str], *, resamples: int, arm: str = HYBRID
) -> dict[str, dict[str, dict[str, Any]]]:
    """``arm`` against every baseline (standard fine-tuning arms and zero-shot) on each task's main score.

    Over queries: a paired randomisation test with ``resamples`` sign flips on the per-query values (averaged over
    seeds). Over seeds: a paired t-test on the per-seed main scores of the seeds both arms share.

    Returns:
        ``{baseline: {task: {"metric", "arm", "baseline", "diff", "n_queries", "p_queries", "diff_queries",
        "ci_queries", "n_seeds", "p_seeds"}}}`` (``diff`` compares the task scores, which may be macro averages over
        languages; ``diff_queries`` is the mean per-query difference and ``ci_queries`` its 95% bootstrap interval);
        a p-value is ``None`` where the test cannot run (no per-query values, fewer than two common seeds).
    """
    if arm not in groups:
        return {}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for baseline in (*BASELINE_ARMS, ZERO_SHOT):
        if baseline not in groups:
            continue
        out[baseline] = {task: _compare(groups[arm], groups[baseline], task, resamples) for task in tasks}
    return out


def alpha_curve(groups: dict[str, list[ArmResult]], tasks: Sequence[str]) -> dict[str, dict[str, float]]:
    """Main score per task as a function of hybrid's alpha (``{task: {alpha: score}}``); empty without a sweep."""
    points = {
        runs[0].config["arm"]["alpha"]: runs
        for runs in groups.values()
        if runs[0].config["arm"]["sampler"] == HYBRID
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


def mean_matrix(runs: Sequence[ArmResult], task: str, metric: str) -> dict[str, dict[str, float]]:
    """The ``metric`` language x language matrix of ``task`` averaged over runs (empty when absent)."""
    matrices = [run.tasks[task].matrices.get(metric) for run in runs]
    if not all(matrices):
        return {}
    return {
        row: {col: statistics.fmean(m[row][col] for m in matrices) for col in matrices[0][row]}
        for row in matrices[0]
    }


def _main(runs: Sequence[ArmResult], task: str) -> float:
    return statistics.fmean(run.tasks[task].main_score for run in runs)


def _compare(arm: list[ArmResult], baseline: list[ArmResult], task: str, resamples: int) -> dict[str, Any]:
    metric = arm[0].tasks[task].main
    ours, theirs = _main(arm, task), _main(baseline, task)
    per_a, per_b = _per_query_mean(arm, task, metric), _per_query_mean(baseline, task, metric)
    common = sorted(set(per_a) & set(per_b))
    query_test = None
    if len(common) > 1:
        query_test = paired_test({q: per_a[q] for q in common}, {q: per_b[q] for q in common}, n_resamples=resamples)
    seeds_a = {run.config["arm"]["seed"]: run.tasks[task].main_score for run in arm}
    seeds_b = {run.config["arm"]["seed"]: run.tasks[task].main_score for run in baseline}
    seeds = sorted(set(seeds_a) & set(seeds_b) - {None})
    p_seeds = None
    if len(seeds) > 1:
        p_value = float(stats.ttest_rel([seeds_a[s] for s in seeds], [seeds_b[s] for s in seeds]).pvalue)
        p_seeds = None if math.isnan(p_value) else p_value
    return {
        "metric": metric,
        "arm": ours,
        "baseline": theirs,
        "diff": ours - theirs,
        "n_queries": len(common),
        "p_queries": query_test.p_value if query_test else None,
        "diff_queries": query_test.mean_difference if query_test else None,
        "ci_queries": [query_test.ci_low, query_test.ci_high] if query_test else None,
        "n_seeds": len(seeds),
        "p_seeds": p_seeds,
    }


def per_query_values(result: TaskResult, key: str) -> dict[str, float]:
    """The per-query values behind score ``key``: ``per_query[key]``, or for a mean AP (``*.map``) the per-query AP
    (``*.ap``, as the LAReQA evaluator stores it); empty when there are none."""
    for candidate in (key, key.removesuffix(".map") + ".ap"):
        if candidate in result.per_query:
            return result.per_query[candidate]
    return {}


def _per_query_mean(runs: Sequence[ArmResult], task: str, key: str) -> dict[str, float]:
    tables = [per_query_values(run.tasks[task], key) for run in runs]
    common = set.intersection(*(set(t) for t in tables))
    return {query: statistics.fmean(t[query] for t in tables) for query in common}

