"""mteb result files from a polyret evaluation: ``TaskResult`` JSON and ``model_meta.json`` in mteb's cache layout.

:func:`write_suite_mteb_results` runs the mteb form of each suite task (:mod:`polyret.evaluation.mteb_tasks`) with
``mteb.evaluate``, encoding through the run's :class:`~polyret.evaluation.store.EmbeddingStore` (nothing already
encoded is encoded again), and writes what mteb returns, validated by mteb's own classes, as::

    <root>/results/<organisation>__<model>/<revision>/<Task>.json
    <root>/results/<organisation>__<model>/<revision>/model_meta.json

so ``mteb.ResultCache(<root>).load_results()`` (and ``mteb.load_results`` pointed at it) reads polyret runs. Tasks
with no mteb form (TICO-19, BEIR corpora, a user's task files) are returned as skipped.

Example::

    from polyret.evaluation.mteb_results import write_suite_mteb_results
    files = write_suite_mteb_results(ctx, suite, encoder, "runs/eval-e5/mteb", source="multilingual-e5-small")
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from polyret.evaluation import mteb_tasks
from polyret.evaluation.suite import BitextSpec, ClsdSpec, LareqaSpec, RunContext, SuiteConfig, TaskSpec, TatoebaSpec
from polyret.io import write_json
from polyret.models.mteb_model import PolyretMtebModel, polyret_model_meta, require_mteb
from polyret.models.protocol import Encoder, Role

require_mteb()

import mteb  # noqa: E402
from mteb.abstasks.abstask import AbsTask  # noqa: E402
from mteb.models.model_meta import ModelMeta  # noqa: E402
from mteb.results import TaskResult  # noqa: E402

MODEL_META_FILE = "model_meta.json"


@dataclass(slots=True)
class MtebFiles:
    """What :func:`write_mteb_results` wrote: one JSON file per task, the model meta, and the tasks left out."""

    folder: Path
    tasks: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def model_meta(self) -> Path:
        return self.folder / MODEL_META_FILE


class StoreEncoder:
    """The encoder behind an embedding store, encoding through the store (cached texts are not encoded again)."""

    def __init__(self, ctx: RunContext, encoder: Encoder):
        self.store = ctx.store
        self.name = encoder.name
        self.inner = encoder

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def encode(self, texts: Sequence[str], role: Role, *, batch_size: int = 32, show_progress: bool = False
               ) -> np.ndarray:
        return self.store.embed(list(texts), role, batch_size=batch_size, show_progress=show_progress)


def mteb_task(spec: TaskSpec, ctx: RunContext) -> AbsTask | None:
    """The mteb form of a suite task, on the data the suite loaded (``None`` for a task without one)."""
    data_slice = _slice_label(spec)
    if isinstance(spec, LareqaSpec):
        kind = mteb_tasks.XQuADRPooledRetrieval if spec.dataset == "xquad-r" else mteb_tasks.MLQARPooledRetrieval
        return kind(ctx.task_data.load(spec), with_context=ctx.with_context, data_slice=data_slice)
    if isinstance(spec, ClsdSpec):
        kinds = {(2019, False): mteb_tasks.CLSDWMT19, (2019, True): mteb_tasks.CLSDWMT19MT,
                 (2021, False): mteb_tasks.CLSDWMT21, (2021, True): mteb_tasks.CLSDWMT21MT}
        return kinds[spec.year, spec.machine_translated](ctx.task_data.load(spec), data_slice=data_slice)
    if isinstance(spec, BitextSpec) and spec.dataset == "ntrex128":
        return mteb_tasks.NTREX(ctx.task_data.load(spec), data_slice=data_slice)
    if isinstance(spec, TatoebaSpec):
        return mteb_tasks.Tatoeba(ctx.task_data.load(spec), data_slice=data_slice)
    return None


def _slice_label(spec: TaskSpec) -> str | None:
    """``first-25-rows`` / ``first-1-articles`` / ``3-article-groups`` when the spec keeps part of the set's rows."""
    parts = []
    if getattr(spec, "limit", None) is not None:
        parts.append(f"first-{spec.limit}-rows")
    if getattr(spec, "max_groups", None) is not None:
        parts.append(f"first-{spec.max_groups}-articles")
    if getattr(spec, "groups", None) is not None:
        parts.append(f"{len(spec.groups)}-article-groups")
    return "+".join(parts) or None


def write_suite_mteb_results(
    ctx: RunContext, suite: SuiteConfig, encoder: Encoder, root: str | Path, *, source: str | Path | None = None
) -> MtebFiles:
    """Run the mteb form of every task of ``suite`` with ``encoder`` (through ``ctx``'s store) and write the results
    under ``root`` in mteb's cache layout.

    Args:
        ctx: the run's context (:func:`polyret.evaluation.suite.suite_context`): its store and loaded data.
        suite: the suite that was run (its slices are kept, and named in each file's ``dataset_revision``).
        encoder: the model, for its metadata (:func:`polyret.models.mteb_model.polyret_model_meta`).
        root: the cache root (``results/`` is created in it).
        source: what the model was loaded from (alias or directory), for the metadata.
    """
    model = PolyretMtebModel(StoreEncoder(ctx, encoder), polyret_model_meta(encoder, source=source),
                             batch_size=ctx.batch_size)
    specs = [(spec, mteb_task(spec, ctx)) for spec in suite.tasks]
    return write_mteb_results(model, [task for _, task in specs if task is not None], root,
                              skipped=[spec.name for spec, task in specs if task is None])


def write_mteb_results(
    model: PolyretMtebModel, tasks: Sequence[AbsTask], root: str | Path, *, skipped: Sequence[str] = ()
) -> MtebFiles:
    """Evaluate ``tasks`` with ``mteb.evaluate`` (no mteb cache) and write each ``TaskResult`` and the model meta
    under ``root/results/<model>/<revision>/``, every file atomically."""
    meta = model.mteb_model_meta
    files = MtebFiles(Path(root) / "results" / meta.model_name_as_path() / str(meta.revision), skipped=list(skipped))
    outcome = mteb.evaluate(model, list(tasks), cache=None, overwrite_strategy="always", show_progress_bar=False,
                            encode_kwargs={"batch_size": model.batch_size})
    revisions = {task.metadata.name: getattr(task, "dataset_revision", task.metadata.revision) for task in tasks}
    for result in outcome.task_results:
        result = result.model_copy(update={"dataset_revision": revisions[result.task_name]})
        path = files.folder / f"{result.task_name}.json"
        write_json(path, task_result_json(result))
        files.tasks.append(path)
    write_json(files.model_meta, model_meta_json(meta))
    return files


def task_result_json(result: TaskResult) -> dict[str, Any]:
    """``result`` as mteb's ``TaskResult.to_disk`` writes it (date as a timestamp, scores rounded to 6 digits),
    checked by reading it back with ``TaskResult.from_dict``."""
    payload = json.loads(result.model_dump_json())
    payload["date"] = result.date.timestamp() if result.date else None
    payload["scores"] = _rounded(payload["scores"])
    TaskResult.from_dict(payload)
    return payload


def model_meta_json(meta: ModelMeta) -> dict[str, Any]:
    """``meta`` as mteb's result cache writes ``model_meta.json``."""
    return json.loads(json.dumps(meta.to_dict(), default=str))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value
