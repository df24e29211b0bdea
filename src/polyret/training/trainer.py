"""``train()``: fine-tune a sentence-transformers encoder with language-aware batches.

The run folder's layout (``config.json``, ``train_log.jsonl``, ``checkpoints/``, ``final/``, ``train_summary.json``,
...) is :class:`polyret.training.layout.RunFolder`.
"""

from __future__ import annotations

import math
import os
import pickle
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MultipleNegativesRankingLoss,
)
from transformers import (
    EarlyStoppingCallback,
    PrinterCallback,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers.trainer_utils import get_last_checkpoint

from polyret.data.columns import InMemoryColumns, QuestionColumns, as_columns
from polyret.data.records import ParallelQA
from polyret.errors import TrainingError, TrainingInterrupted, UsageError
from polyret.io import atomic_directory, write_json
from polyret.models.freezing import freeze_word_embeddings
from polyret.models.loading import load_sentence_transformer
from polyret.provenance import environment, file_sha256, records_sha256
from polyret.sampling import EpochSampler, LanguageBatchSampler, PairTable, SamplerKind, SourceMixture
from polyret.sampling.mixture import MixedEpochPlan
from polyret.training.batching import LanguageAwareTrainer
from polyret.training.checkpoints import (
    check_free_space,
    check_loadable,
    checkpoint_step,
    checkpoints_kept,
    discard_after,
    latest_complete_checkpoint,
)
from polyret.training.config import TrainConfig
from polyret.training.dataset import PairTexts, missing_negatives, negative_columns
from polyret.training.interrupts import StopOnSignal
from polyret.training.language_losses import LanguageErasureLoss, ParallelQueryAlignmentLoss
from polyret.training.layout import RunFolder
from polyret.training.losses import MultiPositiveRankingLoss
from polyret.training.progress import RichProgressCallback
from polyret.training.run_log import RunLogCallback, check_resumable
from polyret.training.sources import DataSource, as_sources, batch_sampler, pair_tables, pair_texts

DEVICES = ("auto", "cpu", "cuda")
SYMMETRIC_DIRECTIONS = {"directions": ("query_to_doc", "doc_to_query"), "partition_mode": "per_direction"}


@dataclass(frozen=True, slots=True)
class TrainOutcome:
    """Where a finished run put its results.

    Attributes:
        run_dir: the output directory.
        model_dir: ``run_dir / "final"`` (:attr:`RunFolder.final`), loadable with ``SentenceTransformer(path)``.
        steps: optimizer steps taken (in total, over resumed parts).
        summary: the content of ``train_summary.json``.
        model: the trained model in memory (the weights ``final/`` holds), to use without loading it again.
    """

    run_dir: Path
    model_dir: Path
    steps: int
    summary: dict[str, Any]
    model: SentenceTransformer = field(repr=False, compare=False)


def train(
    config: TrainConfig,
    train_data: list[ParallelQA] | QuestionColumns | Sequence[DataSource],
    *,
    output_dir: str | Path,
    eval_data: list[ParallelQA] | None = None,
    progress: bool = False,
    sampler_class: type[LanguageBatchSampler] = LanguageBatchSampler,
    device: str = "auto",
    final_checkpoint: bool = True,
) -> TrainOutcome:
    """Fine-tune ``config.model`` on ``train_data`` with the batches of ``config.sampler``.

    Args:
        config: the run's settings (see :class:`TrainConfig`).
        train_data: aligned QA records, or any :class:`~polyret.data.columns.QuestionColumns` (e.g. a prepared
            corpus); a (question, X, Y) pair is used where question X and answer Y exist. Records are read through
            :class:`~polyret.data.columns.InMemoryColumns`, so both take one path and no pair is materialised.
            Several data sets: a list of :class:`~polyret.training.sources.DataSource`; each batch then comes
            from one of them, drawn by ``config.data_mixing`` (:mod:`polyret.sampling.mixture`).
        output_dir: the run directory (see the module docstring for its layout).
        eval_data: validation records for the validation loss (and early stopping).
        progress: show a rich progress bar.
        sampler_class: a :class:`LanguageBatchSampler` subclass to draw the training batches.
        device: ``auto`` (the GPU when one is visible, else the CPU), ``cpu`` (even when a GPU is visible) or
            ``cuda``; one GPU of several is chosen with ``CUDA_VISIBLE_DEVICES``, several with ``torchrun``.
        final_checkpoint: also checkpoint the last step (optimizer state included) beside ``final/``. A caller that
            deletes the checkpoints once training ends (the study) turns it off; a run with validation data keeps
            it, since early stopping may pick it as the best.

    Raises:
        UsageError: bad settings, an unknown ``device`` or ``cuda`` without a visible GPU, or ``output_dir`` holds
            another run and ``config.resume`` is off.
        TrainingError: a non-finite loss (naming the step and its language plan), an incompatible checkpoint, or
            too little disk space for the checkpoints.
        TrainingInterrupted: SIGINT/SIGTERM stopped training after saving a checkpoint (resume with ``resume``).
        ModelError: the model cannot be loaded.
    """
    config.validate()
    on_cpu = _on_cpu(device)
    folder = RunFolder(Path(output_dir))
    resume_from = _resume_checkpoint(folder.root, folder.checkpoints, config.resume)
    sources = as_sources(train_data)
    tables = pair_tables(config, sources)
    _check_negatives(tables, config.hard_negatives)
    model, prompts = _prepared_model(config)
    args = _training_arguments(config, folder.checkpoints, prompts, with_eval=eval_data is not None, on_cpu=on_cpu)
    is_main = args.process_index == 0  # under DDP only rank 0 writes the run directory
    sampler = batch_sampler(config, tables, [source.name for source in sources],
                            [source.weight for source in sources], world_size=args.world_size,
                            sampler_class=sampler_class)
    _check_before_start(folder, config, model, sampler, resume_from, is_main=is_main)
    eval_table, eval_sampler = _eval_batches(config, eval_data, args.world_size)
    log_callback, stop = RunLogCallback(folder.log, sampler), StopOnSignal()
    progress_bar = RichProgressCallback() if progress and is_main else None
    if is_main:
        _write_run_record(folder, config, prompts, args, sampler, sources, eval_data)
    columns = _loss_columns(config)
    trainer = LanguageAwareTrainer(
        model=model, args=args, loss=_loss(model, config, gather=args.world_size > 1),
        train_dataset=pair_texts(sampler.table, with_context=config.with_context, **columns),
        eval_dataset=PairTexts(eval_table, with_context=config.with_context, **{**columns, "hard_negatives": 0})
        if eval_table else None,  # the validation loss is over in-batch negatives
        callbacks=_callbacks(config, log_callback, stop, progress_bar, with_eval=eval_table is not None,
                             final_checkpoint=final_checkpoint),
        train_sampler=sampler, eval_sampler=eval_sampler,
    )
    trainer.remove_callback(PrinterCallback)  # train_log.jsonl and the progress bar report the steps
    started = time.perf_counter()
    result = _run_steps(trainer, resume_from, stop, progress_bar)
    if stop.stopped_at_step is not None:
        raise _interrupted(stop, folder.root, folder.checkpoints)
    if is_main:
        _save_final(model, folder.final)
    summary = {
        "steps": (steps := trainer.state.global_step),
        "steps_per_epoch": sampler.steps_per_epoch,
        "wall_time_s": round(time.perf_counter() - started, 2),
        "train_loss": result.training_loss,
        "best_eval_loss": log_callback.best_eval_loss,
        "resumed_from": str(resume_from) if resume_from else None,
        **_plan_summary(sampler, steps),
    }
    if is_main:
        write_json(folder.summary, summary)
    trainer.accelerator.wait_for_everyone()  # every rank returns once final/ and the summary exist
    return TrainOutcome(folder.root, folder.final, steps, summary, model)


def _check_negatives(tables: list[PairTable], count: int) -> None:
    """Refuse to train with ``count`` hard negatives per pair when a usable row of a data set lacks them in a passage
    language (training would otherwise mix pairs with and without them); naming how many rows lack them, and where."""
    for table in tables:
        missing = missing_negatives(table, count) if count else {}
        if not missing:
            continue
        first_lang, (_, first_row) = next(iter(missing.items()))
        counts = ", ".join(f"{rows:,} in {lang}" for lang, (rows, _) in missing.items())
        raise UsageError(
            f"{table.columns.source}: hard_negatives {count}: questions with fewer than {count} hard negatives in "
            f"a passage language: {counts} (first: id {table.columns.ids([first_row])[0]!r} in {first_lang}); "
            "mine them with `polyret data mine-negatives`, lower hard_negatives, or leave those languages out")


def _prepared_model(config: TrainConfig) -> tuple[SentenceTransformer, dict[str, str]]:
    """The model to train, with its prompts, token limit and (optionally) frozen word embeddings."""
    model = load_sentence_transformer(config.model)
    prompts = _apply_prompts(model, config)
    if config.max_seq_length is not None:
        model.max_seq_length = config.max_seq_length
    if config.freeze_word_embeddings:
        freeze_word_embeddings(model)
    return model, prompts


def _check_before_start(
    folder: RunFolder, config: TrainConfig, model: SentenceTransformer, sampler: EpochSampler,
    resume_from: Path | None, *, is_main: bool,
) -> None:
    """Refuse a damaged or foreign checkpoint and a disk too small for the run, before anything is written."""
    if resume_from is not None:
        check_loadable(resume_from)
        check_resumable(resume_from, sampler)
        if is_main:
            discard_after(folder.checkpoints, checkpoint_step(resume_from))
    check_free_space(folder.root, model, checkpoints_kept(config, sampler.steps_per_epoch))


def _callbacks(
    config: TrainConfig, log: RunLogCallback, stop: StopOnSignal, progress_bar: RichProgressCallback | None, *,
    with_eval: bool, final_checkpoint: bool,
) -> list[TrainerCallback]:
    """The run log, the signal handler, early stopping (with validation data) and the progress bar.

    Without ``final_checkpoint`` (and without validation data), a callback placed before the signal handler
    cancels the save the trainer schedules at the last step; a signal at that step still saves.
    """
    callbacks: list[TrainerCallback] = [log]
    if not final_checkpoint and not with_eval:
        callbacks.append(_NoCheckpointAtTheEnd())
    callbacks.append(stop)
    if config.early_stopping_patience is not None and with_eval:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    if progress_bar is not None:
        callbacks.append(progress_bar)
    return callbacks


class _NoCheckpointAtTheEnd(TrainerCallback):
    """Cancels the checkpoint the trainer writes at the last step (``final/`` holds that model)."""

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        if state.global_step >= state.max_steps:
            control.should_save = False
        return control


def _write_run_record(
    folder: RunFolder, config: TrainConfig, prompts: dict[str, str], args: SentenceTransformerTrainingArguments,
    sampler: EpochSampler, sources: list[DataSource], eval_data: list[ParallelQA] | None,
) -> None:
    """``config.json`` (the resolved config and what it resolved to; with several data sets, each one's size and
    share) and ``provenance.json``."""
    precision_used = "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32"
    mixture = {"data_sets": sampler.data_sets()} if isinstance(sampler, SourceMixture) else {}
    write_json(folder.config, {
        **config.to_dict(), "prompts": prompts, "precision_used": precision_used,
        "world_size": args.world_size, "sampler_fingerprint": sampler.fingerprint, "train_pairs": len(sampler.table),
        **mixture,
    })
    write_json(folder.provenance, _provenance(config, sources, eval_data))


def _run_steps(
    trainer: LanguageAwareTrainer, resume_from: Path | None, stop: StopOnSignal,
    progress_bar: RichProgressCallback | None,
) -> Any:
    """Train (from ``resume_from`` when given) with the signal handler installed; the bar is closed either way."""
    try:
        with stop.installed():
            return trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    except pickle.UnpicklingError as exc:  # transformers loads optimizer/scheduler/RNG state with weights_only=True
        raise TrainingError(f"{resume_from}: refusing to load checkpoint state that holds more than tensors "
                            f"({str(exc).strip().splitlines()[0]})") from None
    finally:
        if progress_bar is not None:
            progress_bar.close()


def _plan_summary(sampler: EpochSampler, steps: int) -> dict[str, Any]:
    """Plan counts of the first ``steps`` steps, usable pairs, and unused pairs per epoch, drawing each epoch once;
    with several data sets also the batches of each data set and its plan counts."""
    usable = sampler.epoch_plan(0).usable_pairs  # the same in every epoch; epoch 0 stays cached for the loop
    counts: Counter[str] = Counter()
    by_data_set: Counter[tuple[str, str]] = Counter()
    unused: dict[str, int] = {}
    for epoch in range(math.ceil(steps / sampler.steps_per_epoch)):
        plan = sampler.epoch_plan(epoch)
        taken = steps - epoch * sampler.steps_per_epoch
        plans = plan.plans[:taken]
        counts.update(plans)
        if isinstance(plan, MixedEpochPlan):
            names = [plan.names[source] for source in plan.sources[:taken].tolist()]
            by_data_set.update(zip(names, plans, strict=True))
        unused[str(epoch)] = plan.unused_pairs
    summary = {"plan_counts": dict(sorted(counts.items())), "usable_pairs": usable, "unused_pairs_per_epoch": unused}
    if isinstance(sampler, SourceMixture):
        summary["data_set_batches"] = {name: sum(n for (data, _), n in by_data_set.items() if data == name)
                                       for name in sampler.names}
        summary["data_set_plan_counts"] = {name: {plan: n for (data, plan), n in sorted(by_data_set.items())
                                                  if data == name} for name in sampler.names}
    return summary


def _resume_checkpoint(run_dir: Path, checkpoints_dir: Path, resume: bool) -> Path | None:
    """The newest complete checkpoint when resuming; else check that ``run_dir`` holds no run yet."""
    if resume:
        complete = latest_complete_checkpoint(checkpoints_dir)
        if complete is None:
            raise UsageError(f"{run_dir}: no complete checkpoint to resume from (expected "
                             f"{checkpoints_dir}/checkpoint-N with trainer_state.json and sampler_state.json)")
        return complete
    last = get_last_checkpoint(str(checkpoints_dir)) if checkpoints_dir.is_dir() else None
    if last is not None or RunFolder(run_dir).final.exists():
        raise UsageError(f"{run_dir} already holds a training run; resume it or choose another directory")
    return None


def _provenance(config: TrainConfig, sources: list[DataSource], eval_data: list[ParallelQA] | None) -> dict:
    """Environment and input checksums of this run (the data files' and the records', whatever their source; a
    prepared corpus gives the digest it recorded when it was written, as its ``digest`` attribute). With several
    data sets the records' checksums are given per data set name."""
    files = [config.data] if isinstance(config.data, str) else config.data
    digests = {source.name: _records_digest(as_columns(source.data)) for source in sources}
    return {
        **environment(),
        "data_file_sha256": {name: file_sha256(Path(name)) for name in files if name and Path(name).is_file()},
        "train_records_sha256": next(iter(digests.values())) if len(digests) == 1 else digests,
        "eval_records_sha256": records_sha256(eval_data) if eval_data is not None else None,
    }


def _records_digest(columns: QuestionColumns) -> str | None:
    """The records' sha256 (in memory) or the digest a prepared corpus recorded."""
    if isinstance(columns, InMemoryColumns):
        return records_sha256(columns.records)
    return getattr(columns, "digest", None)


def _interrupted(stop: StopOnSignal, run_dir: Path, checkpoints_dir: Path) -> TrainingInterrupted:
    checkpoint = checkpoints_dir / f"checkpoint-{stop.stopped_at_step}"
    return TrainingInterrupted(
        f"training stopped by {stop.stopped_by.name} after step {stop.stopped_at_step}; checkpoint saved in "
        f"{checkpoint}", signal_number=int(stop.stopped_by), checkpoint=checkpoint, run_dir=run_dir,
    )


def _apply_prompts(model: SentenceTransformer, config: TrainConfig) -> dict[str, str]:
    """The model's own ``query``/``passage`` prompts when it has both (e.g. e5), else the configured ones.

    They are stored on the model too, so the saved model applies them when encoding.
    """
    own = model.prompts or {}
    if own.get("query") is not None and own.get("passage") is not None:
        prompts = {"query": own["query"], "passage": own["passage"]}
    else:
        prompts = {"query": config.query_prompt, "passage": config.passage_prompt}
    model.prompts = {**own, **prompts}
    return prompts


def _on_cpu(device: str) -> bool:
    """Whether training runs on the CPU for ``device`` (``auto``, ``cpu`` or ``cuda``)."""
    if device not in DEVICES:
        raise UsageError(f"unknown training device {device!r} (expected one of: {', '.join(DEVICES)})")
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("training device cuda: no CUDA GPU is visible to torch (use auto or cpu)")
    return device == "cpu" or not torch.cuda.is_available()


def _precision(precision: str, *, on_cpu: bool) -> str:
    """``auto`` resolved: bf16 on a GPU that supports it, fp16 on other GPUs, fp32 on CPU."""
    if precision != "auto":
        return precision
    if on_cpu:
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def _training_arguments(
    config: TrainConfig, checkpoints_dir: Path, prompts: dict[str, str], *, with_eval: bool, on_cpu: bool
) -> SentenceTransformerTrainingArguments:
    precision = _precision(config.precision, on_cpu=on_cpu)
    early_stopping = with_eval and config.early_stopping_patience is not None
    save_steps = config.save_steps
    if early_stopping:  # the best checkpoint must be one that was evaluated
        save_steps = config.eval_steps * max(1, round(save_steps / config.eval_steps))
    return SentenceTransformerTrainingArguments(
        output_dir=str(checkpoints_dir),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        learning_rate=config.lr,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a share of the steps (transformers v5)
        lr_scheduler_type="linear",
        optim="adamw_torch",
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        seed=config.seed,
        use_cpu=on_cpu and (torch.cuda.is_available() or _ddp_on_cpu() or precision == "bf16"),  # see _on_cpu
        fp16=precision == "fp16",
        bf16=precision == "bf16",
        prompts=_column_prompts(prompts, config),
        logging_steps=config.logging_steps,
        logging_nan_inf_filter=False,
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=config.save_total_limit,
        eval_strategy="steps" if with_eval else "no",
        eval_steps=config.eval_steps if with_eval else None,
        load_best_model_at_end=early_stopping,
        metric_for_best_model="eval_loss" if early_stopping else None,
        greater_is_better=False if early_stopping else None,
        dataloader_drop_last=True,
        dataloader_pin_memory=torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=True,
    )


def _column_prompts(prompts: dict[str, str], config: TrainConfig) -> dict[str, str]:
    """The prompt of each input column: the parallel query is a query, hard negatives are passages."""
    columns = dict(prompts)
    if config.alignment_weight:
        columns["parallel_query"] = prompts["query"]
    columns.update(dict.fromkeys(negative_columns(config.hard_negatives), prompts["passage"]))
    return columns


def _ddp_on_cpu() -> bool:
    """Launched with several processes (torchrun / accelerate) on a machine without CUDA: DDP over gloo.

    Accelerate only sets up CPU data parallelism when asked for the CPU; otherwise each process trains alone.
    """
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


def _loss(model: SentenceTransformer, config: TrainConfig, *, gather: bool) -> torch.nn.Module:
    """The ranking loss (:func:`_ranking_loss`), wrapped in the language-erasure and the parallel-query alignment
    terms when their weights are set."""
    loss = _ranking_loss(model, config, gather=gather)
    if config.erasure_weight:
        loss = LanguageErasureLoss(loss, config.erasure_weight, gather_across_devices=gather)
    if config.alignment_weight:
        loss = ParallelQueryAlignmentLoss(loss, config.alignment_weight, gather_across_devices=gather)
    return loss


def _ranking_loss(model: SentenceTransformer, config: TrainConfig, *, gather: bool) -> torch.nn.Module:
    """In-batch-negative InfoNCE over cosine scores, optionally symmetric and/or gradient-cached; with the
    ``multi_positive`` design every translation of a query's answer in the batch is a positive."""
    kwargs: dict[str, Any] = {"scale": config.scale, "gather_across_devices": gather}
    if config.sampler == SamplerKind.MULTI_POSITIVE:
        return MultiPositiveRankingLoss(model, **kwargs)
    if config.symmetric:
        kwargs.update(SYMMETRIC_DIRECTIONS)
    if config.cached:
        return CachedMultipleNegativesRankingLoss(model, mini_batch_size=config.mini_batch_size, **kwargs)
    return MultipleNegativesRankingLoss(model, **kwargs)


def _loss_columns(config: TrainConfig) -> dict[str, Any]:
    """What the loss reads beyond (query, passage): the group label of ``multi_positive`` (a row's translations),
    the row's languages for the erasure term, the parallel query for the alignment term, the hard negatives."""
    return {"group_labels": config.sampler == SamplerKind.MULTI_POSITIVE,
            "language_labels": config.erasure_weight > 0, "parallel_queries": config.alignment_weight > 0,
            "hard_negatives": config.hard_negatives}


def _eval_batches(
    config: TrainConfig, eval_data: list[ParallelQA] | None, world_size: int
) -> tuple[PairTable | None, LanguageBatchSampler | None]:
    """Validation pairs in the training languages, in fixed mixed batches with no alignment id twice."""
    if eval_data is None:
        return None, None
    table = PairTable(eval_data, languages=config.languages, exclude_languages=config.exclude_languages,
                      source="validation data")
    batch_size = min(config.batch_size, len(eval_data) // world_size)
    if batch_size < 2:
        raise UsageError(f"validation data: {len(eval_data)} records are too few for in-batch negatives")
    return table, LanguageBatchSampler(table, batch_size, kind=SamplerKind.MIXED, seed=config.seed,
                                       world_size=world_size)


def _save_final(model: SentenceTransformer, target: Path) -> Path:
    """Save the model next to ``target`` and move it into place, so ``final/`` is never half-written."""
    with atomic_directory(target, ours=lambda folder: (folder / "modules.json").is_file()) as staging:
        model.save(str(staging))
    return target
