"""A rich progress bar for training steps, with the latest loss and language plan."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments


class RichProgressCallback(TrainerCallback):
    """Shows ``step/total``, elapsed and remaining time, and the last logged loss."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: Any = None

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        self._progress = Progress(
            TextColumn("[bold]training[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
        )
        self._task = self._progress.add_task("train", total=state.max_steps, completed=state.global_step, status="")
        self._progress.start()

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        if self._progress is not None:
            self._progress.update(self._task, completed=state.global_step)

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
        logs: dict[str, float] | None = None, **kw: Any,
    ):
        if self._progress is not None and logs and "loss" in logs:
            self._progress.update(self._task, status=f"loss {logs['loss']:.4f}")

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        self.close()

    def close(self) -> None:
        """Stop the bar (also when training ends on an error)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
