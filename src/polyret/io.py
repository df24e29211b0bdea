"""Small file helpers shared by every layer: reading plain or gzip text, and atomic writes."""

from __future__ import annotations

import codecs
import contextlib
import errno
import gzip
import itertools
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import yaml

from polyret.errors import DataError, DiskFullError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_BOMS = ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig"))


def read_bytes(path: str | Path) -> bytes:
    """Return the (decompressed) bytes of ``path``; ``.gz`` files are gunzipped.

    Only regular files are read (or symbolic links to one): a FIFO, a device such as ``/dev/zero`` or a socket
    is refused instead of blocking or filling memory.

    Raises:
        DataError: the file is missing (or a link to nothing), a directory, not a regular file, unreadable, or
            a truncated/corrupt gzip stream.
    """
    path = Path(path)
    check_regular_file(path)
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


def check_regular_file(path: str | Path) -> Path:
    """Make sure ``path`` names a regular file (directly or through symbolic links) before it is opened.

    Raises:
        DataError: missing, a link to nothing or a link loop, a directory, or not a regular file (FIFO, device,
            socket), each named as such.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if path.is_symlink():
            target = os.readlink(path)
            problem = "is a symbolic link loop" if exc.errno == errno.ELOOP else f"is a symbolic link to {target}, " \
                "which does not exist"
            raise DataError(path, problem, expected="a link to an existing file") from None
        if exc.errno == errno.ENOENT:
            raise DataError(path, "file not found") from None
        raise DataError(path, f"cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise DataError(path, "is a directory", expected="a file")
    if not stat.S_ISREG(mode):
        advice = "copy what the pipe gives into a regular file first (cat PIPE > FILE) and pass that file" \
            if stat.S_ISFIFO(mode) else "pass a file that holds the data"
        raise DataError(path, f"is a {_file_kind(mode)}, not a regular file", expected=f"a regular file: {advice}")
    return path


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))
    return next((name for test, name in kinds if test(mode)), "special file")


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
    check_regular_file(path)
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
    """Parse a (plain or gzip) JSON file safely (see :func:`loads_json`)."""
    return loads_json(read_text(path), path)


MAX_INT_DIGITS = 100
"""Integers in JSON input may have at most this many digits (ids and counts; longer ones are an attack or junk)."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def loads_json(text: str, path: str | Path, record: int | None = None) -> Any:
    """Parse JSON ``text`` from ``path`` (at line ``record`` of a JSON-lines file), refusing what Python's parser
    accepts but polyret cannot use.

    Raises:
        DataError: naming the file, the line and what was expected, for malformed JSON, a key given twice in one
            object, an integer of more than :data:`MAX_INT_DIGITS` digits, nesting deeper than the parser can
            follow, or an escaped UTF-16 surrogate without its pair (``"\\ud800"``, no Unicode character).
    """
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        line = exc.lineno if record is None else record
        raise DataError(path, f"malformed JSON: {exc.msg} at column {exc.colno}", record=line) from None
    except RecursionError:
        raise DataError(path, "JSON nested too deeply", record=record, expected="plain records") from None
    except _JsonValueError as exc:
        raise DataError(path, str(exc), record=record, expected=exc.expected) from None
    if _SURROGATE_ESCAPE.search(text) and _has_surrogate(value):
        raise DataError(path, "a text holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)", record=record,
                        expected="valid Unicode text")
    return value


class _JsonValueError(ValueError):
    def __init__(self, message: str, expected: str):
        super().__init__(message)
        self.expected = expected


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        key = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise _JsonValueError(f"key {key!r} appears twice in one object", "each key once (which value is meant?)")
    return obj


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _JsonValueError(f"an integer of {len(digits.lstrip('-'))} digits",
                              f"at most {MAX_INT_DIGITS} digits")
    return int(digits)


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_int=_bounded_int)
"""One decoder for every call (``json.loads`` with hooks would build a new one each time)."""


