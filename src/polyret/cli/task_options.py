"""CLI helpers of ``polyret evaluate`` for task discovery and a user's own task files: the ``--list-tasks`` tables
and the task specs built from ``--task-file`` / ``--task-format`` / ``--task-name``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.table import Table

from polyret.data.user_tasks import COLUMN_ROLES, TASK_FORMATS
from polyret.errors import UsageError
from polyret.evaluation.catalog import CATALOG, SUITES
from polyret.evaluation.result import TaskResult
from polyret.evaluation.user_tasks import TaskFileSpec


def task_file_specs(
    paths: Sequence[Path], formats: Sequence[str], names: Sequence[str], languages: list[str] | None,
    pivot: str | None, columns: str | None = None,
) -> list[TaskFileSpec]:
    """One task per ``--task-file``; the n-th ``--task-format`` and ``--task-name`` go with the n-th file."""
    for flag, values in (("--task-format", formats), ("--task-name", names)):
        if len(values) > len(paths):
            raise UsageError(f"{len(values)} {flag} value(s) for {len(paths)} --task-file(s): give at most one per "
                             "file, in the same order")
    bad = [f for f in formats if f not in TASK_FORMATS]
    if bad:
        raise UsageError(f"--task-format {bad[0]!r} is not one of {', '.join(TASK_FORMATS)}")
    return [
        TaskFileSpec(str(path), formats[i] if i < len(formats) else None, names[i] if i < len(names) else "",
                     tuple(languages) if languages else None, pivot, parse_columns(columns))
        for i, path in enumerate(paths)
    ]


def parse_columns(text: str | None) -> dict[str, str | list[str]]:
    """``"query=src,translation=good,distractors=bad1+bad2"`` -> the ``columns`` of a discrimination CSV."""
    columns: dict[str, str | list[str]] = {}
    for part in (p.strip() for p in (text or "").split(",") if p.strip()):
        role, _, name = (x.strip() for x in part.partition("="))
        if role not in COLUMN_ROLES or not name:
            raise UsageError(f"--task-columns: {part!r} is not ROLE=COLUMN with ROLE one of {', '.join(COLUMN_ROLES)}")
        columns[role] = [n.strip() for n in name.split("+") if n.strip()] if role == "distractors" else name
    return columns


def task_tables(data_dir: str | Path | None) -> list[Table]:
    """The registered tasks (size, languages, licence, local files) and the suites (their task names)."""
    tasks = Table(title="Registered tasks (--tasks NAME,...)")
    for column in ("task", "measures", "items", "languages", "licence", "local files"):
        tasks.add_column(column, no_wrap=column == "task")
    for meta in CATALOG.values():
        present, total = meta.local_files(data_dir)
        fetch = "" if present == total else f" (downloaded on first use, or: polyret data fetch {meta.dataset})"
        tasks.add_row(meta.name, meta.measures, meta.items, ", ".join(meta.languages), meta.licence,
                      f"{present}/{total}{fetch}")
    suites = Table(title="Suites (--suite NAME)")
    suites.add_column("suite")
    suites.add_column("tasks")
    for name, suite in SUITES.items():
        suites.add_row(name, ", ".join(suite.task_names))
    return [tasks, suites]


def skip_lines(results: dict[str, TaskResult]) -> list[str]:
    """One line per task that skipped rows on purpose (reason and count); the console prints it as typed."""
    return [
        f"{name}: skipped {count} {reason}"
        for name, result in results.items()
        for reason, count in (result.details.get("skipped") or {}).items()
    ]
