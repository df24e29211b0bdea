"""The study's data: training QA items and in-domain test tasks, split by article so no test article is trained on.

Default: the articles of XQuAD-R are split into ``folds`` groups (:func:`polyret.data.splits.group_folds`); the
test fold is the in-domain test set in all eleven languages (``el`` and ``vi`` are never trained on), the other
folds give the training questions in the nine training languages. MLQA-R is a second, separate QA test set. A user
QA JSONL file replaces the training data. The leakage check runs before anything is trained: a training question or
answer equal (after normalisation) to an in-domain test query or passage stops the study unless
``data.allow_leakage`` is set; texts under :data:`~polyret.data.splits.MIN_LEAK_WORD_CHARS` word characters ("I.")
are not compared, only counted (``StudyData.leakage``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyret.data.lareqa import load_lareqa, load_parallel_qa
from polyret.data.records import ParallelQA, RetrievalTask
from polyret.data.splits import LeakageReport, check_leakage, fold_groups, group_folds
from polyret.data.user_qa import load_qa_jsonl
from polyret.data.user_tasks import read_qa_task
from polyret.errors import DataError, UsageError
from polyret.evaluation.catalog import SUITES, select_tasks
from polyret.evaluation.suite import LareqaSpec, SuiteConfig, TaskData
from polyret.evaluation.task_size import TaskSize, task_size
from polyret.experiments.config import DataSettings, ExperimentConfig
from polyret.experiments.task_files import study_task_files
from polyret.provenance import file_sha256

PIVOT_LANGUAGE = "en"


@dataclass
class StudyData:
    """Training data and the evaluation suite of one study.

    Attributes:
        train: training questions.
        suite: every evaluation task (in-domain first), run by :func:`polyret.evaluation.suite.run_suite`.
        test_groups: the held-out articles of the fold split.
        train_inputs / eval_inputs: JSON descriptions with content digests (they enter the arm hashes).
        leakage: the leakage check's report.
        leakage_allowed: whether the config allows leaks (``data.allow_leakage``).
        sizes: task name -> its items and texts (``None``: a task that cannot be sized).
        task_data: the suite's tasks as loaded (pass to :func:`~polyret.evaluation.suite.run_suite`, so every arm
            uses them instead of reading the files again).
        dropped_languages: domain-shift task -> the ``evaluation.shift_languages`` its corpus lacks (evaluated
            without them; the plan and the report say so).
    """

    train: list[ParallelQA]
    suite: SuiteConfig
    test_groups: list[str]
    train_inputs: dict[str, Any]
    eval_inputs: dict[str, Any]
    leakage: LeakageReport = dataclasses.field(default_factory=LeakageReport)
    leakage_allowed: bool = False
    sizes: dict[str, TaskSize | None] = dataclasses.field(default_factory=dict)
    task_data: TaskData = dataclasses.field(default_factory=TaskData)
    dropped_languages: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    @property
    def eval_texts(self) -> int | None:
        """Texts one evaluation of the suite encodes (``None`` when a task cannot be sized)."""
        return self.texts_of(self.sizes)

    def leakage_summary(self) -> dict[str, Any]:
        """The leakage check as JSON (:func:`leakage_summary`)."""
        return leakage_summary(self.leakage, allowed=self.leakage_allowed)

    def texts_of(self, tasks: Iterable[str]) -> int | None:
        """Texts an evaluation of ``tasks`` encodes (``None`` when one of them cannot be sized)."""
        sizes = [self.sizes.get(name) for name in tasks]
        return None if None in sizes else sum(size.texts for size in sizes if size is not None)


def prepare_study_data(config: ExperimentConfig, *, data_dir: str | Path | None = None) -> StudyData:
    """Load, split and leakage-check the study's data, and build its evaluation suite.

    Raises:
        DataError / UsageError: from the loaders, or a leak between training data and in-domain test tasks.
    """
    data, evaluation = config.data, config.evaluation
    source = load_lareqa(data.dataset, data_dir=data_dir)
    folds = group_folds([q.group for q in source.queries], data.folds, data.fold_seed)
    train_groups, test_groups = fold_groups(folds, data.test_fold)
    test_list = sorted(test_groups, key=_natural)
    train = training_questions(data, train_groups, data_dir=data_dir)[: data.max_train_questions]
    in_domain = [
        LareqaSpec(name, groups=tuple(test_list)) if name == data.dataset
        else LareqaSpec(name, max_groups=evaluation.qa_max_articles)
        for name in evaluation.in_domain
    ]
    task_data = TaskData(data_dir)
    tasks = {spec.name: source.subset(groups=test_groups) if spec.name == data.dataset else task_data.load(spec)
             for spec in in_domain}
    own = study_task_files(evaluation.task_files)
    own_qa = [read_qa_task(f.spec.path, languages=f.spec.languages, name=f.spec.name) for f in own
              if f.spec.resolved_format == "qa"]
    leakage = _check_leakage(train, [*tasks.values(), *own_qa], allow=data.allow_leakage)
    shift_specs = select_tasks(SUITES["domain-shift"], evaluation.domain_shift).tasks
    shift = [_sliced(spec, evaluation.max_items, evaluation.shift_languages) for spec in shift_specs]
    own_specs = [f.spec for kind in ("in-domain", "domain-shift") for f in own if f.kind == kind]
    suite = SuiteConfig(config.name, (*in_domain, *shift, *own_specs), with_context=evaluation.with_context,
                        batch_size=evaluation.batch_size)
    eval_inputs = {name: describe_task(task) for name, task in tasks.items()}
    eval_inputs |= {f.spec.name: {"kind": f.kind, "sha256": _path_digest(f.spec.path)} for f in own}
    return StudyData(
        train=train,
        suite=suite,
        test_groups=test_list,
        train_inputs=describe_training(train),
        eval_inputs=eval_inputs | {"test_groups": test_list, "suite": suite.describe()},
        leakage=leakage,
        leakage_allowed=data.allow_leakage,
        sizes={spec.name: task_size(spec, task_data) for spec in suite.tasks},
        task_data=task_data,
        dropped_languages=lacking_languages(shift_specs, evaluation.shift_languages),
    )


def training_questions(
    data: DataSettings, train_groups: Iterable[str], *, data_dir: str | Path | None
) -> list[ParallelQA]:
    """The questions of the study's training source (:meth:`DataSettings.training_source`): a QA JSONL file, the
    training folds (``train_groups``) of ``data.dataset``, or every article of another LAReQA set.

    Raises:
        UsageError / DataError: several sources, or from the loaders.
    """
    source = data.training_source()
    if source.path is not None:
        return load_qa_jsonl(source.path)
    assert source.dataset is not None  # a source names exactly one of path and dataset (TrainingSource.from_config)
    groups = train_groups if source.dataset == data.dataset else None
    return load_parallel_qa(source.dataset, languages=data.train_languages, groups=groups, data_dir=data_dir)


def _check_leakage(train: list[ParallelQA], tasks: list[RetrievalTask], *, allow: bool) -> LeakageReport:
    """The leakage report; raises unless ``allow`` when a training text (long enough to count) is a test text."""
    report = check_leakage(train, tasks, allow=True)
    if report.leaked and not allow:
        raise DataError(
            "training data",
            f"{report.questions} of {report.total_questions} questions and {report.answers} of "
            f"{report.total_answers} answers also occur in the evaluation data "
            f"({', '.join(task.name for task in tasks)}); e.g. " + "; ".join(repr(e) for e in report.examples),
            expected="training data disjoint from the in-domain test data (another fold split or training file), "
            "or the overlap allowed explicitly with config key 'data.allow_leakage'",
        )
    return report


def leakage_summary(report: LeakageReport, *, allowed: bool) -> dict[str, Any]:
    """The leakage check as JSON: leaks (allowed or none), and the short texts it did not compare."""
    return {
        "leaked_questions": report.questions,
        "leaked_answers": report.answers,
        "allowed": allowed,
        "min_word_chars": report.min_word_chars,
        "short_texts_ignored": report.short,
        "short_overlaps_ignored": report.short_matches,
        "short_overlap_examples": report.short_examples,
    }


def _sliced(spec: Any, limit: int | None, languages: list[str] | None) -> Any:
    """A domain-shift task spec cut to ``limit`` rows and, for multi-way corpora, to ``languages`` plus English."""
    changes: dict[str, Any] = {"limit": limit}
    if languages is not None and hasattr(spec, "languages"):
        kept = tuple(lang for lang in spec.languages if lang in languages or lang == PIVOT_LANGUAGE)
        if not set(kept) - {PIVOT_LANGUAGE}:
            raise UsageError(
                f"config key 'evaluation.shift_languages': {spec.name} has none of {', '.join(languages)} "
                f"(its languages: {', '.join(spec.languages)})"
            )
        changes["languages"] = kept
    return dataclasses.replace(spec, **changes)


def lacking_languages(specs: Iterable[Any], languages: list[str] | None) -> dict[str, list[str]]:
    """Task -> the requested ``languages`` (English aside) its multi-way corpus lacks, for tasks that lack any."""
    lacking = {spec.name: [lang for lang in languages if lang not in spec.languages and lang != PIVOT_LANGUAGE]
               for spec in specs if languages is not None and hasattr(spec, "languages")}
    return {name: langs for name, langs in lacking.items() if langs}


def dropped_languages_line(task: str, languages: list[str]) -> str:
    """One line naming the study languages a domain-shift task's corpus lacks."""
    return (f"{task}: its corpus has no {', '.join(languages)}, so it is evaluated without "
            f"{'them' if len(languages) > 1 else 'it'} (evaluation.shift_languages)")


