"""Run ``polyret ARGS`` in this process and send it SIGNAL (``SIGINT`` / ``SIGTERM``) when it first encodes texts,
as a user's Ctrl-C or a scheduler's ``kill`` would in the middle of the work (run by test_interrupts.py).

Usage: python interrupt_worker.py SIGNAL ARGS...
"""

from __future__ import annotations

import os
import signal
import sys

from polyret.cli import main
from polyret.models.encoders import SentenceTransformerEncoder

_encode = SentenceTransformerEncoder.encode


def _encode_then_signal(self, *args, **kwargs):
    os.kill(os.getpid(), signal.Signals[sys.argv[1]])  # the handler runs at the next bytecode, inside the work
    return _encode(self, *args, **kwargs)


if __name__ == "__main__":
    SentenceTransformerEncoder.encode = _encode_then_signal
    main(sys.argv[2:])
