"""Build nested dataclasses from YAML/TOML mappings, rejecting unknown keys and wrong types by their dotted key.

Kept generic (any dataclass whose fields are ``int``/``float``/``str``/``bool``, ``X | None``, ``list[X]``,
``dict[str, Any]`` or a nested dataclass), so the experiment config only declares its fields and defaults.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from polyret.errors import UsageError

T = TypeVar("T")


def build_dataclass(cls: type[T], data: dict[str, Any], *, base: T | None = None, where: str = "") -> T:
    """Return ``base`` (or ``cls()``) with the values of ``data`` applied, checking every key and type.

    Nested dataclass fields and ``dict`` fields are merged key by key, so a file only needs the keys it changes
    (the values of a ``dict`` field are checked by its owner).

    Raises:
        UsageError: naming the dotted key of an unknown field or a value of the wrong type.
    """
    if not isinstance(data, dict):
        raise UsageError(f"config key {where or '<top>'!r}: expected a mapping, got {type(data).__name__}")
    current = base if base is not None else cls()
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{where}.{key}" if where else str(key)
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
    return dataclasses.replace(current, **changes)


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
            raise UsageError(f"config key {key!r}: expected a list of {inner.__name__}, got {value!r}")
        return [_coerce(item, inner, f"{key}[{i}]") for i, item in enumerate(value)]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, bool) or not isinstance(value, hint):
        raise UsageError(f"config key {key!r}: expected {hint.__name__}, got {value!r}")
    return value
