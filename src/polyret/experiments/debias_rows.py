"""Post-hoc debiasing rows of the study: "<arm> + <method>" for every arm, from the arm's stored embeddings.

Each method is fitted on the study's reference texts, which are never test data: the questions and answer sentences
of the training articles, in every language the data set has (a method that works per language can only transform
the languages it was fitted on, and the held-out ``el`` and ``vi`` would otherwise be skipped), or the user's
training QA file. A row re-encodes nothing: the arm's model is loaded to find its embedding cache, and every test
vector comes from that cache. Rows are stored and reused like arms (``arms/<run>+<method>-<hash>/results.json``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from polyret import settings
from polyret.data.lareqa import load_parallel_qa
from polyret.data.splits import first_groups, fold_groups, group_folds
from polyret.data.user_qa import load_qa_jsonl
from polyret.debias import DebiasSpec, parse_specs
from polyret.errors import DataError
from polyret.evaluation.catalog import select_tasks
from polyret.evaluation.debiased import DebiasedRun, Reference, run_debiased
from polyret.evaluation.suite import suite_context
from polyret.experiments.arm_result import RESULTS_FILE, ArmResult, load_arm_result, save_arm_result
from polyret.experiments.arm_run import ArmStatus
from polyret.experiments.arms import config_hash
from polyret.experiments.config import ExperimentConfig
from polyret.experiments.study_data import StudyData, describe_training
from polyret.experiments.task_reuse import FINGERPRINT_KEY, REUSED_KEY, SKIPPED_KEY, Donor, find_donor
from polyret.models.encoders import get_encoder

BASE_LABEL = "base_label"
"""The key of a row's ``info`` that names the arm it was computed from (see ``analysis.debias_comparisons``)."""


def study_reference(config: ExperimentConfig, *, data_dir: str | Path | None = None) -> Reference:
    """The texts the study's methods are fitted on: the training source's articles in every language (its training
    folds when it is ``data.dataset``), or its QA file.

    Raises:
        DataError / UsageError: from the loaders.
    """
    data, training = config.data, config.data.training_source()
    if training.path is not None:
        items = load_qa_jsonl(training.path)
        source = {"source": str(training.path)}
    else:
        assert training.dataset is not None  # a source names exactly one of path and dataset
        all_items = load_parallel_qa(training.dataset, data_dir=data_dir)
        train_groups = None  # another set: every article
        source: dict[str, Any] = {"source": f"{training.dataset} (every article)"}
        if training.dataset == data.dataset:
            train_groups = fold_groups(group_folds([qa.group for qa in all_items], data.folds, data.fold_seed),
                                       data.test_fold)[0]
            source = {"source": f"{data.dataset} training folds", "folds": data.folds, "test_fold": data.test_fold,
                      "fold_seed": data.fold_seed}
        kept_groups = set(first_groups((qa.group for qa in all_items), config.debias_reference_articles,
                                       allowed=train_groups))
        items = [qa for qa in all_items if qa.group in kept_groups]
        source["articles"] = len(kept_groups)
    return Reference.from_qa(items, source | {"digest": describe_training(items)["digest"]},
                             with_context=config.evaluation.with_context)


def debias_rows(
    config: ExperimentConfig,
    arm: ArmResult,
    model: str,
    max_seq_length: int | None,
    study: StudyData,
    reference: Reference,
    *,
    root: Path,
    data_dir: str | Path | None = None,
    force: bool = False,
) -> list[ArmResult]:
    """The rows "<arm> + <method>" for every method of ``config.debias``, reused when stored and still valid
    (unless ``force``); the missing ones read the embeddings of ``model`` on the study's inference backend."""
    specs = parse_specs(config.debias)
    rows, missing = _planned_rows(config, arm, study, reference, root=root, force=force)
    if missing:
        started = time.perf_counter()
        lent = [_lent(root, arm, spec, resolved, study.suite.task_names) for spec, resolved, _, _ in missing]
        runs = _compute(config, model, max_seq_length, study, reference, [spec for spec, *_ in missing], lent,
                        data_dir=data_dir)
        seconds = round((time.perf_counter() - started) / len(missing), 1)
        for (spec, resolved, digest, run_dir), run in zip(missing, runs, strict=True):
            rows[spec.label] = _row(arm, run, resolved, digest, run_dir, seconds)
            save_arm_result(run_dir, rows[spec.label])
    return [rows[spec.label] for spec in specs]


