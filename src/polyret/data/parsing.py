"""Record-level parsing helpers shared by the loaders: field checks, JSON lines, and problem collection.

Loaders raise the first :class:`~polyret.errors.DataError`; :func:`polyret.data.check.check_file` runs the same
parsers with a collecting :class:`ProblemLog` so that a user sees every problem of a file at once.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from polyret.errors import DataError
from polyret.io import iter_lines, loads_json


class ProblemLog:
    """Raises each problem at once (``collect=False``) or keeps them for a report (``collect=True``).

    Args:
        collect: keep going after a problem instead of raising it.
        limit: at most this many problems are kept (all are counted).
    """

    def __init__(self, collect: bool = False, limit: int = 100):
        self.collect = collect
        self.limit = limit
        self.problems: list[DataError] = []
        self.count = 0

    @contextlib.contextmanager
    def record(self) -> Iterator[None]:
        """Run one record's parsing; a :class:`DataError` inside is raised or collected."""
        try:
            yield
        except DataError as exc:
            if not self.collect:
                raise
            self.count += 1
            if len(self.problems) < self.limit:
                self.problems.append(exc)

    def add(self, error: DataError) -> None:
        """Report a problem found outside a :meth:`record` block."""
        with self.record():
            raise error


def field(obj: Any, key: str, kind: type | tuple[type, ...], path: str | Path, record: str | int) -> Any:
    """Return ``obj[key]`` checked to be of ``kind`` (strings must be non-empty after stripping)."""
    if not isinstance(obj, dict):
        raise DataError(path, f"not a JSON object but {type(obj).__name__}", record=record, expected="an object")
    if key not in obj or obj[key] is None:
        raise DataError(path, f"missing field {key!r}", record=record, expected=f"a {_kind_name(kind)} {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in _as_tuple(kind):
        raise DataError(
            path, f"field {key!r} is a {type(value).__name__}", record=record, expected=f"a {_kind_name(kind)}"
        )
    if isinstance(value, str) and not is_visible(value):
        raise DataError(path, f"field {key!r} is {_emptiness(value)}", record=record, expected="a non-empty text")
    return value


def nonempty_text(value: Any, what: str, path: str | Path, record: str | int) -> str:
    """Return ``value`` if it is a string with visible content, else raise naming ``what``."""
    if not isinstance(value, str):
        raise DataError(path, f"{what} is a {type(value).__name__}", record=record, expected="a text")
    if not is_visible(value):
        raise DataError(path, f"{what} is {_emptiness(value)}", record=record, expected="a non-empty text")
    return value


_VISIBLE = re.compile(r"[^\s\u00ad\u180e\u200b-\u200f\u2028-\u202f\u205f-\u206f\ufeff]")
"""A character that shows: not white space (``\\s`` includes NBSP), not zero-width (ZWSP, ZWJ, direction marks,
word joiner, BOM) and not a soft hyphen."""


def is_visible(text: str) -> bool:
    """Whether ``text`` holds at least one visible character (a text of NBSP or zero-width spaces does not)."""
    return _VISIBLE.search(text) is not None


def _emptiness(text: str) -> str:
    return "empty" if not text.strip() else f"only invisible characters ({len(text)}: white space or zero-width)"


def iter_jsonl(
    path: str | Path, problems: ProblemLog, digest: Any = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line of a JSON-lines file, reading it as a stream.

    Args:
        path: the file (plain or ``.gz``).
        problems: raises or collects each malformed line.
        digest: a ``hashlib`` object fed the file's (decompressed) bytes as they are read.
    """
    for number, line in enumerate(iter_lines(path, digest), start=1):
        if not line.strip():
            continue
        obj = None
        with problems.record():
            obj = _json_object(line, path, number)
        if obj is not None:
            yield number, obj


def _json_object(line: str, path: str | Path, number: int) -> dict[str, Any]:
    obj = loads_json(line, path, number)
    if not isinstance(obj, dict):
        raise DataError(path, f"a JSON {type(obj).__name__}", record=number, expected="one JSON object per line")
    return obj


def split_columns(
    line: str, count: int, path: str | Path, number: int, expected: str, sep: str | None = "\t"
) -> list[str]:
    """Split a line into exactly ``count`` non-empty columns (``sep=None``: any whitespace)."""
    parts = line.split(sep) if sep is None else line.split(sep, count - 1)
    if len(parts) != count or not all(p.strip() for p in parts):
        raise DataError(path, f"{len(parts)} column(s) in {line[:80]!r}", record=number, expected=expected)
    return [p.strip() for p in parts]


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "integer", list: "list", dict: "object", float: "number"}
    return " or ".join(names.get(k, k.__name__) for k in _as_tuple(kind))
