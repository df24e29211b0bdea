"""A plain-language answer to the study's question, derived by fixed rules from the numbers (never written by hand).

Question: does hybrid batch training make multilingual retrieval more robust to domain shift than standard
fine-tuning? Evidence: hybrid against each standard fine-tuning arm on each domain-shift task (the verdict's family
of comparisons, Holm-adjusted together), each one **better**, **worse** (adjusted p below the level),
**equivalent** (TOST within the margin) or **inconclusive** (neither).

Rules, in order: **yes** when hybrid is better in at least half of the comparisons and worse in none; **no** when it
is better in none and worse or equivalent in more than half; otherwise **inconclusive at this scale**, stated with
the smallest difference the comparisons could detect (their median MDE). "Not significant" alone is never a "no".
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from polyret.experiments.analysis import VERDICT_FAMILY
from polyret.experiments.arm_names import BASELINE_ARMS, HYBRID

QUESTION = (
    "Does hybrid batch training make multilingual retrieval more robust to domain shift than standard fine-tuning?"
)
OUTCOMES = ("better", "worse", "equivalent", "inconclusive")


def decide(
    comparisons: dict[str, dict[str, dict[str, Any]]],
    robustness: dict[str, dict[str, dict[str, float | None]]],
    domain_shift: Sequence[str],
) -> dict[str, Any]:
    """Apply the rules to the verdict's family of comparisons (cells with ``family == "verdict"``).

    Returns:
        ``{"answer": "yes"|"no"|"inconclusive", "reason", "comparisons", "better", "worse", "equivalent",
        "inconclusive", "mde": {"median", "min", "max"} or None, "mean_shift_gain": {arm: mean change vs zero-shot
        over the domain-shift tasks}}``.
    """
    cells = [cell for cells in comparisons.values() for cell in cells.values() if cell["family"] == VERDICT_FAMILY]
    counts = {name: sum(cell["outcome"] == name for cell in cells) for name in OUTCOMES}
    total = len(cells)
    if not cells:
        answer, reason = "inconclusive", "the study has no hybrid arm, no fine-tuning baseline or no domain-shift task"
    elif counts["worse"] == 0 and counts["better"] > 0 and 2 * counts["better"] >= total:
        answer, reason = "yes", "hybrid is better in at least half of the comparisons and worse in none"
    elif counts["better"] == 0 and 2 * (counts["worse"] + counts["equivalent"]) > total:
        answer, reason = "no", "hybrid is better in none and worse or equivalent in more than half"
    elif counts["better"] and counts["worse"]:
        answer, reason = "inconclusive", "hybrid is better in some comparisons and worse in others"
    else:
        answer, reason = "inconclusive", "too few comparisons are decided either way at this scale"
    mdes = [cell["mde"] for cell in cells if cell.get("mde") is not None]
    return {
        "answer": answer,
        "reason": reason,
        "comparisons": total,
        **counts,
        "mde": {"median": statistics.median(mdes), "min": min(mdes), "max": max(mdes)} if mdes else None,
        "mean_shift_gain": _mean_shift_gains(robustness, domain_shift),
    }


def _mean_shift_gains(
    robustness: dict[str, dict[str, dict[str, float | None]]], domain_shift: Sequence[str]
) -> dict[str, float]:
    gains: dict[str, float] = {}
    for arm in (HYBRID, *BASELINE_ARMS):
        deltas = [robustness.get(arm, {}).get(task, {}).get("delta_vs_zero_shot") for task in domain_shift]
        if deltas and all(d is not None for d in deltas):
            gains[arm] = statistics.fmean(deltas)
    return gains


def explain(verdict: dict[str, Any], *, level: float, seeds: int, smoke: bool = False) -> str:
    """The answer as a short paragraph, every number taken from ``verdict``.

    The first sentence is the answer; "inconclusive" reads "inconclusive at this scale", and a smoke-scale run
    (``smoke``) says so in it. The detectable effect follows whenever it is known.
    """
    scale = " (a smoke-scale run)" if smoke else ""
    if verdict["comparisons"] == 0:
        return f"**Answer: inconclusive{scale}.** Nothing to compare: {verdict['reason']}."
    answer = "inconclusive at this scale" if verdict["answer"] == "inconclusive" else verdict["answer"]
    text = f"**Answer: {answer}{scale}.**"
    mde = verdict["mde"]
    if mde is not None:
        text += (
            f" The comparisons could detect differences of about {mde['median']:.3f} (median minimum detectable "
            f"effect at 80% power; {mde['min']:.3f} to {mde['max']:.3f}); smaller true differences would go unseen."
        )
    if smoke:
        text += " This run is sized to check the pipeline end to end, not to answer the question."
    test = "hierarchical bootstrap over seeds and queries" if seeds > 1 else "paired randomisation test over queries"
    text += (
        f" Against the standard fine-tuning arms on the domain-shift tasks ({verdict['comparisons']} comparisons; "
        f"{test}, Holm-adjusted p < {level:g}; equivalence by TOST within the margin), hybrid batch training was "
        f"better in {verdict['better']}, worse in {verdict['worse']}, equivalent in {verdict['equivalent']} and "
        f"inconclusive in {verdict['inconclusive']}; so {verdict['reason']}."
    )
    gains = verdict["mean_shift_gain"]
    if HYBRID in gains and len(gains) > 1:
        best = max((arm for arm in gains if arm != HYBRID), key=gains.__getitem__)
        text += (
            f" Averaged over the domain-shift tasks, hybrid changed the zero-shot score by {gains[HYBRID]:+.4f}, "
            f"the best baseline ({best}) by {gains[best]:+.4f}."
        )
    return text
