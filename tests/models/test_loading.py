"""Loading encoders by path, alias or Hub name, and fingerprints of model directories."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from polyret.errors import ModelError
from polyret.models.freezing import freeze_word_embeddings
from polyret.models.loading import keep_loaded, load_sentence_transformer, model_fingerprint, models_cache_dir

HF_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


@pytest.fixture()
def raw_hf_dir(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """The tiny model's transformer alone, as a plain Hugging Face directory (no sentence-transformers files)."""
    raw = tmp_path / "raw-hf"
    raw.mkdir()
    for name in HF_FILES:
        shutil.copy(tiny_model_dir / name, raw / name)
    return raw


def test_sentence_transformers_directory_loads_as_saved(tiny_model_dir):
    model = load_sentence_transformer(tiny_model_dir, device="cpu")
    assert model.prompts["query"] == "Query: "
    assert [type(module).__name__ for module in model] == ["Transformer", "Pooling", "Normalize"]


def test_raw_hugging_face_directory_gets_mean_pooling_and_normalisation(raw_hf_dir, tiny_model_dir):
    raw = load_sentence_transformer(str(raw_hf_dir), device="cpu")
    assert [type(module).__name__ for module in raw] == ["Transformer", "Pooling", "Normalize"]
    texts = ["Die Katze sitzt auf der Matte.", "猫坐在垫子上。"]
    saved = load_sentence_transformer(tiny_model_dir, device="cpu")
    np.testing.assert_allclose(raw.encode(texts), saved.encode(texts), atol=1e-5)


def test_alias_is_prepared_then_loaded(fake_alias):
    model = load_sentence_transformer(fake_alias.alias, device="cpu")
    assert fake_alias.calls == 1
    assert Path(model[0].model.name_or_path) == models_cache_dir() / fake_alias.alias


def test_missing_directory_is_a_model_error_naming_it(tmp_path):
    missing = tmp_path / "models" / "mine"
    with pytest.raises(ModelError, match=f"{missing}: model directory not found"):
        load_sentence_transformer(missing)
    with pytest.raises(ModelError, match="not found"):
        load_sentence_transformer("./my-models/retriever")


@pytest.mark.parametrize("make", ["empty_dir", "text_file", "broken_config"])
def test_path_that_is_not_an_encoder_is_a_model_error_naming_it(make, tmp_path):
    target = tmp_path / make
    if make == "text_file":
        target.write_text("hello")
    else:
        target.mkdir()
        if make == "broken_config":
            (target / "config.json").write_text('{"model_type": "no-such-architecture"}')
    with pytest.raises(ModelError, match=str(target)):
        load_sentence_transformer(target)


def test_unreachable_hub_name_says_how_to_use_a_local_copy(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match=r"polyret-tests/no-such-model.*save\('DIR'\)"):
        load_sentence_transformer("polyret-tests/no-such-model")


def test_inference_only_alias_is_not_a_sentence_transformer():
    with pytest.raises(ModelError, match="get_encoder"):
        load_sentence_transformer("use-multilingual")


def test_directory_fingerprint_is_stable_and_tracks_prompts(tiny_model_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    assert model_fingerprint(copy) == model_fingerprint(tiny_model_dir)
    (copy / "README.md").write_text("a different model card")
    assert model_fingerprint(copy) == model_fingerprint(tiny_model_dir)
    prompts_file = copy / "config_sentence_transformers.json"
    prompts_file.write_text(prompts_file.read_text().replace("Query: ", "Question: "))
    assert model_fingerprint(copy) != model_fingerprint(tiny_model_dir)


def test_fingerprint_of_a_missing_directory_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        model_fingerprint(tmp_path / "nothing")


def test_kept_model_is_read_once_and_each_load_is_an_independent_copy(tiny_model_dir, model_reads):
    texts = ["Die Katze sitzt auf der Matte.", "猫坐在垫子上。"]
    with keep_loaded(str(tiny_model_dir)):
        first = load_sentence_transformer(tiny_model_dir, device="cpu")
        first.max_seq_length, first.prompts["query"] = 7, "Changed: "
        freeze_word_embeddings(first)
        with torch.no_grad():
            next(first[0].parameters()).add_(1.0)
        second = load_sentence_transformer(str(tiny_model_dir), device="cpu")
    assert len(model_reads) == 1
    fresh = load_sentence_transformer(tiny_model_dir, device="cpu")
    assert len(model_reads) == 2  # outside the block every load reads the directory
    assert second.max_seq_length == fresh.max_seq_length != 7 and second.prompts == fresh.prompts
    assert all(p.requires_grad for p in second.parameters())
    assert model_fingerprint(second) == model_fingerprint(fresh) != model_fingerprint(first)
    np.testing.assert_array_equal(second.encode(texts), fresh.encode(texts))


def test_a_kept_copy_saves_the_same_files_as_a_fresh_load(tiny_model_dir, tmp_path):
    with keep_loaded(tiny_model_dir):
        load_sentence_transformer(tiny_model_dir, device="cpu")
        load_sentence_transformer(tiny_model_dir, device="cpu").save(str(tmp_path / "copy"))
    load_sentence_transformer(tiny_model_dir, device="cpu").save(str(tmp_path / "fresh"))
    assert model_fingerprint(tmp_path / "copy") == model_fingerprint(tmp_path / "fresh")


def test_only_named_models_are_kept_and_a_changed_directory_is_read_again(tiny_model_dir, tmp_path, model_reads):
    changing = tmp_path / "changing"
    shutil.copytree(tiny_model_dir, changing)
    with keep_loaded(changing):
        load_sentence_transformer(tiny_model_dir, device="cpu")
        load_sentence_transformer(tiny_model_dir, device="cpu")
        assert len(model_reads) == 2  # not named: read every time
        load_sentence_transformer(changing, device="cpu")
        prompts = changing / "config_sentence_transformers.json"
        prompts.write_text(prompts.read_text(encoding="utf-8").replace("Query: ", "Frage: "), encoding="utf-8")
        changed = load_sentence_transformer(changing, device="cpu")
    assert len(model_reads) == 4 and changed.prompts["query"] == "Frage: "
