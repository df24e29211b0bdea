"""CLI: ``polyret models`` — list the offline pretrained encoders and prepare them for use."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from polyret.cli.console import console, err_console, styled
from polyret.models.loading import is_prepared, models_cache_dir, prepare_model
from polyret.models.registry import MODELS

models_app = typer.Typer(help="Pretrained multilingual encoders available offline.", no_args_is_help=True)


@models_app.command("list")
def list_models() -> None:
    """Show the model aliases, with licence, size and whether they can be fine-tuned."""
    table = Table(title="Offline pretrained encoders")
    table.add_column("alias", no_wrap=True)
    for column in ("dim", "langs", "trainable", "licence", "size", "prepared", "source"):
        table.add_column(column, overflow="fold")
    for spec in MODELS.values():
        prepared = "n/a" if spec.build is None else _yes_no(is_prepared(models_cache_dir() / spec.alias))
        table.add_row(
            spec.alias, str(spec.dim), spec.languages, _yes_no(spec.trainable), spec.licence, spec.size, prepared,
            spec.source,
        )
    console.print(table)


@models_app.command("prepare")
def prepare(name: str = typer.Argument(..., help="A model alias (see `polyret models list`).")) -> None:
    """Convert a model alias into a ready sentence-transformers directory (once) and print its path last."""
    started = time.perf_counter()

    def report(stage: str) -> None:  # one line per stage: visible in a terminal, a log file and CI alike
        err_console.print(f"preparing {name} ({time.perf_counter() - started:.0f} s): {stage}")

    model_dir = prepare_model(name, report=report)
    err_console.print(styled("ready:", "green"), name)
    typer.echo(str(model_dir))


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def register(app: typer.Typer) -> None:
    """Add the ``models`` command group to ``app``."""
    app.add_typer(models_app, name="models")
