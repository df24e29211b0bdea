"""A study's own task files (config key ``evaluation.task_files``): each entry a user file evaluated on every arm,
counted as in-domain or domain-shift as the user says.

Entry keys: ``path`` (required; a file, or a folder for BEIR, relative to the working directory), ``kind``
(``in-domain`` or ``domain-shift``, required), ``format``, ``name``, ``languages``, ``pivot`` and ``columns`` as in
:class:`polyret.evaluation.user_tasks.TaskFileSpec`.

Example (YAML)::

    evaluation:
      task_files:
        - {path: data/catalogue.jsonl, kind: domain-shift, languages: [en, de, fr]}
        - {path: data/faq.jsonl, format: qa, kind: in-domain, name: faq}

Relations: :func:`polyret.experiments.study_data.prepare_study_data` adds the specs to the study's suite; the
report reads :func:`task_names` to place their results beside the registered tasks.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from polyret.errors import UsageError
from polyret.evaluation.user_tasks import TaskFileSpec

KINDS = ("in-domain", "domain-shift")
ENTRY_KEYS = ("path", "kind", "format", "name", "languages", "pivot", "columns")


@dataclass(frozen=True, slots=True)
class StudyTaskFile:
    """One ``evaluation.task_files`` entry: the task spec and whether it counts as in-domain or domain-shift."""

    spec: TaskFileSpec
    kind: str


def study_task_files(entries: list[dict[str, Any]]) -> list[StudyTaskFile]:
    """Validate the entries of ``evaluation.task_files`` and build their specs.

    Raises:
        UsageError: naming the entry's key (``evaluation.task_files[1].kind``) and what was expected.
    """
    return [_entry(entry, f"evaluation.task_files[{i}]") for i, entry in enumerate(entries)]


def _entry(entry: dict[str, Any], where: str) -> StudyTaskFile:
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        raise UsageError(f"config key '{where}.{unknown[0]}': unknown (known: {', '.join(ENTRY_KEYS)})")
    for key in ("path", "kind"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise UsageError(f"config key '{where}.{key}': required, a text")
    if entry["kind"] not in KINDS:
        raise UsageError(f"config key '{where}.kind': {entry['kind']!r} is not one of {', '.join(KINDS)}")
    languages = entry.get("languages")
    if languages is not None and not (isinstance(languages, list) and all(isinstance(x, str) for x in languages)):
        raise UsageError(f"config key '{where}.languages': expected a list of language codes, got {languages!r}")
    for key in ("format", "name", "pivot"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise UsageError(f"config key '{where}.{key}': expected a text, got {entry[key]!r}")
    if not isinstance(entry.get("columns") or {}, dict):
        raise UsageError(f"config key '{where}.columns': expected a mapping of role -> column name")
    try:
        spec = TaskFileSpec(entry["path"], entry.get("format"), entry.get("name"), tuple(languages or ()) or None,
                            entry.get("pivot"), dict(entry.get("columns") or {}))
    except UsageError as exc:
        raise UsageError(f"config key '{where}.format': {exc}") from None
    return StudyTaskFile(spec, entry["kind"])


def check_task_file_names(files: list[StudyTaskFile], registered: Collection[str]) -> None:
    """Every task file needs a name of its own: results, tables and checksums are keyed by it.

    Raises:
        UsageError: two files share a name, or a file takes the name of a registered task.
    """
    seen: dict[str, int] = {}
    for i, item in enumerate(files):
        name, where = item.spec.name, f"config key 'evaluation.task_files[{i}].name'"
        if name in registered:
            raise UsageError(f"{where}: {name!r} is the name of a registered task (give the file a name of its own)")
        if name in seen:
            raise UsageError(f"{where}: {name!r} is also the name of task_files[{seen[name]}] (give each file a "
                             "name of its own)")
        seen[name] = i


def task_names(entries: list[dict[str, Any]], kind: str) -> list[str]:
    """Names of the task files of one ``kind``, in config order."""
    return [item.spec.name for item in study_task_files(entries) if item.kind == kind]
