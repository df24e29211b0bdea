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

from polyret.io import atomic_directory, atomic_write

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CARD_FILE = "README.md"


def export_model(model: SentenceTransformer, projection: np.ndarray, out_dir: str | Path, *, card: str) -> Path:
    """Append the fixed linear layer ``projection`` and ``Normalize`` to ``model`` and save it to ``out_dir``.

    Args:
        model: the loaded original model (modified in place).
        projection: the (d x d) matrix to apply, e.g. ``LowRankSubspaceRemoval.projection()``.
        out_dir: the new model directory, written atomically (replaced when it exists).
        card: the model card (markdown) written as the directory's ``README.md``.
    """
    import torch
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize

    dim = projection.shape[0]
    weight = torch.tensor(projection, dtype=torch.float32)
    dense = Dense(dim, dim, bias=False, activation_function=torch.nn.Identity(), init_weight=weight)
    model.append(dense)
    model.append(Normalize())
    with atomic_directory(out_dir) as staging:
        model.save(str(staging))
        with atomic_write(staging / CARD_FILE) as handle:
            handle.write(card)
    return Path(out_dir)