def _compute(
    config: ExperimentConfig, model: str, max_seq_length: int | None, study: StudyData, reference: Reference,
    specs: list[DebiasSpec], lent: list[Donor | None], *, data_dir: str | Path | None,
) -> list[DebiasedRun]:
    """Each method's run: the tasks an earlier row lends (see :func:`_lent`), the others scored from the
    embeddings of ``model`` on the study's inference backend (loaded only when some task is left to score)."""
    names = study.suite.task_names
    todo = [name for name in names if any(d is None or (name not in d.tasks and name not in d.skipped) for d in lent)]
    runs = [DebiasedRun(spec, fit=dict(d.result.info.get("debias", {})) if d else {}) for spec, d in zip(
        specs, lent, strict=True)]
    if todo:
        encoder = get_encoder(model, max_seq_length=max_seq_length, backend=config.evaluation.inference_backend())
        suite = select_tasks(study.suite, todo)
        ctx = suite_context(encoder, suite, data_dir=data_dir, cache_root=settings.cache_dir() / "embeddings",
                            task_data=study.task_data)
        runs = run_debiased(ctx, suite, specs, reference)
    for run, donor in zip(runs, lent, strict=True):
        if donor is not None:
            done = {**run.results, **donor.tasks}
            run.results = {name: done[name] for name in names if name in done}
            run.skipped = {**run.skipped, **donor.skipped}
    return runs


def _lent(root: Path, arm: ArmResult, spec: DebiasSpec, resolved: dict[str, Any], tasks: list[str]) -> Donor | None:
    """An earlier row of this method on this arm's model whose unchanged tasks (results and skips) it can lend:
    it records the arm's model fingerprint, or (rows from before fingerprints) its base run is the earlier folder
    this arm itself borrowed tasks from after checking that the model is the same."""
    donor = find_donor(root, f"{arm.run_name}+{_folder(spec.label)}", resolved, tasks)
    if donor is None:
        return None
    info = donor.result.info
    if FINGERPRINT_KEY in info:
        same = info[FINGERPRINT_KEY] == arm.info.get(FINGERPRINT_KEY)
    else:
        base = config_hash({key: value for key, value in donor.result.config.items() if key != "debias"})
        same = f"{arm.run_name}-{base}" in {Path(path).name for path in arm.info.get(REUSED_KEY, {}).values()}
    return donor if same else None


def rows_missing(
    config: ExperimentConfig, arm: ArmResult, study: StudyData, reference: Reference, *, root: Path
) -> bool:
    """Whether some row of ``arm`` has no valid stored result (so computing it needs the arm's model)."""
    return bool(_planned_rows(config, arm, study, reference, root=root, force=False)[1])


def _planned_rows(
    config: ExperimentConfig, arm: ArmResult, study: StudyData, reference: Reference, *, root: Path, force: bool
) -> tuple[dict[str, ArmResult], list[tuple[DebiasSpec, dict[str, Any], str, Path]]]:
    """The stored rows by label, and for each missing one: its method, resolved config, hash and folder."""
    rows: dict[str, ArmResult] = {}
    missing: list[tuple[DebiasSpec, dict[str, Any], str, Path]] = []
    for spec in parse_specs(config.debias):
        scale = {} if spec.scale is None else {"scale": spec.scale}  # rows without a scale keep their hash
        resolved = arm.config | {"debias": {"method": spec.method, "rank": spec.rank, **scale,
                                            "reference": reference.description}}
        digest = config_hash(resolved)
        run_dir = root / f"{arm.run_name}+{_folder(spec.label)}-{digest}"
        stored = None if force else _stored(run_dir, digest, study.suite.task_names)
        if stored is not None:
            rows[spec.label] = stored
        else:
            missing.append((spec, resolved, digest, run_dir))
    return rows, missing


def _row(arm: ArmResult, run: DebiasedRun, resolved: dict, digest: str, run_dir: Path, seconds: float) -> ArmResult:
    info = {"run_dir": run_dir.relative_to(run_dir.parent.parent).as_posix(),  # arms/<name>, like the arms
            "status": ArmStatus.DEBIASED.value, "base_run": arm.run_name, BASE_LABEL: arm.label,
            "debias": run.fit, FINGERPRINT_KEY: arm.info.get(FINGERPRINT_KEY),
            SKIPPED_KEY: run.skipped, "eval_wall_s": seconds}
    return ArmResult(f"{arm.run_name}+{run.label}", f"{arm.label} + {run.label}", digest, resolved, run.results, info)


def _stored(run_dir: Path, digest: str, tasks: list[str]) -> ArmResult | None:
    """The stored row, when its file is valid and covers every task (scored or skipped with a reason)."""
    if not (run_dir / RESULTS_FILE).exists():
        return None
    try:
        result = load_arm_result(run_dir, config_hash=digest, tasks=[])
    except DataError:
        return None
    covered = set(result.tasks) | set(result.info.get(SKIPPED_KEY, {}))
    if not set(tasks) <= covered:
        return None
    result.info["status"] = ArmStatus.REUSED.value
    return result


def _folder(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label)
