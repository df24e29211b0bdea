"""Errors that reach the user. Each names what was wrong, where, and what was expected.

The CLI turns them into one clear message and a distinct exit code (no stack trace unless ``--debug``).
"""

from __future__ import annotations

from pathlib import Path


class PolyretError(Exception):
    """Base class of every error polyret reports to its user.

    Attributes:
        hint: what to do next, in the words of the interface that caught the error (the CLI sets it to a
            command line); library code leaves it ``None`` and puts what a hint needs in structured fields.
    """

    exit_code = 1
    hint: str | None = None


class UsageError(PolyretError):
    """A wrong flag, option value or configuration."""

    exit_code = 2


class DataError(PolyretError):
    """A data file (or in-memory record) that does not hold what it should.

    Args:
        path: the file (or a name for in-memory data).
        message: what is wrong.
        record: the line number or record id, when known.
        expected: what was expected instead, ideally with the fix.
    """

    exit_code = 3

    def __init__(
        self, path: str | Path, message: str, *, record: str | int | None = None, expected: str | None = None
    ):
        self.path = str(path)
        self.record = record
        self.expected = expected
        where = self.path if record is None else f"{self.path}, {_record_label(record)}"
        text = f"{where}: {message}"
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)


class MissingDataError(DataError):
    """A registered data file that is not in an explicitly given data folder (nothing is downloaded there).

    Attributes:
        dataset: the registered data set the file belongs to (what the user fetches).
        data_root: the data folder that was searched.
    """

    def __init__(self, path: str | Path, message: str, *, dataset: str, data_root: str | Path, expected: str):
        super().__init__(path, message, expected=expected)
        self.dataset = dataset
        self.data_root = str(data_root)


class DiskFullError(PolyretError):
    """The disk (or quota) filled up while polyret wrote ``path``; the file or folder was not written (the previous
    one, if any, is unchanged).

    Args:
        path: the file or folder being written.
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        super().__init__(f"{self.path}: no space left on device; nothing of it was written (free some space or "
                         "write elsewhere)")


class ModelError(PolyretError):
    """A model path or name that cannot be loaded as an encoder."""

    exit_code = 4


class TrainingError(PolyretError):
    """Training stopped on a fault (e.g. a non-finite loss); the last good checkpoint is kept."""

    exit_code = 5


class TrainingInterrupted(TrainingError):
    """Training stopped on SIGINT/SIGTERM after saving a checkpoint; resuming the run in ``run_dir`` continues it.

    The exit code is the shell's convention for the signal: 130 for SIGINT, 143 for SIGTERM.

    Args:
        message: what happened and how to resume.
        signal_number: the signal received.
        checkpoint: the checkpoint saved at the step boundary.
        run_dir: the training run to resume.
    """

    exit_code = 130

    def __init__(self, message: str, *, signal_number: int, checkpoint: Path, run_dir: Path | None = None):
        self.exit_code = 128 + signal_number
        self.checkpoint = checkpoint
        self.run_dir = run_dir
        super().__init__(message)


def _record_label(record: str | int) -> str:
    return f"line {record}" if isinstance(record, int) else f"record {record!r}"
