"""The rules that turn hybrid's four-way comparison outcomes into yes / no / inconclusive, and the answer's text."""

from __future__ import annotations

import pytest

from polyret.experiments.verdict import decide, explain

TASKS = ("ntrex128", "tico19")


def cell(outcome: str, mde: float = 0.02, family: str = "verdict") -> dict:
    return {"outcome": outcome, "mde": mde, "family": family}


def comparisons(*cells: dict) -> dict:
    """Two baselines x two tasks, filled in order, plus a zero-shot comparison outside the verdict's family."""
    it = iter(cells)
    table = {baseline: {task: next(it) for task in TASKS} for baseline in ("mixed", "monolingual")}
    return table | {"zero-shot": {task: cell("worse", family="other") for task in TASKS}}


ROBUSTNESS = {
    arm: {task: {"score": 0.5, "delta_vs_zero_shot": gain, "in_domain_delta_vs_zero_shot": 0.0} for task in TASKS}
    for arm, gain in (("hybrid", 0.1), ("mixed", 0.05), ("monolingual", 0.0))
}


@pytest.mark.parametrize(
    ("outcomes", "answer"),
    [
        (["better", "better", "inconclusive", "equivalent"], "yes"),  # half better, none worse
        (["better", "inconclusive", "inconclusive", "inconclusive"], "inconclusive"),  # one of four
        (["better", "better", "better", "worse"], "inconclusive"),  # better and worse
        (["worse", "worse", "equivalent", "inconclusive"], "no"),  # worse or equivalent in more than half
        (["equivalent"] * 4, "no"),  # equivalent within the margin: evidence of no gain
        (["worse", "inconclusive", "inconclusive", "inconclusive"], "inconclusive"),  # one loss is not a "no"
        (["inconclusive"] * 4, "inconclusive"),  # not significant is never a "no"
    ],
)
def test_rules(outcomes: list[str], answer: str) -> None:
    verdict = decide(comparisons(*map(cell, outcomes)), ROBUSTNESS, TASKS)
    assert verdict["answer"] == answer
    assert verdict["comparisons"] == 4  # the zero-shot cells are outside the verdict's family
    assert sum(verdict[name] for name in ("better", "worse", "equivalent", "inconclusive")) == 4


def test_not_significant_reads_inconclusive_at_this_scale_with_the_detectable_effect() -> None:
    cells = [cell("inconclusive", mde) for mde in (0.02, 0.04, 0.06, 0.08)]
    text = explain(decide(comparisons(*cells), ROBUSTNESS, TASKS), level=0.05, seeds=1)
    first = text.split(".**")[0]
    assert first == "**Answer: inconclusive at this scale" and "no" not in first.lower().split()
    assert "about 0.050 (median" in text and "0.020 to 0.080" in text


def test_smoke_scale_says_so_in_the_first_sentence() -> None:
    verdict = decide(comparisons(*[cell("inconclusive")] * 4), ROBUSTNESS, TASKS)
    text = explain(verdict, level=0.05, seeds=1, smoke=True)
    assert text.startswith("**Answer: inconclusive at this scale (a smoke-scale run).**")
    assert "detect differences of about 0.020" in text


def test_nothing_to_compare_is_inconclusive() -> None:
    verdict = decide({}, ROBUSTNESS, TASKS)
    assert verdict["answer"] == "inconclusive" and verdict["comparisons"] == 0
    assert "Nothing to compare" in explain(verdict, level=0.05, seeds=1)


def test_explanation_quotes_the_numbers() -> None:
    verdict = decide(comparisons(*[cell("better")] * 4), ROBUSTNESS, TASKS)
    text = explain(verdict, level=0.05, seeds=3)
    assert "Answer: yes." in text and "better in 4, worse in 0" in text and "hierarchical bootstrap" in text
    assert "+0.1000" in text and "best baseline (mixed) by +0.0500" in text
