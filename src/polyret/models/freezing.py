"""Freeze parts of a model before fine-tuning, to train faster on CPU.

Multilingual encoders spend most of their parameters on the word-embedding table (multilingual-e5-small:
96 M of 117.5 M, for a 250k-token vocabulary). Freezing it skips its gradient and optimiser update, which
dominate a CPU training step, while the transformer layers still learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyret.errors import ModelError

if TYPE_CHECKING:
    from torch import nn


def freeze_word_embeddings(model: nn.Module) -> int:
    """Stop training the word-embedding table(s) of every Hugging Face transformer inside ``model``.

    Position and token-type embeddings and all layers stay trainable.

    Args:
        model: a ``SentenceTransformer`` (or any module containing ``transformers`` models).

    Returns:
        The number of parameters frozen (counting each shared table once).

    Raises:
        ModelError: ``model`` contains no transformer with input embeddings.
    """
    from transformers import PreTrainedModel

    tables = {
        id(table.weight): table.weight
        for module in model.modules()
        if isinstance(module, PreTrainedModel) and (table := module.get_input_embeddings()) is not None
    }
    if not tables:
        raise ModelError(f"{type(model).__name__} has no transformer word embeddings to freeze")
    for weight in tables.values():
        weight.requires_grad_(False)
    return sum(weight.numel() for weight in tables.values())