def _has_surrogate(value: Any) -> bool:
    """Whether any text (key or value) inside ``value`` holds a lone surrogate (walked without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Write ``path`` through a temporary file in the same folder, renamed into place only on success.

    A crash or exception leaves the previous file (or no file), never a half-written one. The file gets the
    permissions the user's umask gives a new file (not the private mode of a temporary file).

    Raises:
        UsageError: ``path`` is a folder, or its folder cannot be created or written (naming the path).
        DiskFullError: the disk or quota filled up while writing (the temporary file is removed).
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
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if is_disk_full(exc):
            raise DiskFullError(path) from None
        raise


@contextlib.contextmanager
def atomic_directory(target: str | Path, *, ours: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Yield a temporary folder beside ``target`` to fill; on success it takes the place of ``target``, on failure
    it is removed, so ``target`` is never half-written. Leftovers of a killed process match ``.<name>.*.tmp``.
    The folder and everything in it get the permissions the user's umask gives new ones.

    Nothing polyret did not write is deleted: an existing ``target`` is replaced only when it is empty, or when
    ``ours(target)`` says polyret wrote it *and* the new folder holds every name it holds (so no file of the old
    one is lost that is not written again). This is checked before the work starts and again before the swap.

    Args:
        target: the folder to write.
        ours: whether an existing, non-empty ``target`` is one polyret wrote (e.g. a previous export).

    Raises:
        UsageError: ``target`` is a file, the current folder (or one holding it), a non-empty folder polyret did
            not write, or its folder cannot be created or written (naming the path).
        DiskFullError: the disk or quota filled up while the folder was written (naming ``target``).
    """
    target = Path(os.path.abspath(target))
    check_output_dir(target)
    if Path.cwd() == target or target in Path.cwd().parents:
        raise UsageError(f"{target}: is the current folder or holds it (name a new folder to write into)")
    check_replaceable(target, ours)
    with _writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        staging.chmod(0o777 & ~_umask())
        yield staging
        _apply_umask(staging)
        _swap_into_place(staging, target, ours)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if is_disk_full(exc):
            raise DiskFullError(target) from None
        raise


def _apply_umask(folder: Path) -> None:
    """Give every file and folder under ``folder`` the permissions the user's umask gives new ones (libraries that
    write their own files, such as safetensors, create them private); an executable file stays executable."""
    mask = _umask()
    for root, folders, files in os.walk(folder):
        for name in folders:
            (Path(root) / name).chmod(0o777 & ~mask)
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod((0o777 if path.stat().st_mode & stat.S_IXUSR else 0o666) & ~mask)


def check_replaceable(target: Path, ours: Callable[[Path], bool] | None, new: Path | None = None) -> None:
    """Refuse to replace a non-empty ``target`` polyret did not write (or one holding names ``new`` lacks).

    Raises:
        UsageError: naming the folder and what it holds.
    """
    held = sorted(entry.name for entry in target.iterdir() if entry.name != LOCK_FILE) if target.is_dir() else []
    if not held:
        return
    if ours is None or not ours(target):
        raise UsageError(
            f"{target}: folder is not empty and was not written by polyret (holds {', '.join(held[:3])}"
            f"{', ...' if len(held) > 3 else ''}); nothing was changed (name a new or empty folder)"
        )
    lost = [name for name in held if new is not None and not (new / name).exists()]
    if lost:
        raise UsageError(
            f"{target}: holds {', '.join(lost[:3])} that the new output would not write again; nothing was "
            "changed (remove it yourself or name a new folder)"
        )


def _swap_into_place(staging: Path, target: Path, ours: Callable[[Path], bool] | None) -> None:
    """Rename ``staging`` to ``target``; a previous ``target`` polyret wrote is moved aside first, then removed."""
    if not target.exists():
        os.rename(staging, target)
        return
    check_replaceable(target, ours, staging)
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old.tmp", dir=target.parent))
    os.rename(target, old / target.name)
    os.rename(staging, target)
    shutil.rmtree(old)


