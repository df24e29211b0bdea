"""What running one arm did, as typed records: how it got its model (:class:`ArmStatus`, :class:`TrainingSummary`)
and how it was evaluated (:class:`ArmRun`). A stored result keeps them as its ``info`` mapping
(:meth:`ArmRun.info`), with the keys results have always had.

Example:
    >>> summary = TrainingSummary.from_run(ArmStatus.TRAINED, {"steps": 30, "wall_time_s": 61.2, "train_loss": 1.8})
    >>> summary.info()
    {'training': 'trained', 'train_steps': 30, 'train_wall_s': 61.2, 'train_loss': 1.8}

Relations: :func:`polyret.experiments.runner.run_arm` makes them; :class:`~polyret.experiments.arm_result.ArmResult`
stores the ``info`` mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from polyret.experiments.task_reuse import FINGERPRINT_KEY, REUSED_KEY


class ArmStatus(StrEnum):
    """How an arm got its result (``info["status"]``)."""

    REUSED = "reused"
    """A valid stored result of the same config."""
    TRAINED = "trained"
    """Trained from the start, then evaluated."""
    RESUMED = "resumed"
    """Training resumed from its last complete checkpoint, then evaluated."""
    TRAINING_REUSED = "training reused"
    """A finished training run of the same config evaluated again."""
    EVALUATED = "evaluated"
    """Not trained (the zero-shot arm, a reference encoder): evaluated only."""
    DEBIASED = "debiased"
    """A post-hoc row ``"<arm> + <method>"`` computed from its arm's model."""


@dataclass(frozen=True)
class TrainingSummary:
    """The training of one arm.

    Attributes:
        status: :attr:`ArmStatus.TRAINED`, :attr:`ArmStatus.RESUMED` or :attr:`ArmStatus.TRAINING_REUSED`.
        steps: optimizer steps taken.
        wall_s: seconds the training took.
        loss: the mean training loss (``None`` when the trainer reported none).
    """

    status: ArmStatus
    steps: int
    wall_s: float
    loss: float | None

    @classmethod
    def from_run(cls, status: ArmStatus, summary: dict[str, Any]) -> TrainingSummary:
        """From a training run's ``summary.json`` (:func:`polyret.training.train`'s summary)."""
        return cls(status, summary["steps"], summary["wall_time_s"], summary["train_loss"])

    def info(self) -> dict[str, Any]:
        return {"training": self.status.value, "train_steps": self.steps, "train_wall_s": self.wall_s,
                "train_loss": self.loss}


@dataclass(frozen=True)
class ArmRun:
    """One run of an arm that was not reused whole.

    Attributes:
        run_dir: the arm's folder relative to the study folder (``arms/<run>-<hash>``).
        training: its training (``None``: not trained).
        backend: the inference backend it was evaluated on (``openvino-bf16``).
        fingerprint: the evaluated model's fingerprint (what lets a later run borrow its task results).
        eval_wall_s: seconds the evaluation took.
        eval_texts: texts it encoded (``None``: a task that cannot be sized).
        reused_tasks: task name -> the folder of the earlier run it borrowed that task's result from.
    """

    run_dir: str
    training: TrainingSummary | None
    backend: str
    fingerprint: str
    eval_wall_s: float
    eval_texts: int | None
    reused_tasks: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> ArmStatus:
        return ArmStatus.EVALUATED if self.training is None else self.training.status

    def info(self) -> dict[str, Any]:
        """The stored ``info`` mapping (its keys in the order results have always had them)."""
        info = {"run_dir": self.run_dir, **(self.training.info() if self.training else {}),
                "status": self.status.value, "backend": self.backend, FINGERPRINT_KEY: self.fingerprint}
        if self.reused_tasks:
            info[REUSED_KEY] = dict(self.reused_tasks)
        return info | {"eval_wall_s": self.eval_wall_s, "eval_texts": self.eval_texts}
