"""Ship LSAR inside a model: a sentence-transformers directory = the original modules + ``Dense`` + ``Normalize``.

The directory loads with plain ``SentenceTransformer(path)`` and encodes what
:meth:`~polyret.debias.lsar.LowRankSubspaceRemoval.transform` gives for the original model's embeddings (both
normalise ``(I - U Uᵀ) e``; normalising ``e`` first changes only its length). Only methods without language labels
can be shipped this way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from polyret.io import atomic_directory, atomic_write, check_output_dir, check_replaceable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CARD_FILE = "README.md"
CARD_SIGNATURE = "Built with `polyret debias`."
"""The model card line that marks a folder as an earlier export (which a new export may replace)."""


def is_export(folder: Path) -> bool:
    """Whether ``folder`` is a model directory written by :func:`export_model` (its card says so)."""
    card = folder / CARD_FILE
    return card.is_file() and CARD_SIGNATURE in card.read_text(encoding="utf-8", errors="replace")


def check_export_dir(out_dir: str | Path) -> Path:
    """Make sure ``out_dir`` can receive an export before any work: new, empty, or an earlier export.

    Raises:
        UsageError: a file, a folder that cannot be written, or a non-empty folder that is no earlier export.
    """
    out_dir = check_output_dir(out_dir)
    check_replaceable(Path(out_dir), is_export)
    return out_dir


def export_model(model: SentenceTransformer, projection: np.ndarray, out_dir: str | Path, *, card: str) -> Path:
    """Append the fixed linear layer ``projection`` and ``Normalize`` to ``model`` and save it to ``out_dir``.

    Args:
        model: the loaded original model (modified in place).
        projection: the (d x d) matrix to apply, e.g. ``LowRankSubspaceRemoval.projection()``.
        out_dir: the new model directory, written atomically (an earlier export there is replaced; any other
            non-empty folder is refused).
        card: the model card (markdown) written as the directory's ``README.md``.
    """
    import torch
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize

    dim = projection.shape[0]
    weight = torch.tensor(projection, dtype=torch.float32)
    dense = Dense(dim, dim, bias=False, activation_function=torch.nn.Identity(), init_weight=weight)
    model.append(dense)
    model.append(Normalize())
    with atomic_directory(out_dir, ours=is_export) as staging:
        model.save(str(staging))
        with atomic_write(staging / CARD_FILE) as handle:
            handle.write(card)
    return Path(out_dir)
