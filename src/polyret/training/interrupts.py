"""Stop training cleanly on SIGINT/SIGTERM: checkpoint at the next step boundary, then end the run.

The signal handler only records the signal; :class:`StopOnSignal` (a ``TrainerCallback``) asks the trainer at the
next step end to save a checkpoint (model, optimizer, scheduler, RNG; polyret adds the sampler state) and to stop.
A second SIGINT while waiting for the step to end interrupts at once (``KeyboardInterrupt``), as a user expects.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignal(TrainerCallback):
    """Turns SIGINT/SIGTERM into "save a checkpoint and stop" at the next optimizer step boundary.

    Attributes:
        received: the signal received while :meth:`installed` was active (``None``: none).
        stopped_at_step: the step whose checkpoint was requested because of the signal (``None``: training was
            not stopped by a signal, e.g. it arrived after the last step).
    """

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self.stopped_at_step: int | None = None

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

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        if self.received is not None and self.stopped_at_step is None:
            control.should_save = True
            control.should_training_stop = True
            self.stopped_at_step = state.global_step
        return control
