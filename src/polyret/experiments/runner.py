"""Run the study: every arm trained (or resumed, or reused) and evaluated, then the report written.

Each arm lives in ``<output>/arms/<run name>-<config hash>/``: ``arm_config.json`` (the resolved config), ``train/``
(the training run: checkpoints, ``final/`` model) and ``results.json`` (written last, atomically). On a rerun a
valid ``results.json`` is reused; a training run with checkpoints resumes; a finished training run is evaluated
without retraining; an invalid result is set aside as ``results.invalid.json`` and recomputed. ``force=True``
deletes an arm's folder and redoes it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from polyret import provenance, settings
from polyret.data.splits import LeakageReport
from polyret.errors import DataError
from polyret.evaluation.catalog import select_tasks, task_title
from polyret.evaluation.suite import SuiteConfig, run_suite
from polyret.experiments import report
from polyret.experiments.arm_result import RESULTS_FILE, TIME_KEYS, ArmResult, load_arm_result, save_arm_result
from polyret.experiments.arm_run import ArmRun, ArmStatus, TrainingSummary
from polyret.experiments.arms import ArmSpec, arm_train_config, config_hash, expand_arms, resolved_arm_config
from polyret.experiments.config import ExperimentConfig
from polyret.experiments.debias_rows import debias_rows, rows_missing, study_reference
from polyret.experiments.provenance import data_checksums, study_files
from polyret.experiments.study_data import StudyData, dropped_languages_line, prepare_study_data
from polyret.experiments.task_reuse import find_donor
from polyret.io import read_json, write_json
from polyret.models.encoders import backend_label, get_encoder, sentence_transformer_encoder
from polyret.models.loading import keep_loaded
from polyret.models.protocol import Encoder
from polyret.training.checkpoints import latest_complete_checkpoint
from polyret.training.layout import RunFolder
from polyret.training.trainer import train

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

ARMS_DIR = "arms"
ARM_CONFIG_FILE = "arm_config.json"
INVALID_RESULTS_FILE = "results.invalid.json"
TRAIN_DIR = "train"


@dataclass(frozen=True)
class ExperimentOutcome:
    """Where a finished study put its outputs, and its arm results."""

    output_dir: Path
    report: Path
    results: Path
    arms: list[ArmResult]


def run_experiment(
    config: ExperimentConfig,
    *,
    output_dir: str | Path,
    data_dir: str | Path | None = None,
    force: bool = False,
    console: Console | None = None,
    command: str | None = None,
) -> ExperimentOutcome:
    """Run every arm of ``config`` (skipping finished ones unless ``force``) and write the report.

    Args:
        config: the study.
        output_dir: the study folder (``runs/<name>``).
        data_dir: the data directory.
        force: redo arms that have a finished result.
        console: where progress and one summary line per arm go (``None``: silent).
        command: the command line to record (default: this process's arguments).

    Raises:
        UsageError / DataError / ModelError / TrainingError: from the layers the study runs.
    """
    started = time.perf_counter()
    output_dir = Path(output_dir)
    say = _printer(console)
    study = prepare_study_data(config, data_dir=data_dir)
    say(
        f"{config.name}: {len(study.train)} training questions; test articles "
        f"{', '.join(study.test_groups)}; tasks {', '.join(study.suite.task_names)}"
    )
    if study.leakage.short_matches or study.leakage.leaked:
        say(leakage_line(study.leakage))
    for task, languages in study.dropped_languages.items():
        say(dropped_languages_line(task, languages))
    with keep_loaded(config.base_model):  # read once; every arm starts from a copy of it
        results = _run_arms(config, study, output_dir=output_dir, data_dir=data_dir, force=force, console=console)
    facts = {
        **provenance.environment(command),
        "data_checksums": data_checksums(study.suite.task_names, data_dir, study_files(config)),
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    summary = report.summarise(
        config, results, train_inputs=study.train_inputs | {"leakage": study.leakage_summary()}, provenance=facts,
        dropped_languages=study.dropped_languages,
    )
    paths = report.write_outputs(output_dir, summary)
    say(f"report: {paths['report']}")
    return ExperimentOutcome(output_dir, paths["report"], paths["results"], results)


def _run_arms(
    config: ExperimentConfig, study: StudyData, *, output_dir: Path, data_dir: str | Path | None, force: bool,
    console: Console | None,
) -> list[ArmResult]:
    """Every arm's result (run, resumed or reused), each followed by its debias rows when the study has some."""
    say = _printer(console)
    arms = expand_arms(config)
    reference = study_reference(config, data_dir=data_dir) if config.debias else None
    results = []
    for number, arm in enumerate(arms, 1):
        say(f"arm {number}/{len(arms)}: {arm.run_name}")
        result = run_arm(config, arm, study, root=output_dir / ARMS_DIR, data_dir=data_dir, force=force,
                         console=console)
        if reference is not None and _model_gone(config, arm, output_dir / result.info["run_dir"]) and rows_missing(
            config, result, study, reference, root=output_dir / ARMS_DIR
        ):
            say(f"{arm.run_name}: its debias rows are missing and its trained model is not in this study folder "
                "(a result from another machine): training it again")
            result = run_arm(config, arm, study, root=output_dir / ARMS_DIR, data_dir=data_dir, force=True,
                             console=console)
        results.append(result)
        say(summary_line(result))
        if reference is not None:
            model, max_seq_length = arm_model(config, arm, output_dir / result.info["run_dir"])
            rows = debias_rows(config, result, model, max_seq_length, study, reference, root=output_dir / ARMS_DIR,
                               data_dir=data_dir, force=force)
            results.extend(rows)
            for row in rows:
                say(summary_line(row))
    return results


def run_arm(
    config: ExperimentConfig,
    arm: ArmSpec,
    study: StudyData,
    *,
    root: Path,
    data_dir: str | Path | None = None,
    force: bool = False,
    console: Console | None = None,
) -> ArmResult:
    """Reuse, resume or run one arm and return its result (``info["status"]`` names an :class:`ArmStatus`)."""
    resolved = resolved_arm_config(config, arm, eval_inputs=study.eval_inputs, train_inputs=study.train_inputs)
    digest = config_hash(resolved)
    run_dir = root / f"{arm.run_name}-{digest}"
    say = _printer(console)
    if force and run_dir.exists():
        shutil.rmtree(run_dir)
    elif (run_dir / RESULTS_FILE).exists():
        try:
            result = load_arm_result(run_dir, config_hash=digest, tasks=study.suite.task_names)
        except DataError as exc:
            os.replace(run_dir / RESULTS_FILE, run_dir / INVALID_RESULTS_FILE)
            say(f"stored result not trusted, recomputing ({exc}); kept as {INVALID_RESULTS_FILE}")
        else:  # older results name their folder absolutely
            result.info |= {"status": ArmStatus.REUSED.value, "run_dir": _relative(run_dir, root)}
            return result
    donor = None if force else find_donor(root, arm.run_name, resolved, study.suite.task_names)
    write_json(run_dir / ARM_CONFIG_FILE, resolved)
    training, trained = _train_arm(config, arm, study, run_dir / TRAIN_DIR, console is not None) if arm.trained \
        else (None, None)
    started = time.perf_counter()
    encoder = _arm_encoder(config, arm, run_dir, trained, warn=None if console is None else say)
    fingerprint = encoder.fingerprint()
    reused = donor.lend(fingerprint, None if training is None else training.loss) if donor else {}
    if donor and reused:
        say(f"{arm.run_name}: reusing {', '.join(reused)} from {donor.run_dir.name} (same model and task inputs)")
    todo = select_tasks(study.suite, [name for name in study.suite.task_names if name not in reused])
    tasks = reused | (_evaluate(encoder, study, todo, data_dir, console) if todo.tasks else {})
    run = ArmRun(_relative(run_dir, root), training, backend_label(encoder), fingerprint,
                 eval_wall_s=round(time.perf_counter() - started, 1), eval_texts=study.texts_of(todo.task_names),
                 reused_tasks={name: _relative(donor.run_dir, root) for name in reused} if donor else {})
    result = ArmResult(arm.run_name, arm.label, digest, resolved,
                       {name: tasks[name] for name in study.suite.task_names}, run.info())
    save_arm_result(run_dir, result)
    return result


def leakage_line(leakage: LeakageReport) -> str:
    """One console line on the leakage check: allowed leaks, and short overlaps that were not counted."""
    parts = []
    if leakage.leaked:
        parts.append(f"allowed leakage: {leakage.questions} questions and {leakage.answers} answers occur in the "
                     "test data")
    if leakage.short_matches:
        examples = ", ".join(repr(e) for e in leakage.short_examples[:3])
        parts.append(f"{leakage.short_matches} training texts under {leakage.min_word_chars} word "
                     f"characters occur in the test data and were ignored (e.g. {examples})")
    return "leakage check: " + "; ".join(parts)


def arm_model(config: ExperimentConfig, arm: ArmSpec, run_dir: Path) -> tuple[str, int | None]:
    """The model an arm is evaluated with (its trained model, the base model, or the reference encoder) and the
    token limit to evaluate it at: every arm reads inputs of one length; a reference encoder runs as it comes."""
    if arm.model:
        return arm.model, None
    model = str(RunFolder(run_dir / TRAIN_DIR).final) if arm.trained else config.base_model
    return model, config.evaluation.max_seq_length or config.training.max_seq_length


def _arm_encoder(
    config: ExperimentConfig, arm: ArmSpec, run_dir: Path, trained: SentenceTransformer | None,
    warn: Callable[[str], None] | None,
) -> Encoder:
    """The encoder to evaluate ``arm`` with: the model just trained (``trained``, still in memory, under the name
    of its ``final/`` folder) or the one :func:`arm_model` names, loaded."""
    model, max_seq_length = arm_model(config, arm, run_dir)
    backend = config.evaluation.inference_backend()
    if trained is not None:
        return sentence_transformer_encoder(trained, name=model, max_seq_length=max_seq_length, backend=backend,
                                            warn=warn)
    return get_encoder(model, max_seq_length=max_seq_length, backend=backend, warn=warn)


def _model_gone(config: ExperimentConfig, arm: ArmSpec, run_dir: Path) -> bool:
    """Whether ``arm`` is a trained arm whose model was not kept (only its result files came with the study)."""
    return arm.trained and not Path(arm_model(config, arm, run_dir)[0]).exists()


def summary_line(result: ArmResult) -> str:
    """One line per finished arm: status, times and every task's main score."""
    scores = " · ".join(
        f"{task_title(name)} {task.main} {task.main_score:.4f}" for name, task in result.tasks.items()
    )
    facts = [str(result.info.get("status"))] + [
        f"{key.removesuffix('_wall_s')} {result.info[key]:.0f}s" for key in TIME_KEYS
        if key in result.info
    ]
    return f"✓ {result.run_name} ({', '.join(facts)}): {scores}"


def _train_arm(
    config: ExperimentConfig, arm: ArmSpec, study: StudyData, train_dir: Path, progress: bool
) -> tuple[TrainingSummary, SentenceTransformer | None]:
    """Train (or resume, or reuse a finished training run) into ``train_dir/final``. Returns the training's summary
    and the model when it was trained here (``None``: a finished run was reused)."""
    folder = RunFolder(train_dir)
    if folder.finished:
        return TrainingSummary.from_run(ArmStatus.TRAINING_REUSED, read_json(folder.summary)), None
    resume = latest_complete_checkpoint(folder.checkpoints) is not None
    if not resume and train_dir.exists():
        shutil.rmtree(train_dir)  # an attempt that died before its first checkpoint: nothing to keep
    options = arm_train_config(config, arm).replace(resume=resume)
    outcome = train(options, study.train, output_dir=train_dir, progress=progress,
                    final_checkpoint=config.keep_checkpoints)
    if not config.keep_checkpoints:  # final/ holds the model; checkpoints only serve to resume this training
        shutil.rmtree(folder.checkpoints, ignore_errors=True)
    status = ArmStatus.RESUMED if resume else ArmStatus.TRAINED
    return TrainingSummary.from_run(status, outcome.summary), outcome.model


def _evaluate(
    encoder: Encoder, study: StudyData, suite: SuiteConfig, data_dir: str | Path | None, console: Console | None
) -> dict:
    cache_root = settings.cache_dir() / "embeddings"
    options = {"data_dir": data_dir, "cache_root": cache_root, "task_data": study.task_data}
    if console is None:
        return run_suite(encoder, suite, **options)
    columns = (
        TextColumn("evaluating {task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task_id = bar.add_task("", total=len(suite.tasks))

        def progress(name: str, done: int, total: int) -> None:
            bar.update(task_id, description=name, completed=done, total=total)

        return run_suite(encoder, suite, progress=progress, **options)


def _relative(run_dir: Path, root: Path) -> str:
    """The arm folder relative to the study folder (``arms/<run>-<hash>``), so results survive a move."""
    return run_dir.relative_to(root.parent).as_posix()


def _printer(console: Console | None) -> Callable[[str], None]:
    """Print a line on ``console`` as plain text (names from the config are never read as rich markup)."""
    if console is None:
        return lambda line: None
    return lambda line: console.print(Text(line))

