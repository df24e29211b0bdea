"""Small file helpers shared by every layer: reading plain or gzip text, and atomic writes."""

from __future__ import annotations

import codecs
import contextlib
import gzip
import itertools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from polyret.errors import DataError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_BOMS = ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig"))


def read_bytes(path: str | Path) -> bytes:
    """Return the (decompressed) bytes of ``path``; ``.gz`` files are gunzipped.

    Raises:
        DataError: the file is missing, a directory, unreadable, or a truncated/corrupt gzip stream.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    if path.is_dir():
        raise DataError(path, "is a directory", expected="a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(path, f"corrupt or truncated gzip file ({exc})", expected="a complete .gz file") from None
    return raw


def read_text(path: str | Path, encoding: str | None = None) -> str:
    """Return the text of a plain or gzip file.

    The encoding is taken from a byte-order mark when there is one (UTF-8 or UTF-16), else ``encoding`` or UTF-8.
    CRLF line ends are normalised to LF.

    Raises:
        DataError: missing file, corrupt gzip, or bytes that are not valid in the encoding.
    """
    raw = read_bytes(path)
    enc = encoding or "utf-8"
    for bom, bom_enc in _BOMS:
        if raw.startswith(bom):
            enc = bom_enc
            break
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            path, f"not valid {enc} text ({exc.reason})", record=line, expected=f"{enc}-encoded text"
        ) from None
    return text.replace("\r\n", "\n").lstrip("\ufeff")


def read_lines(path: str | Path, encoding: str | None = None) -> list[str]:
    """Return the lines of a text file without their line ends (a final empty line is not a line)."""
    text = read_text(path, encoding)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def iter_lines(path: str | Path, digest: Any = None, chunk_bytes: int = 1 << 20) -> Iterator[str]:
    """Yield the lines of a plain or gzip text file one at a time, as :func:`read_lines` returns them.

    Memory stays bounded by ``chunk_bytes`` and the longest line, whatever the file's size. The encoding is taken
    from a byte-order mark (UTF-8 or UTF-16), else UTF-8; CRLF line ends become LF.

    Args:
        path: the file.
        digest: a ``hashlib`` object updated with the (decompressed) bytes as they are read, so a caller gets the
            file's checksum without reading it twice.
        chunk_bytes: how much is read at a time.

    Raises:
        DataError: missing file, corrupt gzip, or bytes that are not valid text (naming the line).
    """
    lines_done, pending, head = 0, "", b""
    decoder: codecs.IncrementalDecoder | None = None
    for chunk in itertools.chain(iter_chunks(path, chunk_bytes), [b""]):
        if digest is not None:
            digest.update(chunk)
        last = not chunk
        if decoder is None:  # the byte-order mark decides the encoding: wait for its first bytes
            head += chunk
            if len(head) < 3 and chunk:
                continue
            decoder, chunk = codecs.getincrementaldecoder(_bom_encoding(head))(), head
        text = pending + _decode(decoder, chunk, Path(path), lines_done, last)
        if lines_done == 0:
            text = text.lstrip("\ufeff")
        *complete, pending = text.split("\n")
        for line in complete:
            yield line[:-1] if line.endswith("\r") else line
        lines_done += len(complete)
    if pending:
        yield pending


def iter_chunks(path: str | Path, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """Yield the (for ``.gz``: decompressed) bytes of ``path`` in chunks of at most ``chunk_bytes``.

    Raises:
        DataError: the file is missing, a directory, unreadable, or a truncated/corrupt gzip stream.
    """
    path = Path(path)
    with _open_binary(path) as handle:
        while chunk := _read_chunk(handle, path, chunk_bytes):
            yield chunk


@contextlib.contextmanager
def _open_binary(path: Path) -> Iterator[IO[bytes]]:
    """Open ``path`` for binary reading, through gzip when it starts with the gzip magic bytes."""
    if not path.exists():
        raise DataError(path, "file not found")
    if path.is_dir():
        raise DataError(path, "is a directory", expected="a file")
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror})") from None
    with raw:
        if raw.peek(2)[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped  # type: ignore[misc]
        else:
            yield raw


def _read_chunk(handle: IO[bytes], path: Path, size: int) -> bytes:
    try:
        return handle.read(size)
    except (OSError, EOFError) as exc:
        raise DataError(path, f"corrupt or truncated gzip file ({exc})", expected="a complete .gz file") from None


def _bom_encoding(head: bytes) -> str:
    return next((enc for bom, enc in _BOMS if head.startswith(bom)), "utf-8")


def _decode(decoder: codecs.IncrementalDecoder, chunk: bytes, path: Path, lines_before: int, last: bool) -> str:
    try:
        return decoder.decode(chunk, final=last)
    except UnicodeDecodeError as exc:
        line = lines_before + chunk[: exc.start].count(b"\n") + 1
        enc = exc.encoding.replace("_", "-")
        raise DataError(path, f"not valid {enc} text ({exc.reason})", record=line,
                        expected=f"{enc}-encoded text") from None


def read_json(path: str | Path) -> Any:
    """Parse a (plain or gzip) JSON file, reporting the line and column of a syntax error."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"malformed JSON: {exc.msg} at column {exc.colno}", record=exc.lineno) from None


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Write ``path`` through a temporary file in the same folder, renamed into place only on success.

    A crash or exception leaves the previous file (or no file), never a half-written one. The file gets the
    permissions the user's umask gives a new file (not the private mode of a temporary file).

    Raises:
        UsageError: ``path`` is a folder, or its folder cannot be created or written (naming the path).
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path}: is a folder (expected the path of a file to write)")
    with _writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target`` to fill; on success it replaces ``target``, on failure it is
    removed, so ``target`` is never half-written. Leftovers of a killed process match ``.<name>.*.tmp``.
    The folder gets the permissions the user's umask gives a new folder.

    Raises:
        UsageError: ``target`` is a file, or its folder cannot be created or written (naming the path).
    """
    target = Path(target)
    check_output_dir(target)
    with _writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        staging.chmod(0o777 & ~_umask())
        yield staging
        if target.exists():
            shutil.rmtree(target)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_output_dir(path: str | Path) -> Path:
    """Make sure ``path`` can become (or already is) a folder polyret writes into, before any work is done.

    Raises:
        UsageError: ``path`` is a file, lies under a file, or its nearest existing folder is not writable.
    """
    path = Path(path)
    existing = next((p for p in (path, *path.parents) if p.exists()), Path.cwd())
    if existing == path and not path.is_dir():
        raise UsageError(f"{path}: is a file (expected a folder to write the output into)")
    if not existing.is_dir():
        raise UsageError(f"{path}: lies under the file {existing} (expected a folder to write the output into)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: the folder {existing} is not writable (choose another output folder)")
    return path


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Report a file-system failure while preparing to write ``path`` as a usage error naming it."""
    try:
        yield
    except OSError as exc:
        raise UsageError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def _umask() -> int:
    """The process's file-mode creation mask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: str | Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented UTF-8 JSON."""
    with atomic_write(path) as handle:
        json.dump(obj, handle, indent=2, ensure_ascii=False, sort_keys=False)
        handle.write("\n")


def read_mapping(path: str | Path) -> dict[str, Any]:
    """Parse a config file (``.yaml``/``.yml``/``.json`` as YAML, ``.toml`` as TOML) into a mapping.

    Raises:
        DataError: the file is missing or unreadable.
        UsageError: unknown extension, malformed file, or a top level that is not a mapping.
    """
    path = Path(path)
    text = read_text(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml", ".json"):
            data = yaml.safe_load(text) or {}
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise UsageError(f"{path}: unknown config format {suffix!r} (expected .yaml, .yml, .json or .toml)")
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: not a valid config file ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of option names to values, got {type(data).__name__}")
    return data
