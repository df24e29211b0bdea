"""Save and load fitted debiasing methods as plain arrays (``.npz``, read with ``allow_pickle=False``)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from polyret.debias.base import Debiaser
from polyret.debias.spec import METHODS
from polyret.errors import DataError
from polyret.io import atomic_write

_META = "__meta__"


def save_debiaser(debiaser: Debiaser, path: str | Path, *, fitted_on: dict[str, Any] | None = None) -> Path:
    """Write ``debiaser``'s arrays and a JSON header (method, parameters, what it was fitted on) to ``path``."""
    meta = {"method": debiaser.method, "params": debiaser.params(), "fitted_on": fitted_on or {}}
    path = Path(path)
    with atomic_write(path, "wb", encoding=None) as handle:
        np.savez(handle, **debiaser.state(), **{_META: np.array(json.dumps(meta))})
    return path


def load_debiaser(path: str | Path) -> tuple[Debiaser, dict[str, Any]]:
    """Read a method written by :func:`save_debiaser`: ``(method, header)``.

    Raises:
        DataError: the file is missing, not an ``.npz`` of a known method, or incomplete.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(str(arrays.pop(_META)))
        cls = METHODS[meta["method"]]
        return cls.from_state(arrays, meta["params"]), meta
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise DataError(path, f"not a saved debiasing method ({type(exc).__name__}: {exc})",
                        expected=f"an .npz written by save_debiaser ({', '.join(METHODS)})") from None
