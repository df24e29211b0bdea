"""A study's own task files (config key ``evaluation.task_files``): each entry a user file evaluated on every arm,
counted as in-domain or domain-shift as the user says.

Entry keys: ``path`` (required; a file, or a folder for BEIR, relative to the working directory), ``kind``
(``in-domain`` or ``domain-shift``, required), and ``format``, ``name``, ``languages``, ``pivot``, ``columns`` and
``k`` as in :class:`polyret.evaluation.user_tasks.TaskFileSpec`, read by the one config schema
(:func:`polyret.schema.build_dataclass`, which makes each entry a :class:`TaskFileEntry`): an unknown key or column
role is an error.

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
from dataclasses import dataclass, field
from typing import Any, ClassVar

from polyret.data.user_tasks import TASK_FORMATS
from polyret.errors import UsageError
from polyret.evaluation.user_tasks import TaskFileSpec
from polyret.schema import Check, at_least, build_dataclass, distinct, given_keys_field, one_of

KINDS = ("in-domain", "domain-shift")


@dataclass
class TaskFileEntry:
    """One ``evaluation.task_files`` entry as the config schema reads it: :class:`TaskFileSpec`'s keys plus ``kind``.

    Attributes:
        path / format / name / languages / pivot / columns / k: as in :class:`TaskFileSpec` (``path`` required).
        kind: ``in-domain`` or ``domain-shift`` (required).
    """

    path: str = ""
    kind: str = ""
    format: str | None = None
    name: str | None = None
    languages: list[str] | None = None
    pivot: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    k: int = 100
    given_keys: tuple[str, ...] = given_keys_field()

    RANGES: ClassVar[dict[str, Check]] = {
        "path": Check(lambda value: bool(value.strip()), "a file or folder path (required)"),
        "kind": one_of(lambda: KINDS), "format": one_of(lambda: TASK_FORMATS), "languages": distinct(),
        "k": at_least(1),
    }

    @classmethod
    def from_config(cls, value: Any, where: str) -> TaskFileEntry:
        """An entry from its config mapping, checked whole (required keys, column roles).

        Raises:
            UsageError: naming the entry's key (``evaluation.task_files[1].kind``) and what was expected.
        """
        entry = build_dataclass(cls, value, where=where)
        for key in ("path", "kind"):
            if not getattr(entry, key):
                raise UsageError(f"config key '{where}.{key}': required")
        entry.spec(where)
        return entry

    def spec(self, where: str = "evaluation.task_files") -> TaskFileSpec:
        """The entry as a suite task.

        Raises:
            UsageError: a bad ``columns`` mapping, naming ``where``.
        """
        try:
            return TaskFileSpec(self.path, self.format, self.name or "", tuple(self.languages or ()) or None,
                                self.pivot, self.columns, self.k)
        except UsageError as exc:
            raise UsageError(f"config key '{where}.columns': {exc}") from None


@dataclass(frozen=True, slots=True)
class StudyTaskFile:
    """One ``evaluation.task_files`` entry: the task spec and whether it counts as in-domain or domain-shift."""

    spec: TaskFileSpec
    kind: str


def study_task_files(entries: list[TaskFileEntry]) -> list[StudyTaskFile]:
    """The specs of the entries of ``evaluation.task_files``, each with its kind."""
    return [StudyTaskFile(entry.spec(f"evaluation.task_files[{i}]"), entry.kind) for i, entry in enumerate(entries)]


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


def task_names(entries: list[TaskFileEntry], kind: str) -> list[str]:
    """Names of the task files of one ``kind``, in config order."""
    return [item.spec.name for item in study_task_files(entries) if item.kind == kind]
