"""Freezing word embeddings for faster CPU fine-tuning."""

from __future__ import annotations

import pytest
import torch
from sentence_transformers import SentenceTransformer

from polyret.errors import ModelError
from polyret.models.freezing import freeze_word_embeddings


def test_freezes_only_the_word_embedding_table(tiny_model_dir):
    model = SentenceTransformer(str(tiny_model_dir), device="cpu")
    table = model[0].model.get_input_embeddings().weight
    trainable_before = {name for name, p in model.named_parameters() if p.requires_grad}
    assert freeze_word_embeddings(model) == table.numel()
    trainable_after = {name for name, p in model.named_parameters() if p.requires_grad}
    assert not table.requires_grad
    assert trainable_before - trainable_after == {name for name, p in model.named_parameters() if p is table}
    assert any("position_embeddings" in name for name in trainable_after)


def test_frozen_table_gets_no_gradient_while_layers_do(tiny_model_dir):
    model = SentenceTransformer(str(tiny_model_dir), device="cpu")
    freeze_word_embeddings(model)
    features = model.tokenize(["Die Katze sitzt auf der Matte.", "猫坐在垫子上。"])
    model(features)["sentence_embedding"].sum().backward()
    assert model[0].model.get_input_embeddings().weight.grad is None
    assert model[0].model.encoder.layer[0].attention.self.query.weight.grad is not None


def test_model_without_transformer_is_a_model_error():
    with pytest.raises(ModelError, match="no transformer word embeddings"):
        freeze_word_embeddings(torch.nn.Linear(2, 2))
