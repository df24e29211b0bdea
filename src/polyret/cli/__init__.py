"""The ``polyret`` command. Each sub-command lives in its own module and registers itself on :data:`app`.

Errors that polyret raises for its user (:class:`polyret.errors.PolyretError`) print one message and exit with a
distinct code; ``--debug`` shows the stack trace instead.

Exit codes: 0 success, 1 other polyret error, 2 usage or configuration error, 3 data error, 4 model error,
5 training fault, 70 internal error (a bug: please report it with ``--debug`` output), 130 interrupted.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from polyret.cli import data, debias, evaluate, experiment, models, train
from polyret.errors import PolyretError, UsageError

app = typer.Typer(
    name="polyret",
    help="Train and evaluate multilingual dense retrievers (hybrid batch training, LAReQA, language bias).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full stack traces on errors.")) -> None:
    """polyret: multilingual dense retrieval, from data to report."""


for _module in (data, models, train, evaluate, experiment, debias):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``polyret`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="polyret", standalone_mode=False)
    except PolyretError as exc:
        if debug:
            raise
        _fail(str(exc), exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # a bad flag or argument (typer bundles its own click)
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "polyret"
        _fail(f"{exc.format_message()} (see {command} --help)", UsageError.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
        if debug:
            raise
        _fail(f"{type(exc).__name__}: {exc}\nRerun with --debug for details.", 70, label="internal error")


def _fail(message: str, exit_code: int, *, label: str = "error") -> None:
    """Print ``label: message`` to stderr (one logical line, never parsed as markup) and exit."""
    err_console.print(f"[bold red]{label}:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(exit_code)
