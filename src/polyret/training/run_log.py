"""What a training run records beside the model: the per-step log, the language plan (and data set), the sampler
state."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from polyret.errors import TrainingError
from polyret.io import atomic_write, read_json, read_lines, write_json
from polyret.sampling import EpochSampler
from polyret.sampling.mixture import MixedEpochPlan

SAMPLER_STATE_NAME = "sampler_state.json"


def plan_of_step(sampler: EpochSampler, step: int) -> str:
    """The language plan of optimizer step ``step`` (1-based, counted over all epochs)."""
    plan, index = _step_in_epoch(sampler, step)
    return plan.plans[index]


def batch_example_ids(sampler: EpochSampler, step: int) -> list[str]:
    """The alignment ids of the (global) batch of optimizer step ``step`` (1-based), in batch order."""
    plan, index = _step_in_epoch(sampler, step)
    return sampler.table.alignment_ids(plan.batches[index])


def data_set_of_step(sampler: EpochSampler, step: int) -> str | None:
    """The data set of optimizer step ``step`` (1-based) when the run mixes several, else ``None``."""
    plan, index = _step_in_epoch(sampler, step)
    return plan.data_set_of(index) if isinstance(plan, MixedEpochPlan) else None


def _step_in_epoch(sampler: EpochSampler, step: int) -> tuple[Any, int]:
    """The epoch plan holding optimizer step ``step`` (1-based) and the step's index within it."""
    epoch, index = divmod(step - 1, sampler.steps_per_epoch)
    return sampler.epoch_plan(epoch), index


def plan_counts_between(sampler: EpochSampler, first: int, last: int) -> dict[str, int]:
    """How many of the optimizer steps ``first..last`` (1-based, inclusive) followed each language plan."""
    return dict(sorted(Counter(plan_of_step(sampler, step) for step in range(first, last + 1)).items()))


def data_set_counts_between(sampler: EpochSampler, first: int, last: int) -> dict[str, int]:
    """How many of the optimizer steps ``first..last`` (1-based, inclusive) came from each data set (empty with
    one data set)."""
    names = (data_set_of_step(sampler, step) for step in range(first, last + 1))
    return dict(sorted(Counter(name for name in names if name is not None).items()))


def sampler_state_at(sampler: EpochSampler, step: int) -> dict[str, Any]:
    """The sampler state after ``step`` optimizer steps (what a checkpoint at that step resumes from)."""
    epoch, index = divmod(step, sampler.steps_per_epoch)
    return {"epoch": epoch, "position": index * (len(sampler) // sampler.steps_per_epoch),
            "fingerprint": sampler.fingerprint}


def check_resumable(checkpoint: Path, sampler: EpochSampler) -> None:
    """Raise :class:`TrainingError` unless ``checkpoint`` was written with the same batch sequence."""
    state_file = checkpoint / SAMPLER_STATE_NAME
    if not state_file.is_file():
        raise TrainingError(f"{checkpoint}: no {SAMPLER_STATE_NAME}; not a polyret checkpoint, cannot resume")
    if read_json(state_file).get("fingerprint") != sampler.fingerprint:
        raise TrainingError(
            f"{checkpoint}: written with other data, languages, sampler, batch size or seed; resuming would not "
            "continue the same batch sequence (start a new run in another output directory instead)"
        )


class RunLogCallback(TrainerCallback):
    """Appends each logged step (loss, learning rate, language plan) to ``train_log.jsonl``, stops on a
    non-finite loss, and stores the sampler state in every checkpoint."""

    def __init__(self, log_path: Path, sampler: EpochSampler) -> None:
        self.log_path = log_path
        self.sampler = sampler
        self.best_eval_loss: float | None = None
        self.last_logged_step = 0  # the logged loss is the mean over the steps after this one

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        """Drop log lines past the step training (re)starts from, so a resumed run's log has no duplicates."""
        self.last_logged_step = state.global_step
        if state.is_world_process_zero and self.log_path.exists():
            kept = [line for line in read_lines(self.log_path) if _logged_step(line) <= state.global_step]
            with atomic_write(self.log_path) as handle:
                handle.writelines(f"{line}\n" for line in kept)

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
        logs: dict[str, float] | None = None, **kw: Any,
    ):
        logs = logs or {}
        step = state.global_step
        record: dict[str, Any] = {"step": step, "epoch": round(state.epoch or 0.0, 4)}
        if "loss" in logs:
            first = min(self.last_logged_step + 1, step)  # the logged loss is the mean over steps first..step
            self.last_logged_step = step
            if math.isfinite(logs["loss"]) and not state.is_world_process_zero:
                return  # every rank logs the same gathered values; rank 0 writes them
            plans = plan_counts_between(self.sampler, first, step)
            plan, data_set = plan_of_step(self.sampler, step), data_set_of_step(self.sampler, step)
            if not math.isfinite(logs["loss"]):
                raise _non_finite(logs["loss"], self.sampler, first, step)
            record.update(loss=logs["loss"], lr=logs.get("learning_rate"), plan=plan,
                          examples=batch_example_ids(self.sampler, step))
            if data_set is not None:
                record["data_set"] = data_set
            if first != step:
                record["plans_since_last_log"] = plans
                if data_set is not None:
                    record["data_sets_since_last_log"] = data_set_counts_between(self.sampler, first, step)
        elif "eval_loss" in logs:
            record["eval_loss"] = logs["eval_loss"]
            if self.best_eval_loss is None or logs["eval_loss"] < self.best_eval_loss:
                self.best_eval_loss = logs["eval_loss"]
        else:
            return
        if not state.is_world_process_zero:  # every rank logs the same gathered values; rank 0 writes them
            return
        with open(self.log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        if not state.is_world_process_zero:  # rank 0 writes the checkpoint; every rank's sampler has this state
            return
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        write_json(checkpoint / SAMPLER_STATE_NAME, sampler_state_at(self.sampler, state.global_step))


def _non_finite(loss: float, sampler: EpochSampler, first: int, step: int) -> TrainingError:
    """The error of a non-finite loss, naming the step (or steps since the last log), plans and data sets."""
    data_set = data_set_of_step(sampler, step)
    where = f"step {step} (language plan {plan_of_step(sampler, step)}"
    where += f", data set {data_set})" if data_set is not None else ")"
    if first != step:
        plans = plan_counts_between(sampler, first, step)
        data_sets = data_set_counts_between(sampler, first, step)
        where = f"steps {first}-{step} (language plans {', '.join(f'{p} x{n}' for p, n in plans.items())}"
        where += f"; data sets {', '.join(f'{d} x{n}' for d, n in data_sets.items())})" if data_sets else ")"
    return TrainingError(f"non-finite loss ({loss}) at {where}; "
                         "lower the learning rate or the scale, or check the data of that plan")


def _logged_step(line: str) -> float:
    """The step of a log line; a line cut short by a killed process counts as past every step (it is dropped)."""
    try:
        return json.loads(line)["step"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return math.inf
