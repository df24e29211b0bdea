"""Option types and parsing shared by the ``polyret`` commands."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Annotated, Any

import typer

from polyret import settings
from polyret.errors import UsageError
from polyret.schema import RESAMPLES_MAX, SEED_MAX, non_ascii_digit

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help=f"Data directory (default: ${settings.DATA_DIR_ENV}, else the download cache)."),
]


SeedOption = Annotated[int, typer.Option(min=0, max=SEED_MAX, help="Random seed (results are reproducible).")]
ResamplesOption = Annotated[int, typer.Option(min=100, max=RESAMPLES_MAX, help="Resamples of the test.")]


def check_arguments(args: list[str]) -> None:
    """Refuse a command-line value written with digits of another script (``--seed ٣``, ``lsar:²``): Python's
    ``int()`` reads some of them silently and fails on others, so none is taken for a number.

    Raises:
        UsageError: naming the argument and the digit.
    """
    for arg in args:
        value = arg.partition("=")[2] if arg.startswith("--") else arg
        odd = non_ascii_digit(value)
        if odd is not None and _numeric(value):
            raise UsageError(f"argument {arg!r} holds {odd} (write numbers with the digits 0-9)")


def _numeric(value: str) -> bool:
    """Whether ``value`` reads as a number or a ``method:rank`` spec (digits, signs, points, commas, a colon)."""
    tail = value.rpartition(":")[2]
    return bool(tail) and all(char.isdigit() or char.isnumeric() or char in "+-.,_ " for char in tail)


def comma_list(value: str | None) -> list[str] | None:
    """``"de, en,,fr"`` -> ``["de", "en", "fr"]``; ``None`` stays ``None`` (the option was not given)."""
    return [part.strip() for part in value.split(",") if part.strip()] if value is not None else None


def names_list(value: str, flag: str) -> list[str]:
    """A comma-separated list of names that must hold at least one (``--tasks ,`` and ``--tasks ''`` are errors).

    Raises:
        UsageError: naming ``flag``.
    """
    names = comma_list(value) or []
    if not names:
        raise UsageError(f"{flag}: no name in {value!r} (expected comma-separated names, e.g. xquad-r,ntrex128)")
    return names


def config_options(cls: type, *, skip: Collection[str] = ()) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command one ``--option`` per field of the config dataclass ``cls`` (except ``skip``), typed from its
    type hints and helped by its docstring's ``Attributes:`` section and its ``RANGES``, so the flags never drift
    from the config.

    The command takes the values the user gave as a keyword argument ``overrides`` (field name -> value; fields
    left out were not given). List fields take comma-separated values; booleans take ``--x/--no-x``.

    Example:
        >>> @config_options(TrainConfig, skip=("resume",))  # doctest: +SKIP
        ... def train_command(output_dir: Path, *, overrides: dict[str, Any]) -> None: ...
    """
    hints = typing.get_type_hints(cls)
    helps = field_help(cls)
    ranges = getattr(cls, "RANGES", {})
    helps |= {name: f"{helps.get(name, '')} (must be {check.describe()})".lstrip()
              for name, check in ranges.items() if not callable(check.expected)}  # choices are listed late
    fields = [f.name for f in dataclasses.fields(cls) if f.name not in skip]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=Annotated[_cli_type(hints[name]) | None, typer.Option(help=helps.get(name, ""))])
        for name in fields
    ]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "overrides"]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> None:
            given = {name: kwargs.pop(name) for name in fields}
            overrides = {name: _list_value(hints[name], value, name) if _is_list(hints[name]) else value
                         for name, value in given.items() if value is not None}
            command(**kwargs, overrides=overrides)

        wrapper.__signature__ = inspect.Signature([*own, *extra])  # type: ignore[attr-defined]
        return wrapper

    return decorate


def field_help(cls: type) -> dict[str, str]:
    """Field name -> its description in ``cls``'s docstring ``Attributes:`` section (``a / b: text`` gives both),
    with reST markup removed."""
    section = (inspect.getdoc(cls) or "").partition("Attributes:")[2]
    helps: dict[str, str] = {}
    names: list[str] = []
    for line in section.splitlines():
        entry = re.match(r"^    (\w+(?: / \w+)*): (.*)$", line)
        if entry:
            names = entry.group(1).split(" / ")
            helps |= dict.fromkeys(names, entry.group(2))
        elif line.startswith("        ") and names:
            helps |= {name: f"{helps[name]} {line.strip()}" for name in names}
        elif line.strip():
            names = []
    return {name: re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "'") for name, text in helps.items()}


def _non_none(hint: Any) -> Any:
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return args[0] if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else hint


def _is_list(hint: Any) -> bool:
    return typing.get_origin(_non_none(hint)) is list


def _list_value(hint: Any, value: str, name: str) -> list[Any]:
    """A comma-separated flag value as the list field's items (numbers parsed for a ``list[float]``).

    Raises:
        UsageError: an item of a number list that is not a number, naming the flag.
    """
    items = comma_list(value) or []
    if typing.get_args(_non_none(hint)) != (float,):
        return items
    try:
        return [float(item) for item in items]
    except ValueError:
        raise UsageError(f"--{name.replace('_', '-')}: {value!r} is not a comma-separated list of numbers") from None


def _cli_type(hint: Any) -> type:
    """The option's type: the field's own, without ``None``; a list is given as one comma-separated string."""
    return str if _is_list(hint) else _non_none(hint)
