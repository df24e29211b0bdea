"""The debiasing goal: does some polyret recipe beat the hybrid arm where language bias shows, at no cost elsewhere?

A *recipe* is every row of the study other than the hybrid arm, the untouched zero-shot model, hybrid alpha-sweep
variants and reference encoders: another batch design (``multi_positive``, ``mixed``, ...), a post-hoc method on
any arm (``zero-shot + center``), or both (``mixed + lsar``). Each is compared with the hybrid arm, paired per query
and over seeds like every comparison of the study, on these criteria:

- every in-domain LAReQA task: pooled multilingual mAP **better**, language bias **better** (lower), monolingual and
  cross-lingual mAP **equivalent or better**;
- every domain-shift task: main score **not worse**.

Holm's adjustment runs over the cells that must come out **better** (multilingual mAP and bias of every recipe) as
one family, so trying many recipes costs power instead of producing chance winners. The other criteria are tested
unadjusted, the stricter reading for a claim that needs all of them: a loss significant before adjustment already
disqualifies, and equivalence (TOST) must hold on every such cell (an intersection-union test needs no adjustment).
A recipe *meets the goal* when every criterion holds; the best one is the recipe meeting it with the highest mean
multilingual mAP on the first in-domain task. None meeting it is an answer too.

Example:
    >>> goal = recipe_comparisons(groups, ["xquad-r"], ["clsd-wmt19"], settings=settings)  # doctest: +SKIP
    >>> goal["best"], goal["recipes"]["mixed + lsar"]["meets_goal"]  # doctest: +SKIP
    ('mixed + lsar', True)

Relations: :func:`polyret.experiments.analysis.compare` is the paired test of each cell; the post-hoc rows come
from :mod:`polyret.experiments.debias_rows`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from polyret.experiments.analysis import ComparisonSettings, adjust_holm, compare, has_task, outcome
from polyret.experiments.arm_names import HYBRID, ZERO_SHOT
from polyret.experiments.arm_result import ArmResult
from polyret.experiments.config import is_alpha_variant

BETTER = "better"
NO_WORSE = "equivalent or better"
NOT_WORSE = "not worse"
LAREQA_CRITERIA = (("multi.map", BETTER), ("multi.bias", BETTER), ("mono.map", NO_WORSE), ("cross.map", NO_WORSE))
"""What a recipe must show on each in-domain LAReQA task (metric, requirement); domain-shift tasks: ``NOT_WORSE``."""
MET = {BETTER: {"better"}, NO_WORSE: {"better", "equivalent"}, NOT_WORSE: {"better", "equivalent", "inconclusive"}}
"""The outcomes that satisfy each requirement."""


def recipe_comparisons(
    groups: dict[str, list[ArmResult]],
    in_domain: Sequence[str],
    domain_shift: Sequence[str],
    *,
    settings: ComparisonSettings,
    arm: str = HYBRID,
) -> dict[str, Any]:
    """Every recipe against ``arm`` on the goal's criteria (see the module docstring).

    Returns:
        ``{"arm", "criteria", "recipes": {label: {"kind", "cost", "cells": {"task:metric": cell}, "meets_goal"}},
        "best"}``; each cell is :func:`~polyret.experiments.analysis.compare`'s plus ``requirement`` and ``met``.
        Empty when the study has no ``arm``.
    """
    if arm not in groups:
        return {}
    recipes = {label: _recipe(label, runs, groups[arm], in_domain, domain_shift, settings)
               for label, runs in groups.items() if _is_recipe(label, runs, arm)}
    cells = [cell for recipe in recipes.values() for cell in recipe["cells"].values()]
    for cell in cells:
        cell["p_holm"] = cell["p"]  # unadjusted where adjusting would make the claim easier (see above)
    adjust_holm([cell for cell in cells if cell["requirement"] == BETTER])
    for cell in cells:
        cell["outcome"] = outcome(cell, settings.level)
        cell["met"] = cell["outcome"] in MET[cell["requirement"]]
    for recipe in recipes.values():
        recipe["meets_goal"] = bool(recipe["cells"]) and all(c["met"] for c in recipe["cells"].values())
    criteria = [f"{metric} {need}" for metric, need in LAREQA_CRITERIA] + [f"domain shift main score {NOT_WORSE}"]
    return {"arm": arm, "criteria": criteria, "recipes": recipes, "best": _best(recipes, in_domain)}


def _best(recipes: dict[str, dict[str, Any]], in_domain: Sequence[str]) -> str | None:
    """The recipe meeting the goal with the highest multilingual mAP on the first in-domain task."""
    key = f"{in_domain[0]}:multi.map" if in_domain else None
    winners = [label for label, recipe in recipes.items() if recipe["meets_goal"] and key in recipe["cells"]]
    return max(winners, key=lambda label: recipes[label]["cells"][key]["arm"], default=None)


def _is_recipe(label: str, runs: Sequence[ArmResult], arm: str) -> bool:
    spec = runs[0].config.get("arm", {})
    is_variant = is_alpha_variant(spec) and runs[0].info.get("base_label") is None  # the alpha sweep
    return label not in (arm, ZERO_SHOT) and not is_variant and spec.get("model") is None


def _recipe(
    label: str, runs: list[ArmResult], arm_runs: list[ArmResult], in_domain: Sequence[str],
    domain_shift: Sequence[str], settings: ComparisonSettings,
) -> dict[str, Any]:
    cells: dict[str, dict[str, Any]] = {}
    for task in in_domain:
        for metric, need in LAREQA_CRITERIA:
            if has_task(runs, task, metric) and has_task(arm_runs, task, metric):
                cells[f"{task}:{metric}"] = compare(runs, arm_runs, task, settings, metric) | {"requirement": need}
    for task in domain_shift:
        if has_task(runs, task) and has_task(arm_runs, task):
            cells[f"{task}:{runs[0].tasks[task].main}"] = compare(runs, arm_runs, task, settings) | {
                "requirement": NOT_WORSE}
    return {"kind": _kind(runs[0]), "cost": _cost(runs), "cells": cells}


def _kind(run: ArmResult) -> str:
    base = run.info.get("base_label")
    if base is None:
        return "batch design"
    return "post-hoc" if base == ZERO_SHOT else "batch design + post-hoc"


def _cost(runs: Sequence[ArmResult]) -> str:
    """What the recipe costs beyond the base model: training time, and a post-hoc method's size and inference step."""
    fit = runs[0].info.get("debias")
    if fit is None:
        seconds = [run.info["train_wall_s"] for run in runs if "train_wall_s" in run.info]
        return f"training {statistics.fmean(seconds):.0f} s per seed" if seconds else "training"
    method = runs[0].config.get("debias", {}).get("method", "")
    languages = len(fit.get("languages", []))
    size = {"center": f"{languages} mean vectors; needs each text's language",
            "lir": f"{languages} x {fit.get('rank')} language directions; needs each text's language",
            "lsar": f"one projection removing {fit.get('rank')} directions; no language label",
            "shift": f"{languages} document offsets (scale {fit.get('scale')}); needs each document's language, "
                     "none at query time"}.get(method, method)
    return f"{size}; fit {fit.get('fit_seconds', 0):.3f} s on {fit.get('texts')} reference texts"
