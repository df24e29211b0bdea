"""Stop training cleanly on SIGINT/SIGTERM: checkpoint at the next step boundary, then end the run.

The signal handler only records the signal; :class:`StopOnSignal` (a ``TrainerCallback``) asks the trainer at the
next step end to save a checkpoint (model, optimizer, scheduler, RNG; polyret adds the sampler state) and to stop.
A second SIGINT while waiting for the step to end interrupts at once (``KeyboardInterrupt``), as a user expects.

Under ``torch.distributed`` every rank must stop at the same step: a rank that stopped alone would leave the others
waiting in the next gradient all-reduce. So at each step end the ranks agree on the signal with one all-reduce of a
CPU scalar over a gloo group of their own (no device synchronisation, whatever the training backend), and a signal
that reached any rank stops all of them after that step.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import torch
import torch.distributed as dist
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignal(TrainerCallback):
    """Turns SIGINT/SIGTERM into "save a checkpoint and stop" at the next optimizer step boundary, on every rank.

    Attributes:
        received: the signal this process received while :meth:`installed` was active (``None``: none).
        stopped_by: the signal that stopped training: this process's or, under DDP, another rank's (the highest
            signal number when ranks received different ones).
        stopped_at_step: the step whose checkpoint was requested because of the signal (``None``: training was
            not stopped by a signal, e.g. it arrived after the last step).
    """

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self.stopped_by: signal.Signals | None = None
        self.stopped_at_step: int | None = None
        self._group: Any = None

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGINT/SIGTERM while the block runs (main thread only; elsewhere signals keep their handlers)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._handle) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # asked twice: do not wait for the step to end
        self.received = signal.Signals(signum)

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        if self._group is None and args.world_size > 1 and dist.is_initialized():
            self._group = dist.new_group(backend="gloo")  # collective: every rank creates it here
        return control

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        if self._group is not None:
            dist.destroy_process_group(self._group)
            self._group = None
        return control

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        if self.stopped_at_step is None:
            self.stopped_by = self._agreed_signal()
            if self.stopped_by is not None:
                control.should_save = True
                control.should_training_stop = True
                self.stopped_at_step = state.global_step
        return control

    def _agreed_signal(self) -> signal.Signals | None:
        """The signal any rank received by this step end (this process's own outside DDP)."""
        if self._group is None:
            return self.received
        flag = torch.tensor([int(self.received or 0)], dtype=torch.int64)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self._group)
        return signal.Signals(int(flag)) if int(flag) else None
