"""One config schema for every polyret config file: a mapping (YAML/TOML/JSON) becomes a dataclass, every key and
type is checked, and every value is range-checked, with errors naming the dotted key.

A dataclass declares its fields with types and defaults (``int``/``float``/``str``/``bool``, ``X | None``,
``list[X]``, ``dict[str, Any]`` or a nested dataclass) and its value ranges in a ``RANGES`` class variable mapping a
field name to a :class:`Check`. Coercion is the same everywhere: an ``int`` is accepted for a ``float`` (and becomes
one), a ``bool`` is never an ``int``, and a ``float`` must be finite.

Example:
    >>> @dataclass
    ... class Settings:
    ...     steps: int = 10
    ...     RANGES: ClassVar[dict[str, Check]] = {"steps": at_least(1)}
    >>> build_dataclass(Settings, {"steps": 0})
    Traceback (most recent call last):
    UsageError: config key 'steps': must be >= 1, got 0

Relations:
    :class:`polyret.training.config.TrainConfig` and :class:`polyret.experiments.config.ExperimentConfig` are built
    here; :func:`polyret.io.read_mapping` reads the files.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from polyret.errors import UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    """A range check of one config value (``None`` values of optional fields are not checked).

    Attributes:
        test: whether a value is allowed.
        expected: what an allowed value is, for the error (a callable when the choices are found late).
    """

    test: Callable[[Any], bool]
    expected: str | Callable[[], str]

    def describe(self) -> str:
        return self.expected() if callable(self.expected) else self.expected


def at_least(low: float) -> Check:
    """Values ``>= low``."""
    return Check(lambda value: value >= low, f">= {low}")


def greater_than(low: float) -> Check:
    """Values ``> low``."""
    return Check(lambda value: value > low, f"> {low}")


def between(low: float, high: float, *, high_open: bool = False) -> Check:
    """Values in ``[low, high]`` (``[low, high)`` with ``high_open``)."""
    close = ")" if high_open else "]"
    return Check(lambda value: low <= value < high if high_open else low <= value <= high, f"in [{low}, {high}{close}")


def one_of(choices: Callable[[], Collection[str]]) -> Check:
    """Values among ``choices()`` (a callable, so the choices may come from a module imported late)."""
    return Check(lambda value: value in choices(), lambda: f"one of {', '.join(choices())}")


def distinct(*, non_empty: bool = True) -> Check:
    """Lists without repeated items (and, with ``non_empty``, with at least one)."""
    expected = "a non-empty list without repeated items" if non_empty else "a list without repeated items"
    return Check(lambda items: len(set(map(repr, items))) == len(items) and (bool(items) or not non_empty), expected)


def build_dataclass(cls: type[T], data: dict[str, Any], *, base: T | None = None, where: str = "") -> T:
    """Return ``base`` (or ``cls()``) with the values of ``data`` applied, checking every key, type and range.

    Nested dataclass fields and ``dict`` fields are merged key by key, so a file only needs the keys it changes
    (the values of a ``dict`` field are checked by its owner).

    Raises:
        UsageError: naming the dotted key of an unknown field, a value of the wrong type or out of range.
    """
    if not isinstance(data, dict):
        raise UsageError(f"config key {where or '<top>'!r}: expected a mapping, got {type(data).__name__}")
    current = base if base is not None else cls()
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        dotted = _dotted(where, key)
        if key not in names:
            raise UsageError(f"unknown config key {dotted!r} (known: {', '.join(sorted(names))})")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            changes[key] = build_dataclass(hint, value, base=getattr(current, key), where=dotted)
        elif typing.get_origin(hint) is dict:
            if not isinstance(value, dict):
                raise UsageError(f"config key {dotted!r}: expected a mapping, got {value!r}")
            changes[key] = {**getattr(current, key), **value}
        else:
            changes[key] = _coerce(value, hint, dotted)
    built = dataclasses.replace(current, **changes)
    check_ranges(built, where)
    return built


def check_ranges(instance: Any, where: str = "") -> None:
    """Apply the ``RANGES`` checks of ``instance``'s class.

    Raises:
        UsageError: ``config key '<where.key>': must be <expected>, got <value>``.
    """
    for key, check in getattr(type(instance), "RANGES", {}).items():
        value = getattr(instance, key)
        if value is not None and not check.test(value):
            raise UsageError(f"config key {_dotted(where, key)!r}: must be {check.describe()}, got {value!r}")


def _dotted(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [option for option in options if option is not type(None)]
        return _coerce(value, inner, key)
    if origin is list:
        (inner,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise UsageError(f"config key {key!r}: must be a list of {inner.__name__}, got {value!r}")
        return [_coerce(item, inner, f"{key}[{i}]") for i, item in enumerate(value)]
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise UsageError(f"config key {key!r}: must be a finite number, got {value!r}")
        return float(value)
    if hint is int and isinstance(value, bool) or not isinstance(value, hint):
        raise UsageError(f"config key {key!r}: must be {hint.__name__}, got {value!r}")
    return value
