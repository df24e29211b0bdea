"""SIGINT and SIGTERM end any ``polyret`` command the same way: as a ``KeyboardInterrupt`` raised where the
program is, so ``finally`` blocks and :func:`polyret.io.atomic_write` clean up (nothing is left half-written), and
the command exits with the shell's code for the signal (130 / 143). Training installs its own handlers while it
runs (:class:`polyret.training.interrupts.StopOnSignal`: a checkpoint first) and restores these afterwards.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

INTERRUPTED = 130
"""The exit code typer returns for a ``KeyboardInterrupt`` (SIGINT's shell convention)."""
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def interrupts_as_keyboard_interrupt() -> Iterator[list[int]]:
    """While inside, SIGINT and SIGTERM raise ``KeyboardInterrupt``; yields the list of signals received.

    Outside the main thread (where handlers cannot be installed) nothing changes and the list stays empty.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(number: int, _frame: FrameType | None) -> None:
        received.append(number)
        raise KeyboardInterrupt

    previous = {number: signal.getsignal(number) for number in SIGNALS}
    for number, old in previous.items():
        if old is not signal.SIG_IGN:  # a signal the caller chose to ignore (nohup) stays ignored
            signal.signal(number, handler)
    try:
        yield received
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
