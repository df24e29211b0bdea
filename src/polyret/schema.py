"""One config schema for every polyret config file: a mapping (YAML/TOML/JSON) becomes a dataclass, every key and
type is checked, and every value is range-checked, with errors naming the dotted key. Files polyret reads back
(results) are checked against a declared shape (:func:`check_shape`) before any code uses them.

A dataclass declares its fields with types and defaults (``int``/``float``/``str``/``bool``, ``X | None``,
``list[X]``, ``X | list[X]``, ``tuple[X, ...]`` (given as a list), ``dict[str, Any]``, a nested dataclass or a list
of them) and its value ranges in a ``RANGES`` class variable mapping a field name to a :class:`Check`. Coercion is
the same everywhere: an ``int`` is accepted for a ``float`` (and becomes one), a ``bool`` is never an ``int``, and
a ``float`` must be finite. A dataclass that also accepts a shorter spelling (an arm written ``"hybrid@0.25"``)
defines ``from_config(value, where)``; a dataclass with a :func:`given_keys_field` records which keys the config
files set, so it can be written back as the mapping it was given (:func:`given_dict`); its ``NOT_CONFIG_KEYS``
maps keys it refuses to the reason.

Example:
    >>> @dataclass
    ... class Settings:
    ...     steps: int = 10
    ...     RANGES: ClassVar[dict[str, Check]] = {"steps": at_least(1)}
    >>> build_dataclass(Settings, {"steps": 0})
    Traceback (most recent call last):
    UsageError: config key 'steps': must be >= 1, got 0

Relations:
    :class:`polyret.training.config.TrainConfig` and :class:`polyret.experiments.config.ExperimentConfig` (with its
    typed sections, arms and task file entries) are built here; :func:`polyret.io.read_mapping` reads the files.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import types
import typing
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from polyret.errors import DataError, UsageError

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


def finite() -> Check:
    """Finite numbers (no ``NaN``, no infinity)."""
    return Check(math.isfinite, "finite (not NaN or infinite)")


def between(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Check:
    """Values in ``[low, high]`` (``(low, ...`` with ``low_open``, ``..., high)`` with ``high_open``)."""

    def test(value: float) -> bool:
        return (low < value if low_open else low <= value) and (value < high if high_open else value <= high)

    return Check(test, f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}")


def each(check: Check, *, also: Check | None = None) -> Check:
    """Lists whose every item passes ``check`` (and which, as a whole, pass ``also``)."""
    expected = f"a list of items {check.describe()}" if also is None else f"{also.describe()}, each {check.describe()}"
    return Check(lambda items: (also is None or also.test(items)) and all(check.test(item) for item in items),
                 expected)


def one_of(choices: Callable[[], Collection[str]]) -> Check:
    """Values among ``choices()`` (a callable, so the choices may come from a module imported late)."""
    return Check(lambda value: value in choices(), lambda: f"one of {', '.join(choices())}")


def distinct(*, non_empty: bool = True) -> Check:
    """Lists without repeated items (and, with ``non_empty``, with at least one)."""
    expected = "a non-empty list without repeated items" if non_empty else "a list without repeated items"
    return Check(lambda items: len(set(map(repr, items))) == len(items) and (bool(items) or not non_empty), expected)


SEED_MAX = 2**32 - 1
"""Seeds lie in ``[0, 2**32 - 1]``: what numpy's and torch's generators take."""
RESAMPLES_MAX = 1_000_000
"""At most this many resamples of a significance test (10**6 already resolves p to 0.001 %)."""


def seed_range() -> Check:
    """Seeds ``0 .. 2**32 - 1``."""
    return between(0, SEED_MAX)


def seeds_range() -> Check:
    """A non-empty list of distinct seeds, each ``0 .. 2**32 - 1``."""
    unique = distinct()
    return Check(lambda items: unique.test(items) and all(0 <= seed <= SEED_MAX for seed in items),
                 f"a non-empty list of distinct seeds in [0, {SEED_MAX}]")


def parse_int(text: str, what: str) -> int:
    """``text`` as an integer written with the digits 0-9 (and an optional sign).

    Raises:
        UsageError: naming ``what`` and the reason; a digit of another script (``²``, ``٣``) is named, since
            Python's ``int()`` would refuse some and silently read others.
    """
    odd = non_ascii_digit(text)
    if odd is not None:
        raise UsageError(f"{what}: {text!r} holds {odd} (write numbers with the digits 0-9)")
    if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
        raise UsageError(f"{what}: {text!r} is not an integer")
    return int(text)


def non_ascii_digit(text: str) -> str | None:
    """A description of the first digit of another script in ``text`` (``"the digit '²' (SUPERSCRIPT TWO)"``)."""
    odd = next((char for char in text if not char.isascii() and (char.isdigit() or char.isnumeric())), None)
    return None if odd is None else f"the digit {odd!r} ({unicodedata.name(odd, 'unnamed')})"


GIVEN_KEYS = "given_keys"
"""The field of a config dataclass recording the keys its config files set (see :func:`given_keys_field`)."""


def given_keys_field() -> Any:
    """A ``given_keys`` field: the keys a config set, in the order first given; not a config key itself, and left
    out of comparisons. Empty in an instance made in Python, whose given keys are those off their defaults."""
    return dataclasses.field(default=(), compare=False, repr=False, metadata={"config_key": False})


def config_keys(cls: type) -> list[str]:
    """The fields of a config dataclass that a config file may set (every field but :data:`GIVEN_KEYS`)."""
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("config_key", True)]


def given_keys(instance: Any) -> tuple[str, ...]:
    """The keys a config set on ``instance`` (see :func:`given_keys_field`)."""
    given = getattr(instance, GIVEN_KEYS)
    if given:
        return given
    defaults = type(instance)()
    return tuple(key for key in config_keys(type(instance)) if getattr(instance, key) != getattr(defaults, key))


def given_dict(instance: Any) -> dict[str, Any]:
    """The keys a config set on ``instance`` (:func:`given_keys`) with their values, as plain data."""
    return copy.deepcopy({key: getattr(instance, key) for key in given_keys(instance)})


def build_dataclass(cls: type[T], data: dict[str, Any], *, base: T | None = None, where: str = "") -> T:
    """Return ``base`` (or ``cls()``) with the values of ``data`` applied, checking every key, type and range.

    Nested dataclass fields and ``dict`` fields are merged key by key, so a file only needs the keys it changes
    (the values of a ``dict`` field are checked by its owner). A class with a ``given_keys`` field
    (:func:`given_keys_field`) adds the keys of ``data`` to it.

    Raises:
        UsageError: naming the dotted key of an unknown field, a value of the wrong type or out of range.
    """
    if not isinstance(data, dict):
        raise UsageError(f"config key {where or '<top>'!r}: expected a mapping, got {type(data).__name__}")
    current = base if base is not None else cls()
    hints = typing.get_type_hints(cls)
    names = set(config_keys(cls))
    changes: dict[str, Any] = {}
    for key, value in data.items():
        dotted = _dotted(where, key)
        if key not in names:
            reason = getattr(cls, "NOT_CONFIG_KEYS", {}).get(key)
            if reason is not None:  # a field of a related config that this one sets itself
                raise UsageError(f"config key {dotted!r}: {reason}")
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
    if hasattr(current, GIVEN_KEYS):
        changes[GIVEN_KEYS] = tuple(dict.fromkeys([*getattr(current, GIVEN_KEYS), *data]))
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
        inner = [option for option in options if option is not type(None)]
        for option in inner[:-1]:  # ``str | list[str]``: the first type the value has
            try:
                return _coerce(value, option, key)
            except UsageError:
                continue
        return _coerce(value, inner[-1], key)
    if origin in (list, tuple):
        inner = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise UsageError(f"config key {key!r}: must be a list of {inner.__name__}, got {value!r}")
        return origin(_coerce(item, inner, f"{key}[{i}]") for i, item in enumerate(value))
    if dataclasses.is_dataclass(hint):
        parse = getattr(hint, "from_config", None)
        return parse(value, key) if parse is not None else build_dataclass(hint, value, where=key)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise UsageError(f"config key {key!r}: must be a finite number, got {value!r}")
        return float(value)
    if hint is int and isinstance(value, bool) or not isinstance(value, hint):
        raise UsageError(f"config key {key!r}: must be {hint.__name__}, got {value!r}")
    return value


# --- files polyret reads back (results.json of an evaluation, an arm, a study) --------------------------------------


class Number:
    """Shape of a JSON number (``int`` or ``float``, never ``bool``; ``NaN`` allowed: a score may be undefined)."""


@dataclass(frozen=True)
class Nullable:
    """Shape ``inner`` or JSON ``null``."""

    inner: Any


@dataclass(frozen=True)
class MapOf:
    """Shape of a JSON object with any keys whose values all have shape ``value``."""

    value: Any


@dataclass(frozen=True)
class ListOf:
    """Shape of a JSON list whose items all have shape ``item``."""

    item: Any


@dataclass(frozen=True)
class Record:
    """Shape of a JSON object with ``required`` and ``optional`` keys (others allowed only with ``open``)."""

    required: dict[str, Any]
    optional: dict[str, Any] = dataclasses.field(default_factory=dict)
    open: bool = False


@dataclass(frozen=True)
class Ranged:
    """Shape ``inner`` whose value passes ``check``."""

    inner: Any
    check: Check


_NAMES = {str: "a text", bool: "true or false", dict: "an object", list: "a list", int: "an integer"}


def check_shape(value: Any, shape: Any, path: str | Path, where: str = "") -> None:
    """Check a value read from a JSON file against ``shape`` (types, :class:`Number`, :class:`Nullable`,
    :class:`MapOf`, :class:`ListOf`, :class:`Record`, :class:`Ranged`), before any code uses it.

    Raises:
        DataError: naming the file, the key path (``results/xquad-r/per_query/multi.ap/q1``) and what was expected.
    """
    stack = [(value, shape, where)]
    while stack:
        item, expected, at = stack.pop()
        if isinstance(expected, Nullable):
            if item is not None:
                stack.append((item, expected.inner, at))
            continue
        if not _is_a(item, expected):
            _wrong(path, at, item, describe(expected))
        if isinstance(expected, Ranged):
            if not expected.check.test(item):
                _wrong(path, at, item, describe(expected.inner) + " " + expected.check.describe())
        elif isinstance(expected, MapOf):
            stack.extend((v, expected.value, f"{at}/{k}") for k, v in item.items())
        elif isinstance(expected, ListOf):
            stack.extend((v, expected.item, f"{at}/{i}") for i, v in enumerate(item))
        elif isinstance(expected, Record):
            _check_keys(item, expected, path, at)
            stack.extend((item[k], s, f"{at}/{k}") for k, s in {**expected.required, **expected.optional}.items()
                         if k in item)


def describe(shape: Any) -> str:
    """What a value of ``shape`` is, in words (for errors)."""
    if shape is Number:
        return "a number"
    if isinstance(shape, Nullable):
        return f"{describe(shape.inner)} or null"
    if isinstance(shape, MapOf):
        return f"an object of {describe(shape.value)} values"
    if isinstance(shape, ListOf):
        return f"a list of {describe(shape.item)} items"
    if isinstance(shape, Record):
        return f"an object with keys {', '.join(shape.required) or '(any)'}"
    if isinstance(shape, Ranged):
        return describe(shape.inner)
    return _NAMES.get(shape, getattr(shape, "__name__", str(shape)))


def _is_a(item: Any, shape: Any) -> bool:
    if isinstance(shape, Ranged):
        return _is_a(item, shape.inner)
    if shape is Number:
        return isinstance(item, (int, float)) and not isinstance(item, bool)
    if isinstance(shape, (MapOf, Record)):
        return isinstance(item, dict)
    if isinstance(shape, ListOf):
        return isinstance(item, list)
    return isinstance(item, shape) and not (shape is int and isinstance(item, bool))


def _check_keys(item: dict, shape: Record, path: str | Path, at: str) -> None:
    missing = [key for key in shape.required if key not in item]
    if missing:
        raise DataError(path, f"key {at or '/'}: {missing[0]!r} is missing", expected=describe(shape))
    unknown = [] if shape.open else sorted(set(item) - set(shape.required) - set(shape.optional))
    if unknown:
        known = ", ".join([*shape.required, *shape.optional])
        raise DataError(path, f"key {at}/{unknown[0]}: unknown key", expected=f"only {known}")


def _wrong(path: str | Path, at: str, item: Any, expected: str) -> None:
    shown = repr(item) if len(repr(item)) <= 40 else f"a {type(item).__name__}"
    raise DataError(path, f"key {at or '/'}: {shown}", expected=expected)
