"""The evaluation report of one model: ``results.json``, ``report.md`` and PNG figures in one folder.

``results.json`` holds every :class:`TaskResult` (scores, matrices, per-query values, details) with the model name
and run metadata; ``report.md`` shows, per task, the scores, and where the result has them the per-language table
(mono / cross / multi mAP and bias), the CLSD swap-type table, the language x language matrices (as tables and
heatmaps) and a bar chart of the language bias per query language. Every number in the markdown is read from the
same results, so the two always agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyret.errors import DataError
from polyret.evaluation.debias_report import debias_section
from polyret.evaluation.markdown import markdown_table, matrix_table
from polyret.evaluation.plots import bar_chart, heatmap
from polyret.evaluation.result import TaskResult
from polyret.io import atomic_write, read_json, write_json
from polyret.schema import Record, check_shape

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"
HEATMAP_METRICS = ("map", "p@1")
"""Matrices drawn as heatmaps (the others appear as tables only)."""
BIAS_KEYS = (
    "bias", "bias_norm", "peer@10", "peer_nonrel@10", "peer_rel@10", "own_lang_share@10", "relevant_own_lang_share",
    "pref_gap@10", "pref_ratio@10", "own_r@10", "other_r@10",
)
"""Per-language values shown in the bias table rather than the retrieval table (docs/evaluation.md defines them)."""
BIAS_NOTE = (
    "bias: mean max − min rank of a query's relevant items (lower is better); peer@10: PEER, the probability that "
    "every language has the same expected rank (1 is fair; _nonrel / _rel: the non-relevant and relevant level "
    "alone); own_lang_share@10 against relevant_own_lang_share: the query's language in the top 10 and among the "
    "answers (pref_gap@10: their difference, pref_ratio@10: their ratio); own_r@10 / other_r@10: recall@10 of the "
    "answers in the query's language / in each other language (mean)."
)


@dataclass(slots=True)
class ReportFiles:
    """What :func:`write_evaluation_report` wrote."""

    results: Path
    markdown: Path
    figures: list[Path] = field(default_factory=list)


def write_evaluation_report(
    results: Mapping[str, TaskResult], out_dir: str | Path, *, model_name: str, meta: Mapping[str, Any] | None = None
) -> ReportFiles:
    """Write ``results.json``, ``report.md`` and the figures of one model's results to ``out_dir``.

    Args:
        results: task name -> result (as returned by :func:`polyret.evaluation.suite.run_suite`).
        out_dir: the report folder (created if needed).
        model_name: the model as the user named it.
        meta: run metadata shown in the report (suite, fingerprint, data directory, timings, ...).
    """
    out_dir = Path(out_dir)
    meta = dict(meta or {})
    files = ReportFiles(out_dir / RESULTS_FILE, out_dir / REPORT_FILE)
    payload = {"model": model_name, "meta": meta, "results": {name: r.to_dict() for name, r in results.items()}}
    write_json(files.results, payload)
    sections = [f"# Evaluation of `{model_name}`", _meta_section(meta), _summary_section(results),
                debias_section(meta.get("debias", {}))]
    sections += [_task_section(name, result, out_dir, files.figures) for name, result in results.items()]
    with atomic_write(files.markdown) as handle:
        handle.write("\n\n".join(s for s in sections if s) + "\n")
    return files


def read_evaluation_results(path: str | Path) -> tuple[str, dict[str, Any], dict[str, TaskResult]]:
    """Read a ``results.json`` (or the folder holding one): ``(model name, meta, task name -> result)``.

    Raises:
        DataError: the file is missing or does not hold evaluation results.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    data = read_json(path)
    if not (isinstance(data, dict) and {"model", "results"} <= data.keys()):
        raise DataError(path, "not an evaluation results file (no model and results)",
                        expected="polyret evaluate output")
    check_shape(data, Record({"model": str, "results": dict}, {"meta": dict}, open=True), path)
    results = {name: TaskResult.from_json(item, path, f"/results/{name}") for name, item in data["results"].items()}
    return data["model"], data.get("meta", {}), results


def _meta_section(meta: Mapping[str, Any]) -> str:
    if not meta:
        return ""
    rows = [[str(k), str(v)] for k, v in meta.items() if isinstance(v, (str, int, float)) or v is None]
    return markdown_table(["run", "value"], rows) if rows else ""


def _summary_section(results: Mapping[str, TaskResult]) -> str:
    rows = [[name, r.main, r.main_score] for name, r in results.items()]
    return "## Summary\n\n" + markdown_table(["task", "main metric", "score"], rows)


def _task_section(name: str, result: TaskResult, out_dir: Path, figures: list[Path]) -> str:
    parts = [f"## {name}", markdown_table(["metric", "value"], [[k, v] for k, v in sorted(result.scores.items())])]
    by_lang = result.details.get("multi_by_lang")
    if by_lang:
        parts.append("### Per query language\n\n" + _language_table(result, by_lang))
        biases = {lang: values["bias"] for lang, values in sorted(by_lang.items()) if "bias" in values}
        if biases:
            parts.append(f"### Language bias per query language\n\n{BIAS_NOTE}\n\n" + _bias_table(by_lang))
            path = bar_chart(biases, out_dir / f"{slug(name)}-bias.png", title=f"{name}: language bias",
                             ylabel="mean max - min rank")
            figures.append(path)
            parts.append(f"![{name} language bias]({path.name})")
    swaps = result.details.get("swaps")
    if swaps:
        parts.append("### Accuracy against annotated distractors\n\n" + _swap_table(swaps))
    for metric, matrix in sorted(result.matrices.items()):
        parts.append(f"### {metric} (rows: query language, columns: candidate language)\n\n" + matrix_table(matrix))
        if metric in HEATMAP_METRICS:
            path = heatmap(matrix, out_dir / f"{slug(name)}-{slug(metric)}.png", title=f"{name}: {metric}")
            figures.append(path)
            parts.append(f"![{name} {metric}]({path.name})")
    return "\n\n".join(parts)


def _language_table(result: TaskResult, by_lang: Mapping[str, Mapping[str, float]]) -> str:
    """Per query language: mono (X-X) and mean cross (X-Y) mAP from the ``map`` matrix, then the pooled values."""
    matrix = result.matrices.get("map", {})
    pooled_keys = sorted({k for values in by_lang.values() for k in values} - set(BIAS_KEYS))
    rows = []
    for lang in sorted(by_lang):
        row: list[Any] = [lang]
        if matrix:
            others = [v for pl, v in matrix.get(lang, {}).items() if pl != lang]
            row += [matrix.get(lang, {}).get(lang), sum(others) / len(others) if others else None]
        rows.append(row + [by_lang[lang].get(k) for k in pooled_keys])
    headers = ["query language", *(["mono map", "cross map"] if matrix else []), *(f"multi {k}" for k in pooled_keys)]
    return markdown_table(headers, rows)


def _bias_table(by_lang: Mapping[str, Mapping[str, float]]) -> str:
    keys = [k for k in BIAS_KEYS if any(k in values for values in by_lang.values())]
    rows = [[lang, *(by_lang[lang].get(k) for k in keys)] for lang in sorted(by_lang)]
    return markdown_table(["query language", *keys], rows)


def _swap_table(swaps: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    rows = [[kind, value, int(s["n"]), s["acc"]] for kind, values in swaps.items() for value, s in values.items()]
    return markdown_table(["annotation", "value", "distractors", "true translation ranked higher"], rows)


def slug(text: str) -> str:
    """``text`` as a safe file-name part (``r@1`` -> ``r-at-1``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text.replace("@", "-at-")).strip("-")
