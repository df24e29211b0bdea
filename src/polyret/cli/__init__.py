"""The ``polyret`` command. Each sub-command lives in its own module and registers itself on :data:`app`.

Errors that polyret raises for its user (:class:`polyret.errors.PolyretError`) print one message and exit with a
distinct code; a file-system failure (a folder that is a file, a read-only folder) is reported with its path as a
usage error. ``--debug`` (anywhere on the command line) shows the stack trace instead; ``--verbose`` lets the
libraries underneath print their own progress bars and warnings.

Exit codes: 0 success, 1 other polyret error, 2 usage or configuration error, 3 data error, 4 model error,
5 training fault, 70 internal error (a bug: please report it with ``--debug`` output), 130 / 143 interrupted by
SIGINT / SIGTERM, 141 standard output closed early (``polyret ... | head``).
"""

from __future__ import annotations

import shlex
import signal
import sys
from importlib.metadata import version

import typer
from rich.text import Text

from polyret.cli import data, debias, evaluate, experiment, models, train
from polyret.cli.console import (
    closed_stdout_ends_quietly,
    err_console,
    escape_unencodable_output,
    show_warnings,
    styled,
)
from polyret.cli.options import check_arguments
from polyret.cli.quiet import quiet_libraries
from polyret.cli.signals import INTERRUPTED, interrupts_as_keyboard_interrupt
from polyret.errors import MissingDataError, PolyretError, UsageError

app = typer.Typer(
    name="polyret",
    help="Train and evaluate multilingual dense retrievers (hybrid batch training, LAReQA, language bias).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
GLOBAL_FLAGS = ("--debug", "--verbose")
"""Flags of the root command that may also be given after the sub-command."""


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"polyret {version('polyret')}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full stack traces on errors (implies --verbose)."),
    verbose: bool = typer.Option(False, "--verbose", help="Show the libraries' own progress bars and warnings."),
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """polyret: multilingual dense retrieval, from data to report."""


for _module in (data, models, train, evaluate, experiment, debias):
    _module.register(app)


def _hint(exc: PolyretError) -> str | None:
    """A command line that fixes ``exc``, from its structured fields (library errors name no command)."""
    if isinstance(exc, MissingDataError):
        return f"Fetch it with: polyret data fetch {exc.dataset} --data-dir {shlex.quote(exc.data_root)}"
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``polyret`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    given = [flag for flag in GLOBAL_FLAGS if flag in args]
    args = given + [arg for arg in args if arg not in GLOBAL_FLAGS]  # root flags also after the sub-command
    quiet_libraries(verbose=bool(given))
    show_warnings()
    escape_unencodable_output()
    with interrupts_as_keyboard_interrupt() as received, closed_stdout_ends_quietly():
        _run(args, debug="--debug" in given, received=received)


def _run(args: list[str], *, debug: bool, received: list[int]) -> None:
    """Run the command line ``args``; every failure becomes one message and its exit code."""
    try:
        check_arguments(args)
        code = app(args=args, prog_name="polyret", standalone_mode=False)
    except PolyretError as exc:
        if debug:
            raise
        hint = exc.hint or _hint(exc)
        _fail(f"{exc}. {hint}" if hint else str(exc), exc.exit_code)
    except BrokenPipeError:  # standard output closed early: closed_stdout_ends_quietly ends it
        raise
    except OSError as exc:  # a file-system failure no layer foresaw: still the user's path, not a bug
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        _fail(f"{where}{exc.strerror or exc}", UsageError.exit_code if exc.filename else PolyretError.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # a bad flag or argument (typer bundles its own click)
        message = exc.format_message()
        if not message:  # no arguments at all: the help was printed, nothing went wrong to report
            sys.exit(UsageError.exit_code)
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "polyret"
        _fail(f"{message} (see {command} --help)", UsageError.exit_code)
    except (typer.Abort, KeyboardInterrupt) as exc:
        if isinstance(exc.__cause__, EOFError):  # click reports any EOFError as an abort: it is a bug here
            if debug:
                raise exc.__cause__ from None
            _fail(f"EOFError: {exc.__cause__}\nRerun with --debug for details.", 70, label="internal error")
        _interrupted(received)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
        if debug:
            raise
        _fail(f"{type(exc).__name__}: {exc}\nRerun with --debug for details.", 70, label="internal error")
    if code == INTERRUPTED:  # typer turns a KeyboardInterrupt into Exit(130) and returns it without standalone_mode
        _interrupted(received)
    if isinstance(code, int) and code:
        sys.exit(code)


def _interrupted(received: list[int]) -> None:
    """Report an interrupt and exit with the shell's code for its signal (130 SIGINT, 143 SIGTERM)."""
    number = received[-1] if received else signal.SIGINT
    err_console.print(f"interrupted by {signal.Signals(number).name}; nothing more was written")
    sys.exit(128 + number)


def _fail(message: str, exit_code: int, *, label: str = "error") -> None:
    """Print ``label: message`` to stderr (one logical line, shown literally) and exit."""
    err_console.print(Text.assemble(styled(f"{label}:", "bold red"), " ", message), soft_wrap=True)
    sys.exit(exit_code)