def describe_training(train: list[ParallelQA]) -> dict[str, Any]:
    """Size, languages and a content digest of the training questions."""
    rows = ([qa.id, sorted(qa.questions.items()), sorted(qa.answers.items()), qa.group] for qa in train)
    return {
        "questions": len(train),
        "languages": sorted({lang for qa in train for lang in qa.languages}),
        "groups": len({qa.group for qa in train}),
        "digest": _digest(rows),
    }


def describe_task(task: RetrievalTask) -> dict[str, Any]:
    """Size, languages and a content digest of a retrieval task."""
    rows = [[q.id, q.text] for q in task.queries] + [[p.id, p.text, p.context] for p in task.passages]
    return {
        "queries": len(task.queries),
        "passages": len(task.passages),
        "query_languages": task.query_languages,
        "digest": _digest(rows),
    }


def _path_digest(path: str) -> str:
    """sha256 of a task file, or of a BEIR folder's files (names and contents), so an edit changes the arm hash."""
    folder = Path(path)
    if not folder.is_dir():
        return file_sha256(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return _digest([p.relative_to(folder).as_posix(), file_sha256(p)] for p in files)


def _digest(rows: Iterable[Any]) -> str:
    sha = hashlib.sha256()
    for row in rows:
        sha.update(json.dumps(row, ensure_ascii=True).encode("ascii"))
        sha.update(b"\n")
    return sha.hexdigest()


def _natural(group: str) -> tuple[int, str]:
    """Sort key placing numeric article keys in numeric order."""
    return (int(group), "") if group.isdigit() else (1 << 30, group)
