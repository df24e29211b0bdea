"""The rules that turn hybrid's comparisons into yes / no / inconclusive."""

from __future__ import annotations

import pytest

from polyret.experiments.verdict import decide, explain

TASKS = ("ntrex128", "tico19")


def comparison(diff: float, p_queries: float | None, p_seeds: float | None = None, n_seeds: int = 1) -> dict:
    return {"diff": diff, "p_queries": p_queries, "p_seeds": p_seeds, "n_seeds": n_seeds}


def comparisons(*cells: dict) -> dict:
    """Two baselines x two tasks, filled in order."""
    it = iter(cells)
    return {baseline: {task: next(it) for task in TASKS} for baseline in ("mixed", "monolingual")}


ROBUSTNESS = {
    arm: {task: {"score": 0.5, "delta_vs_zero_shot": gain, "delta_vs_in_domain": 0.0} for task in TASKS}
    for arm, gain in (("hybrid", 0.1), ("mixed", 0.05), ("monolingual", 0.0))
}


@pytest.mark.parametrize(
    ("cells", "answer"),
    [
        ([comparison(0.1, 0.01)] * 2 + [comparison(0.02, 0.4)] * 2, "yes"),  # 2 of 4 significant wins, no loss
        ([comparison(0.1, 0.01)] + [comparison(0.02, 0.4)] * 3, "inconclusive"),  # 1 of 4 wins
        ([comparison(0.1, 0.01)] * 3 + [comparison(-0.1, 0.01)], "inconclusive"),  # wins and a loss
        ([comparison(-0.1, 0.01)] + [comparison(0.01, 0.6)] * 3, "no"),  # a loss, no win
        ([comparison(-0.01, 0.6)] * 4, "no"),  # never ahead, nothing significant
        ([comparison(0.01, 0.6)] * 4, "inconclusive"),  # ahead but not significantly
        ([comparison(0.1, None)] * 4, "inconclusive"),  # no per-query values: nothing is significant
    ],
)
def test_rules(cells: list[dict], answer: str) -> None:
    verdict = decide(comparisons(*cells), ROBUSTNESS, TASKS, level=0.05)
    assert verdict["answer"] == answer
    assert verdict["wins"] + verdict["losses"] + verdict["ties"] == 4


def test_several_seeds_require_significance_over_seeds_too() -> None:
    significant = [comparison(0.1, 0.01, p_seeds=0.01, n_seeds=3)] * 4
    not_over_seeds = [comparison(0.1, 0.01, p_seeds=0.3, n_seeds=3)] * 4
    assert decide(comparisons(*significant), ROBUSTNESS, TASKS, level=0.05)["answer"] == "yes"
    assert decide(comparisons(*not_over_seeds), ROBUSTNESS, TASKS, level=0.05)["answer"] == "inconclusive"


def test_nothing_to_compare_is_inconclusive() -> None:
    verdict = decide({}, ROBUSTNESS, TASKS, level=0.05)
    assert verdict["answer"] == "inconclusive" and verdict["comparisons"] == 0
    assert "Nothing to compare" in explain(verdict, level=0.05, seeds=1)


def test_explanation_quotes_the_numbers() -> None:
    verdict = decide(comparisons(*[comparison(0.1, 0.01)] * 4), ROBUSTNESS, TASKS, level=0.05)
    text = explain(verdict, level=0.05, seeds=1)
    assert "Answer: yes." in text and "better in 4" in text
    assert "+0.1000" in text and "best baseline (mixed) by +0.0500" in text
