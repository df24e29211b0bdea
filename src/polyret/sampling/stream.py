"""What every batch sampler of polyret shares: epochs drawn from ``(seed, epoch)``, global batches split over
ranks, resume to the identical batch.

A sampler's epoch plan (:meth:`EpochSampler.epoch_plan`) gives every global batch of the epoch
(``plan.batches[step]``, pair codes) and the plan label it follows (``plan.plans[step]``), so an epoch has a fixed
length the trainer can schedule and the rest of an epoch is regenerated from ``(epoch, position)`` alone
(:meth:`EpochSampler.state_dict`).

Relations:
    :class:`~polyret.sampling.sampler.LanguageBatchSampler` (one data set) and
    :class:`~polyret.sampling.mixture.SourceMixture` (several) are its implementations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from polyret.errors import UsageError

logger = logging.getLogger(__name__)


class EpochSampler:
    """Base of the batch samplers: yields the per-rank slices of each epoch's global batches, resumably.

    Under data parallelism (``world_size`` W > 1) every global batch of ``W * batch_size`` codes is emitted as W
    consecutive per-rank batches; Accelerate (``split_batches=False``) hands rank r every W-th batch, so at each
    step all ranks follow one plan. With ``rank`` set only that rank's batches are yielded.

    Subclasses call :meth:`_start`, set ``_num_batches`` and ``table`` (the codes' table: ``len``,
    ``pairs(codes)``, ``alignment_ids(codes)``), and implement :meth:`_draw_epoch` (a plan with ``batches``,
    ``plans``, ``usable_pairs`` and ``unused_pairs``) and ``fingerprint``.
    """

    batch_size: int
    world_size: int
    rank: int | None
    seed: int
    fingerprint: str

    def _start(self, batch_size: int, *, seed: int, world_size: int, rank: int | None) -> None:
        if batch_size < 1 or world_size < 1:
            raise UsageError(f"batch_size and world_size must be >= 1 (got {batch_size}, {world_size})")
        if rank is not None and not 0 <= rank < world_size:
            raise UsageError(f"rank must lie in [0, {world_size}) (got {rank})")
        self.batch_size = batch_size
        self.seed = seed
        self.world_size = world_size
        self.rank = rank
        self.global_batch_size = batch_size * world_size
        self.epoch = 0
        self._resume_at = 0
        self._position = 0
        self._num_batches = 0
        self._cached: dict[int, Any] = {}  # the latest two epochs drawn (a log interval may span both)
        self.log_prefix = ""  # names the data set in a mixture's log lines

    def _draw_epoch(self, epoch: int) -> Any:
        raise NotImplementedError

    def _epoch_note(self, plan: Any) -> str:
        """What the epoch's log line adds (e.g. the batches per plan)."""
        return ""

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch to draw next (the trainer calls this before each epoch)."""
        if epoch != self.epoch:
            self._resume_at = 0
        self.epoch = epoch

    def __len__(self) -> int:
        """Batches per epoch that this iterator yields (per rank when ``rank`` is set, else all ranks')."""
        return self._num_batches * (1 if self.rank is not None else self.world_size)

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps (global batches) per epoch."""
        return self._num_batches

    def __iter__(self) -> Iterator[list[Any]]:
        return (self.table.pairs(batch) for batch in self.row_batches())  # type: ignore[attr-defined]

    def row_batches(self) -> Iterator[list[int]]:
        """Like iterating the sampler, but yields pair codes (the keys of the trainer's dataset,
        :class:`polyret.training.dataset.PairTexts`)."""
        start, self._resume_at = self._resume_at, 0
        self._position = start  # set now, not at the first next(), so state_dict() is right at once
        return self._rows_from(self.epoch_plan(self.epoch), start)

    def _rows_from(self, plan: Any, start: int) -> Iterator[list[int]]:
        per_step = 1 if self.rank is not None else self.world_size
        for position in range(start, len(self)):
            step, slot = divmod(position, per_step)
            rank = self.rank if self.rank is not None else slot
            self._position = position + 1
            yield plan.batches[step][rank * self.batch_size : (rank + 1) * self.batch_size].tolist()

    def epoch_plan(self, epoch: int) -> Any:
        """The global batches and plan labels of ``epoch`` (drawn once; the latest two epochs stay cached)."""
        if epoch not in self._cached:
            plan = self._draw_epoch(epoch)
            logger.info("%sepoch %d: %d batches%s, %d of %d usable pairs unused", self.log_prefix, epoch,
                        len(plan.batches), self._epoch_note(plan), plan.unused_pairs, plan.usable_pairs)
            self._cached = {**dict(list(self._cached.items())[-1:]), epoch: plan}
        return self._cached[epoch]

    def state_dict(self) -> dict[str, Any]:
        """Where iteration stands: the epoch and the batches of it already yielded."""
        return {"epoch": self.epoch, "position": self._position, "fingerprint": self.fingerprint}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`: the next ``iter`` yields exactly the rest of that epoch.

        Raises:
            UsageError: the state belongs to other data, another design or another seed.
        """
        if state.get("fingerprint") != self.fingerprint:
            raise UsageError(
                "sampler state does not match this sampler (different data, design, batch size or seed, or a "
                "checkpoint of an older polyret that let questions sharing an answer into one batch); "
                "resuming would not reproduce the remaining batches"
            )
        self.epoch = int(state["epoch"])
        self._resume_at = self._position = int(state["position"])


def enum_value(enum_cls: type[Any], value: Any, name: str) -> Any:
    """``enum_cls(value)``, or a :class:`UsageError` listing the choices."""
    try:
        return enum_cls(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum_cls)
        raise UsageError(f"unknown {name} {value!r} (expected one of: {choices})") from None
