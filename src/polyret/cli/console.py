"""The consoles every ``polyret`` command prints through. They never parse rich markup, so a name, path or record
that came from the user is always shown literally (``mk[/]run`` stays ``mk[/]run``); style goes through
:func:`styled`, never through markup in a formatted string.

Example:
    >>> from polyret.cli.console import console, styled
    >>> console.print(styled("ready:", "green"), "[bold]my-model[/]")  # the second part prints as typed
"""

from __future__ import annotations

import logging

from rich.console import Console
from rich.progress import TextColumn
from rich.text import Text

console = Console(markup=False, highlight=False, soft_wrap=True)
"""Standard output: results and summaries (long lines are not broken, so paths stay whole)."""
err_console = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
"""Standard error: errors, warnings and progress of long steps."""


def styled(text: object, style: str) -> Text:
    """``text`` (any value, shown literally) in a rich ``style`` such as ``"bold red"``."""
    return Text(str(text), style=style)


def text_column(template: str) -> TextColumn:
    """A progress-bar column showing ``template`` (``"{task.description}"``) without reading markup in it."""
    return TextColumn(template, markup=False)


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
