"""Where polyret finds data and keeps its caches.

Data directory, in order: an explicit argument (``--data-dir``), the environment variable ``POLYRET_DATA_DIR``,
then ``$POLYRET_CACHE_DIR/data`` (default ``~/.cache/polyret/data``), where downloads land.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "POLYRET_DATA_DIR"
CACHE_DIR_ENV = "POLYRET_CACHE_DIR"


def cache_dir() -> Path:
    """Root of polyret's caches (prepared models, embeddings, downloads)."""
    env = os.environ.get(CACHE_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "polyret"


def data_dir(explicit: str | Path | None = None) -> Path:
    """The data directory: ``explicit``, else ``$POLYRET_DATA_DIR``, else the download cache."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return cache_dir() / "data"


def data_dir_is_explicit(explicit: str | Path | None = None) -> bool:
    """True when the data directory was chosen by the user (flag or environment), not the download cache."""
    return bool(explicit) or bool(os.environ.get(DATA_DIR_ENV, "").strip())
