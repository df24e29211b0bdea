"""The consoles every ``polyret`` command prints through. They never parse rich markup, so a name, path or record
that came from the user is always shown literally (``mk[/]run`` stays ``mk[/]run``); style goes through
:func:`styled`, never through markup in a formatted string.

Example:
    >>> from polyret.cli.console import console, styled
    >>> console.print(styled("ready:", "green"), "[bold]my-model[/]")  # the second part prints as typed
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import sys
from collections.abc import Iterator

from rich.console import Console
from rich.progress import TextColumn
from rich.text import Text

BROKEN_PIPE = 141
"""Exit code when standard output is closed early (``polyret ... | head``): the shell's code for SIGPIPE."""


def escape_unencodable_output() -> None:
    """Print what the terminal's encoding cannot show as escapes (``\\u4e2d``) instead of failing on it."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


@contextlib.contextmanager
def closed_stdout_ends_quietly() -> Iterator[None]:
    """End quietly with :data:`BROKEN_PIPE` when the reader of standard output goes away (``| head``).

    Standard output is pointed at ``/dev/null`` so that the interpreter's last flush cannot fail again.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        _end_on_broken_pipe()


def _end_on_broken_pipe() -> None:
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(BROKEN_PIPE)


class _Console(Console):
    """A rich console that ends with :data:`BROKEN_PIPE` (not 1) when its reader goes away."""

    def on_broken_pipe(self) -> None:
        _end_on_broken_pipe()


console = _Console(markup=False, highlight=False, soft_wrap=True)
"""Standard output: results and summaries (long lines are not broken, so paths stay whole)."""
err_console = _Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
"""Standard error: errors, warnings and progress of long steps."""


def styled(text: object, style: str) -> Text:
    """``text`` (any value, shown literally) in a rich ``style`` such as ``"bold red"``."""
    return Text(str(text), style=style)


def text_column(template: str) -> TextColumn:
    """A progress-bar column showing ``template`` (``"{task.description}"``) without reading markup in it."""
    return TextColumn(template, markup=False)


def stage(line: str) -> None:
    """One stage line of a long command on standard error (shown literally)."""
    err_console.print(line, soft_wrap=True)


def warn(message: str) -> None:
    """Print ``warning: message`` to standard error (the message shown literally)."""
    err_console.print(styled("warning:", "bold yellow"), message, soft_wrap=True)


class _WarningHandler(logging.Handler):
    """Shows polyret's own log warnings (a cache rebuilt, a shard re-encoded) as ``warning:`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        warn(record.getMessage())


def show_warnings() -> None:
    """Route warnings of the ``polyret`` loggers to standard error (once per process)."""
    root = logging.getLogger("polyret")
    if not any(isinstance(handler, _WarningHandler) for handler in root.handlers):
        root.addHandler(_WarningHandler(logging.WARNING))
