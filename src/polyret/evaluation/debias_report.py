"""The post-hoc debiasing section of an evaluation's ``report.md``: how each method was fitted and what it skipped.

It reads the ``meta["debias"]`` that ``polyret evaluate --debias`` stores in ``results.json`` (method label ->
``{"fit": ..., "skipped": {task: reason}}``, see :class:`~polyret.evaluation.debiased.DebiasedRun`), so the report
and the results file always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polyret.evaluation.markdown import markdown_table

HEADERS = ["method", "fitted on", "reference texts", "languages", "rank", "fit (s)"]


def debias_section(debias: Mapping[str, Mapping[str, Any]]) -> str:
    """``## Post-hoc debiasing``: one row per method (reference, texts, languages, rank, fit time), then every task
    a method skipped with the reason; empty when there is no method."""
    if not debias:
        return ""
    rows = [_row(label, entry.get("fit", {})) for label, entry in debias.items()]
    skipped = [f"- {label} skipped {task}: {reason}" for label, entry in debias.items()
               for task, reason in entry.get("skipped", {}).items()]
    parts = ["## Post-hoc debiasing", markdown_table(HEADERS, rows)]
    parts.append("Skipped (no result for these tasks):\n\n" + "\n".join(skipped) if skipped
                 else "No method skipped a task.")
    return "\n\n".join(parts)


def _row(label: str, fit: Mapping[str, Any]) -> list[str | int | float | None]:
    if fit.get("transductive") and "reference" not in fit:
        per_task = fit.get("per_task", {})
        ranks = sorted({str(facts.get("rank")) for facts in per_task.values() if facts.get("rank") is not None})
        return [label, "each task's own test pool (transductive)", None, None, ", ".join(ranks) or None, None]
    reference = fit.get("reference", {})
    source = ", ".join(str(part) for part in (
        reference.get("source"), f"{reference['articles']} articles" if "articles" in reference else None,
        f"transductive: {reference['transductive']}" if reference.get("transductive") else None,
    ) if part)
    languages = fit.get("languages", [])
    return [label, source or None, fit.get("texts"), f"{len(languages)}: {', '.join(languages)}",
            fit.get("rank"), fit.get("fit_seconds")]
