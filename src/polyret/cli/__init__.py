"""The ``polyret`` command. Each sub-command lives in its own module and registers itself on :data:`app`.

Errors that polyret raises for its user (:class:`polyret.errors.PolyretError`) print one message and exit with a
distinct code; a file-system failure (a folder that is a file, a read-only folder) is reported with its path as a
usage error. ``--debug`` (anywhere on the command line) shows the stack trace instead; ``--verbose`` lets the
libraries underneath print their own progress bars and warnings.

Exit codes: 0 success, 1 other polyret error, 2 usage or configuration error, 3 data error, 4 model error,
5 training fault, 70 internal error (a bug: please report it with ``--debug`` output), 130 interrupted by SIGINT
(Ctrl-C), 143 by SIGTERM.
"""

from __future__ import annotations

import shlex
import sys
from importlib.metadata import version

import typer
from rich.text import Text

from polyret.cli import data, debias, evaluate, experiment, models, train
from polyret.cli.console import err_console, show_warnings, styled
from polyret.cli.quiet import quiet_libraries
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
    debug = "--debug" in given
    quiet_libraries(verbose=bool(given))
    show_warnings()
    try:
        app(args=args, prog_name="polyret", standalone_mode=False)
    except PolyretError as exc:
        if debug:
            raise
        hint = exc.hint or _hint(exc)
        _fail(f"{exc}. {hint}" if hint else str(exc), exc.exit_code)
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
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
        if debug:
            raise
        _fail(f"{type(exc).__name__}: {exc}\nRerun with --debug for details.", 70, label="internal error")


def _fail(message: str, exit_code: int, *, label: str = "error") -> None:
    """Print ``label: message`` to stderr (one logical line, shown literally) and exit."""
    err_console.print(Text.assemble(styled(f"{label}:", "bold red"), " ", message), soft_wrap=True)
    sys.exit(exit_code)
