"""Training and evaluation feed the model the same tokens: the same prefix per role and the same token limit."""

from __future__ import annotations

import pytest
from sentence_transformers import SentenceTransformer

from polyret.data.lareqa import load_parallel_qa
from polyret.models.encoders import get_encoder
from polyret.training import TrainConfig, train

MAX_LENGTH = 24  # shorter than an answer with its paragraph, so truncation is part of what must match


@pytest.fixture
def preprocess_calls(monkeypatch):
    """Every ``SentenceTransformer.preprocess`` call as (texts, prompt, token id rows without padding)."""
    calls = []
    original = SentenceTransformer.preprocess

    def spy(self, inputs, prompt=None, **kwargs):
        features = original(self, inputs, prompt=prompt, **kwargs)
        pairs = zip(features["input_ids"], features["attention_mask"], strict=True)
        rows = [ids[mask.bool()].tolist() for ids, mask in pairs]
        calls.append((list(inputs), prompt, rows))
        return features

    monkeypatch.setattr(SentenceTransformer, "preprocess", spy)
    return calls


def test_trained_model_sees_at_evaluation_the_tokens_it_was_trained_on(
    tiny_model_dir, data_dir, preprocess_calls, tmp_path
):
    records = load_parallel_qa("xquad-r", languages=["en", "de"], groups=["0"], data_dir=data_dir)[:8]
    config = TrainConfig(model=str(tiny_model_dir), batch_size=4, max_steps=1, max_seq_length=MAX_LENGTH,
                         with_context=True, sampler="mixed", save_steps=100)
    outcome = train(config, records, output_dir=tmp_path / "run")
    batch_columns = [call for call in preprocess_calls if len(call[0]) == config.batch_size]  # not the model card's
    (queries, query_prompt, query_rows), (passages, passage_prompt, passage_rows) = batch_columns[:2]
    assert (query_prompt, passage_prompt) == ("Query: ", "Passage: ")
    assert max(len(row) for row in passage_rows) == MAX_LENGTH  # paragraphs were cut in training

    preprocess_calls.clear()
    encoder = get_encoder(outcome.model_dir, max_seq_length=MAX_LENGTH)
    encoder.encode(queries, "query")
    encoder.encode(passages, "passage")
    assert sorted(preprocess_calls[0][2]) == sorted(query_rows)  # encode() sorts its texts by length
    assert sorted(preprocess_calls[1][2]) == sorted(passage_rows)
