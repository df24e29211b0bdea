"""One epoch of global batches, drawn batch by batch as they are read (the draw is a seeded sequence)."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import numpy as np

Draw = Callable[[], Iterator[tuple[str, np.ndarray]]]
"""Starts an epoch's draw afresh: yields each global batch's plan label and pair codes, in order."""

CHUNK_STEPS = 1024  # batches held per chunk; the latest two chunks are kept


class EpochPlan:
    """One epoch: global batches of pair codes and their plan labels, drawn from the start as far as read.

    Reading batch ``i`` draws batches up to ``i`` (once); the plan labels of every batch drawn stay (two bytes
    each), the batches of the latest two chunks of 1,024 steps stay, and reading an older batch draws the epoch
    again from its start (the draw is seeded, so it is the same batch). The first batch is ready as soon as the
    pools are built, whatever the epoch's length.

    Attributes:
        batches: ``steps`` global batches, each ``world_size * batch_size`` pair codes
            (:class:`~polyret.sampling.PairTable`); a sequence (``len``, index, slice, iteration).
        plans: the plan label of each global batch (``"de-de"``, ``"de-en"``, ``"cross-mixed"``, ``"mixed"``,
            ``"multi-positive"``); a sequence.
        usable_pairs: rows the design could draw from (e.g. only X-X rows for ``monolingual``).
        unused_pairs: usable rows no batch takes this epoch (slot remainders smaller than a batch, and for
            ``hybrid`` the cross-lingual rows beyond its ``1 - alpha`` share).

    Example::

        plan = sampler.epoch_plan(0)
        plan.plans[0], plan.batches[0]   # draws the first batch only
    """

    def __init__(self, draw: Draw, steps: int, usable_pairs: int, unused_pairs: int) -> None:
        self._draw = draw
        self.steps = steps
        self.usable_pairs = usable_pairs
        self.unused_pairs = unused_pairs
        self._labels: list[str] = []
        self._label_of = array("H")  # index into _labels of each batch drawn so far
        self._chunks: dict[int, np.ndarray] = {}
        self._stream: Iterator[tuple[str, np.ndarray]] | None = None
        self._drawn = 0  # batches the current stream has yielded
        self.batches: Sequence[np.ndarray] = _Steps(self, self._batch)
        self.plans: Sequence[str] = _Steps(self, self._plan)

    @property
    def plan_counts(self) -> dict[str, int]:
        """How many batches follow each plan label, sorted by label (draws the whole epoch)."""
        return dict(sorted(Counter(self.plans).items()))

    def _plan(self, step: int) -> str:
        if step >= len(self._label_of):
            self._draw_to(step)
        return self._labels[self._label_of[step]]

    def _batch(self, step: int) -> np.ndarray:
        chunk, offset = divmod(step, CHUNK_STEPS)
        if step < self._drawn and chunk not in self._chunks:  # an older chunk, dropped: draw the epoch again
            self._stream, self._drawn, self._chunks = None, 0, {}
        if step >= self._drawn:
            self._draw_to(step)
        return self._chunks[chunk][offset]

    def _draw_to(self, step: int) -> None:
        """Draw (with the current stream, else a fresh one) until batch ``step`` is held."""
        if self._stream is None:
            self._stream = self._draw()
        while self._drawn <= step:
            label, batch = next(self._stream)
            chunk, offset = divmod(self._drawn, CHUNK_STEPS)
            if chunk not in self._chunks:
                self._chunks = {**{c: held for c, held in self._chunks.items() if c == chunk - 1},
                                chunk: np.empty((min(CHUNK_STEPS, self.steps - chunk * CHUNK_STEPS), len(batch)),
                                                dtype=np.int64)}
            self._chunks[chunk][offset] = batch
            if self._drawn == len(self._label_of):
                if label not in self._labels:
                    self._labels.append(label)
                self._label_of.append(self._labels.index(label))
            self._drawn += 1


class _Steps(Sequence[Any]):
    """A read-only sequence over an epoch's steps, each read through ``read(step)``."""

    def __init__(self, plan: EpochPlan, read: Callable[[int], Any]) -> None:
        self._plan = plan
        self._read = read

    def __len__(self) -> int:
        return self._plan.steps

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._read(step) for step in range(*index.indices(self._plan.steps))]
        step = index + self._plan.steps if index < 0 else index
        if not 0 <= step < self._plan.steps:
            raise IndexError(f"step {index} outside the epoch's {self._plan.steps} batches")
        return self._read(step)


def fixed_draw(batches: np.ndarray, plans: Sequence[str]) -> Draw:
    """A :data:`Draw` over batches drawn in advance (designs whose draw cannot be cut short)."""
    return lambda: zip(plans, batches, strict=True)
