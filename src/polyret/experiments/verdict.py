"""A plain-language answer to the study's question, derived by fixed rules from the numbers (never written by hand).

Question: does hybrid batch training make multilingual retrieval more robust to domain shift than standard
fine-tuning? Evidence: hybrid against each standard fine-tuning arm on each domain-shift task, counted as a win or
a loss only when the paired test is significant (over queries, and over seeds too when there are several).

Rules: **yes** when hybrid never loses and wins at least half of the comparisons; **no** when it wins none and
either loses some or is never ahead on average; **inconclusive** otherwise (or when there is nothing to compare).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from polyret.experiments.config import BASELINE_ARMS, HYBRID

QUESTION = (
    "Does hybrid batch training make multilingual retrieval more robust to domain shift than standard fine-tuning?"
)


def decide(
    comparisons: dict[str, dict[str, dict[str, Any]]],
    robustness: dict[str, dict[str, dict[str, float | None]]],
    domain_shift: Sequence[str],
    *,
    level: float,
) -> dict[str, Any]:
    """Apply the rules to hybrid's comparisons with the fine-tuning baselines on the domain-shift tasks.

    Returns:
        ``{"answer": "yes"|"no"|"inconclusive", "wins", "losses", "ties", "comparisons", "mean_shift_gain": {arm:
        mean change vs zero-shot over the domain-shift tasks}, "reason"}``.
    """
    selected = [comparisons[baseline][task] for baseline in BASELINE_ARMS if baseline in comparisons
                for task in domain_shift]
    outcomes = [_outcome(comparison, level) for comparison in selected]
    wins, losses = outcomes.count("win"), outcomes.count("loss")
    diffs = [comparison["diff"] for comparison in selected]
    if not outcomes:
        answer, reason = "inconclusive", "the study has no hybrid arm, no fine-tuning baseline or no domain-shift task"
    elif losses == 0 and wins > 0 and 2 * wins >= len(outcomes):
        answer, reason = "yes", "hybrid is significantly better in at least half of the comparisons and never worse"
    elif wins == 0 and (losses > 0 or max(diffs) <= 0):
        answer, reason = "no", "hybrid is never significantly better, and is worse or never ahead on average"
    else:
        answer, reason = "inconclusive", "the comparisons do not agree or are mostly not significant"
    return {
        "answer": answer,
        "reason": reason,
        "wins": wins,
        "losses": losses,
        "ties": len(outcomes) - wins - losses,
        "comparisons": len(outcomes),
        "mean_shift_gain": _mean_shift_gains(robustness, domain_shift),
    }


def _outcome(comparison: dict[str, Any], level: float) -> str:
    p_values = [comparison["p_queries"], comparison["p_seeds"] if comparison["n_seeds"] > 1 else None]
    tested = [p for p in p_values if p is not None]
    if not tested or any(p >= level for p in tested):
        return "tie"
    return "win" if comparison["diff"] > 0 else "loss" if comparison["diff"] < 0 else "tie"


def _mean_shift_gains(
    robustness: dict[str, dict[str, dict[str, float | None]]], domain_shift: Sequence[str]
) -> dict[str, float]:
    gains: dict[str, float] = {}
    for arm in (HYBRID, *BASELINE_ARMS):
        deltas = [robustness.get(arm, {}).get(task, {}).get("delta_vs_zero_shot") for task in domain_shift]
        if deltas and all(d is not None for d in deltas):
            gains[arm] = statistics.fmean(deltas)
    return gains


def explain(verdict: dict[str, Any], *, level: float, seeds: int) -> str:
    """The answer as a short paragraph, every number taken from ``verdict``."""
    if verdict["comparisons"] == 0:
        return f"**Answer: inconclusive.** Nothing to compare: {verdict['reason']}."
    test = "a paired randomisation test over queries" + (" and a paired t-test over seeds" if seeds > 1 else "")
    text = (
        f"**Answer: {verdict['answer']}.** Against the standard fine-tuning arms on the domain-shift tasks "
        f"({verdict['comparisons']} comparisons), hybrid batch training was significantly better in "
        f"{verdict['wins']}, significantly worse in {verdict['losses']} and not significantly different in "
        f"{verdict['ties']} ({test}, p < {level:g}); so {verdict['reason']}."
    )
    gains = verdict["mean_shift_gain"]
    if HYBRID in gains and len(gains) > 1:
        best = max((arm for arm in gains if arm != HYBRID), key=gains.__getitem__)
        text += (
            f" Averaged over the domain-shift tasks, hybrid changed the zero-shot score by {gains[HYBRID]:+.4f}, "
            f"the best baseline ({best}) by {gains[best]:+.4f}."
        )
    return text
