"""The task catalog: every registered task declared once, with its metadata (after mteb's ``TaskMetadata``).

A :class:`TaskMetadata` names the task's spec (whole) and its slice in the ``quick`` suite, its title, kind (hence
its main and headline scores, :mod:`polyret.evaluation.kinds`), languages, size, data set (hence licence and files),
and its role: ``in-domain`` (QA retrieval, the study's in-domain tasks), ``domain-shift``, or ``held-out`` (in no
suite, run by name). Everything else reads it: :data:`TASKS` and :data:`SUITES`, ``polyret evaluate --list-tasks``,
the report titles (:func:`task_title`), the terminal summary (:func:`headline_scores`), the study's default tasks
(:func:`task_names`) and the data checksums of a study.

The sizes are those of the whole task; they were counted from the data files with the loaders, and a test re-counts
CLSD WMT19, NTREX-128 and TICO-19 (WMT21's 893 rows are those of the registered file, downloaded on demand).

Example::

    for meta in CATALOG.values():
        print(meta.name, meta.title, meta.kind.main_score, meta.items, meta.local_files(data_dir=None))
    register_task(TaskMetadata(BitextSpec("ntrex128", ("en", "sw")), "NTREX sw", ...))  # seen everywhere

Relations: the specs and their evaluators are :mod:`polyret.evaluation.suite`'s; licences and files come from
:data:`polyret.data.registry.DATASETS`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from polyret.data.lareqa import LAREQA_LANGUAGES
from polyret.data.parallel import ntrex_files, tatoeba_languages
from polyret.data.registry import get_dataset, local_file
from polyret.errors import UsageError
from polyret.evaluation.kinds import BITEXT, DISCRIMINATION, HEADLINE_SCORES, QA, TaskKind
from polyret.evaluation.suite import BitextSpec, ClsdSpec, LareqaSpec, SuiteConfig, TaskSpec, TatoebaSpec

TaskRole = Literal["in-domain", "domain-shift", "held-out"]
ROLES: tuple[TaskRole, ...] = ("in-domain", "domain-shift", "held-out")


@dataclass(frozen=True, slots=True)
class TaskMetadata:
    """Declared facts about one registered task.

    Attributes:
        spec: the whole task (its ``name`` is the task's name, as ``--tasks`` takes it).
        title: a short title for tables and figures (``"CLSD (en MT)"``).
        kind: the kind of task (evaluator, main and headline scores).
        measures: what it scores, in a few words.
        items: its size (e.g. ``"1190 questions x 11 languages"``).
        rows: the number behind ``items`` (questions, rows or sentences per language), checked by a test.
        languages: its languages.
        dataset: the registry data set it reads.
        files: globs (below the data set's folder) of the files it reads.
        role: ``in-domain``, ``domain-shift`` or ``held-out`` (in no suite).
        quick: its slice in the ``quick`` suite (the default size caps; ``None``: not in that suite).
        study_default: evaluated by a study unless its config lists the tasks itself.
    """

    spec: TaskSpec
    title: str
    kind: TaskKind
    measures: str
    items: str
    rows: int
    languages: tuple[str, ...]
    dataset: str
    files: tuple[str, ...] = ("*",)
    role: TaskRole = "domain-shift"
    quick: TaskSpec | None = None
    study_default: bool = True

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def licence(self) -> str:
        return get_dataset(self.dataset).licence

    def local_files(self, data_dir: str | Path | None = None) -> tuple[int, int]:
        """(files present locally, files it reads)."""
        spec = get_dataset(self.dataset)
        wanted = [rel for rel in spec.files if any(fnmatch.fnmatch(rel, glob) for glob in self.files)]
        return sum(local_file(spec, rel, data_dir) is not None for rel in wanted), len(wanted)


NTREX_LANGUAGES = ("en", "ar", "de", "es", "fr", "hi", "ru", "zh")
TICO_LANGUAGES = ("en", "ar", "es", "fr", "hi", "ru", "zh")
TATOEBA_LANGUAGES = ("ar", "de", "el", "es", "fr", "hi", "ru", "th", "tr", "vi", "zh")
"""Domain-shift languages: English plus the LAReQA languages each corpus has (and French for CLSD's pair)."""


def _lareqa(dataset: Literal["xquad-r", "mlqa-r"], title: str, items: str, rows: int, quick_groups: int
            ) -> TaskMetadata:
    return TaskMetadata(LareqaSpec(dataset), title, QA, "QA retrieval: mono / cross / multi mAP, bias", items, rows,
                        LAREQA_LANGUAGES[dataset], dataset, role="in-domain",
                        quick=LareqaSpec(dataset, max_groups=quick_groups))


def _clsd(year: int, mt: bool, rows: int) -> TaskMetadata:
    spec = ClsdSpec(year=year, machine_translated=mt)
    variant = "English MT of " if mt else ""
    files = (f"{'MT_M2M_' if mt else ''}CLSD_wmt{year}_*", "*_swaps_ner_pos.tsv")
    held_out = year != 2019
    return TaskMetadata(
        spec, f"CLSD{f' WMT{year % 100}' if held_out else ''}{' (en MT)' if mt else ''}", DISCRIMINATION,
        f"discrimination accuracy, {variant}de<->fr news (WMT{year % 100})", f"{rows} rows x 2 directions", rows,
        ("en",) if mt else ("de", "fr"), "clsd-wmt2021" if held_out else "clsd", files[:1] if held_out else files,
        role="held-out" if held_out else "domain-shift", quick=None if held_out else replace(spec, limit=25),
        study_default=not mt,
    )


CATALOG: dict[str, TaskMetadata] = {
    meta.name: meta
    for meta in (
        _lareqa("xquad-r", "XQuAD-R", "1190 questions x 11 languages", 1190, 1),
        _lareqa("mlqa-r", "MLQA-R", "1148 questions in 2-4 of 7 languages", 1148, 2),
        _clsd(2019, False, 1473),
        _clsd(2019, True, 1473),
        TaskMetadata(BitextSpec("ntrex128", NTREX_LANGUAGES), "NTREX", BITEXT, "bitext P@1, pooled mAP, bias (news)",
                     "1997 sentences x 8 languages", 1997, NTREX_LANGUAGES, "ntrex128",
                     ("DOCUMENT_IDS.tsv", *(ntrex_files()[lang] for lang in NTREX_LANGUAGES)),
                     quick=BitextSpec("ntrex128", ("en", "de", "fr", "zh"), limit=50)),
        TaskMetadata(BitextSpec("tico19", TICO_LANGUAGES), "TICO", BITEXT, "bitext P@1, pooled mAP, bias (medical)",
                     "3071 sentences x 7 languages", 3071, TICO_LANGUAGES, "tico19",
                     quick=BitextSpec("tico19", ("en", "ar", "fr"), limit=50)),
        TaskMetadata(TatoebaSpec(TATOEBA_LANGUAGES), "Tatoeba", BITEXT, "bitext P@1, X-English (everyday)",
                     "548-1000 pairs x 11 languages", 1000, ("en", *TATOEBA_LANGUAGES), "tatoeba-laser",
                     tuple(f"tatoeba.{tatoeba_languages()[lang]}-eng.*" for lang in TATOEBA_LANGUAGES),
                     quick=TatoebaSpec(("de", "fr", "zh"), limit=50)),
        _clsd(2021, False, 893),
        _clsd(2021, True, 893),
    )
}
"""Every registered task by name, in suite order; add one with :func:`register_task`."""


def register_task(meta: TaskMetadata) -> None:
    """Add a task to :data:`CATALOG` (and so to :data:`TASKS`, the suites of its role, ``--list-tasks``, ...).

    Raises:
        UsageError: a task of that name is registered already.
    """
    if meta.name in CATALOG:
        raise UsageError(f"a task named {meta.name!r} is registered already")
    CATALOG[meta.name] = meta


class _Tasks(Mapping[str, TaskSpec]):
    """Task name -> the whole task's spec, read from :data:`CATALOG` at each use."""

    def __getitem__(self, name: str) -> TaskSpec:
        return CATALOG[name].spec

    def __iter__(self) -> Iterator[str]:
        return iter(CATALOG)

    def __len__(self) -> int:
        return len(CATALOG)


TASKS: Mapping[str, TaskSpec] = _Tasks()
"""Every registered task by name, whole (the ``full`` suite's tasks and the held-out CLSD WMT21 pair)."""

_SUITE_ROLES: dict[str, tuple[TaskRole, ...]] = {
    "full": ("in-domain", "domain-shift"), "quick": ("in-domain", "domain-shift"), "lareqa": ("in-domain",),
    "domain-shift": ("domain-shift",),
}


class _Suites(Mapping[str, SuiteConfig]):
    """Suite name -> its tasks, built from :data:`CATALOG` at each use: ``full`` (every in-domain and domain-shift
    task, whole), ``quick`` (their ``quick`` slices), ``lareqa`` (in-domain) and ``domain-shift``."""

    def __getitem__(self, name: str) -> SuiteConfig:
        roles = _SUITE_ROLES[name]
        metas = [meta for meta in CATALOG.values() if meta.role in roles]
        specs = [meta.quick for meta in metas] if name == "quick" else [meta.spec for meta in metas]
        return SuiteConfig(name, tuple(spec for spec in specs if spec is not None))

    def __iter__(self) -> Iterator[str]:
        return iter(_SUITE_ROLES)

    def __len__(self) -> int:
        return len(_SUITE_ROLES)


SUITES: Mapping[str, SuiteConfig] = _Suites()
"""The named suites."""


def get_suite(name: str) -> SuiteConfig:
    """A named suite from :data:`SUITES`."""
    if name not in SUITES:
        raise UsageError(f"unknown suite {name!r} (expected one of {', '.join(SUITES)})")
    return SUITES[name]


def resolve_task(name: str) -> TaskSpec:
    """The registered task ``name``, whole.

    Raises:
        UsageError: no registered task has that name.
    """
    if name not in CATALOG:
        raise UsageError(f"unknown task {name!r} (registered tasks: {', '.join(CATALOG)})")
    return CATALOG[name].spec


def select_tasks(suite: SuiteConfig, names: Iterable[str]) -> SuiteConfig:
    """``suite`` restricted to the named tasks (in suite order); a registered task the suite lacks (e.g.
    ``clsd-wmt21``) is added after them, whole.

    Raises:
        UsageError: a name neither in the suite nor registered.
    """
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in suite.task_names and n not in CATALOG]
    if unknown:
        raise UsageError(
            f"suite {suite.name!r} has no task {', '.join(unknown)}; its tasks: {', '.join(suite.task_names)}; "
            f"registered tasks: {', '.join(CATALOG)}"
        )
    extra = tuple(CATALOG[n].spec for n in wanted if n not in suite.task_names)
    return replace(suite, tasks=(*(t for t in suite.tasks if t.name in wanted), *extra))


def task_names(role: TaskRole | None = None, *, study_default: bool = False) -> list[str]:
    """Registered task names of ``role`` (``None``: every role), only the study's defaults when ``study_default``."""
    return [name for name, meta in CATALOG.items()
            if (role is None or meta.role == role) and (meta.study_default or not study_default)]


def task_title(name: str) -> str:
    """The title of a registered task, else ``name`` itself (a user's task, a debiased row)."""
    meta = CATALOG.get(name)
    return meta.title if meta is not None else name


def headline_scores(name: str) -> tuple[str, ...]:
    """The scores shown beside ``name``'s main score: its kind's, or every kind's for a task not registered."""
    meta = CATALOG.get(name)
    return meta.kind.headline_scores if meta is not None else HEADLINE_SCORES