def check_output_dir(path: str | Path, *, written_by: Sequence[str] | None = None) -> Path:
    """Make sure ``path`` can become (or already is) a folder polyret writes into, before any work is done.

    Args:
        path: the output folder.
        written_by: names that only a folder this command wrote before holds (``results.json``): a non-empty
            existing folder holding none of them is refused, so no file of the user's is overwritten. ``None``:
            the caller checks the folder itself.

    Raises:
        UsageError: ``path`` is a file, lies under a file, its nearest existing folder is not writable, or it is
            a non-empty folder holding none of ``written_by``.
    """
    path = Path(path)
    existing = next((p for p in (path, *path.parents) if p.exists()), Path.cwd())
    if existing == path and not path.is_dir():
        raise UsageError(f"{path}: is a file (expected a folder to write the output into)")
    if not existing.is_dir():
        raise UsageError(f"{path}: lies under the file {existing} (expected a folder to write the output into)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: the folder {existing} is not writable (choose another output folder)")
    if written_by is not None and existing == path and not any((path / name).exists() for name in written_by):
        check_replaceable(path, None)
    return path


LOCK_FILE = ".polyret.lock"
"""The lock file of an output folder a command is writing into: the process id of its writer."""


@contextlib.contextmanager
def output_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the lock of ``folder`` (made if missing) while a command writes into it, so that two processes never
    mix their files in one folder. On exit the lock is removed, and so is the folder if it was made here and
    nothing was written into it.

    A lock left by a process that no longer runs (killed) is taken over; a live one is refused.

    Raises:
        UsageError: another running process holds the lock (naming its pid and the lock file), or the folder
            cannot be written.
    """
    folder = Path(folder)
    made = not folder.exists()
    lock = folder / LOCK_FILE
    with _writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
        _take_lock(lock)
    try:
        yield folder
    finally:
        if _lock_holder(lock) == os.getpid():
            lock.unlink(missing_ok=True)
        if made:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty


def _take_lock(lock: Path) -> None:
    """Create ``lock`` holding this process's id, all at once (a hard link of a finished file cannot be half
    there); a lock whose process is gone is replaced once."""
    fd, tmp = tempfile.mkstemp(prefix=f"{LOCK_FILE}.", suffix=".tmp", dir=lock.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        for _ in range(2):
            try:
                os.link(tmp, lock)
                return
            except FileExistsError:
                holder = _lock_holder(lock)
                if holder is not None and _is_running(holder):
                    raise UsageError(
                        f"{lock.parent}: another polyret process (pid {holder}) is writing into this folder; wait "
                        f"for it to end or choose another output folder (remove {lock} if no such process runs)"
                    ) from None
                lock.unlink(missing_ok=True)  # left by a process that no longer runs
        raise UsageError(f"{lock.parent}: another polyret process took this folder's lock at the same moment; "
                         "choose another output folder")
    finally:
        os.unlink(tmp)


def _lock_holder(lock: Path) -> int | None:
    """The process id a lock file holds (``None``: no lock, or not a process id)."""
    try:
        text = lock.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isascii() and text.isdigit() else None


def _is_running(pid: int) -> bool:
    """Whether a process with id ``pid`` runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # it runs, as another user
    return True


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Report a file-system failure while preparing to write ``path`` as a usage error naming it."""
    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(path) from None
        raise UsageError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` or an error it was raised from says the disk or the user's quota is full (libraries that
    write their own files, such as safetensors, only say it in their message). A :class:`DiskFullError` already
    names its path and is not reported again."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and not isinstance(current, DiskFullError):
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(words in str(current) for words in ("No space left on device", "StorageFull", "Disk quota exceeded")):
            return True
        current = current.__cause__ or current.__context__
    return False


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
