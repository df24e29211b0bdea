"""How large a suite task is without encoding anything: items scored by its main metric, and texts to encode.

Used to plan a study (``polyret experiment --dry-run``: detectable effects, time estimates) and to record how many
texts an evaluation encoded, so the cost per text of this machine can be measured from finished runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from polyret.data.records import ParallelCorpus
from polyret.evaluation.suite import BitextSpec, ClsdSpec, LareqaSpec, TaskData, TaskSpec, TatoebaSpec


@dataclass(frozen=True, slots=True)
class TaskSize:
    """Attributes: items: per-item values behind the main score (queries, CLSD items both directions, bitext rows
    times directions); texts: texts the task encodes (before de-duplication across tasks)."""

    items: int
    texts: int


def task_size(spec: TaskSpec, task_data: TaskData) -> TaskSize | None:
    """The size of ``spec`` on the data of ``task_data`` (which keeps what it read, for the evaluation); ``None`` for
    a kind of task it cannot size, e.g. a BEIR corpus.

    Raises:
        DataError: from the loaders.
    """
    if isinstance(spec, LareqaSpec):
        task = task_data.load(spec)
        return TaskSize(len(task.queries), len(task.queries) + len(task.passages))
    if isinstance(spec, ClsdSpec):
        items = task_data.load(spec)
        return TaskSize(len(items), len({text for item in items for text in (item.query, *item.candidates)}))
    if isinstance(spec, BitextSpec):
        corpus = task_data.load(spec)
        others = len(corpus.languages) - 1
        directions = 2 * others if spec.pivot else (others + 1) * others
        return TaskSize(len(corpus) * directions, _texts(corpus))
    if isinstance(spec, TatoebaSpec):
        corpora = task_data.load(spec)
        return TaskSize(sum(2 * len(c) for c in corpora), sum(_texts(c) for c in corpora))
    return None


def _texts(corpus: ParallelCorpus) -> int:
    return len(corpus) * len(corpus.languages)
