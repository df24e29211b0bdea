"""EmbeddingStore: dedupe, memory and disk cache hits, damaged or foreign shards recomputed, bad encoders."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from core_encoders import HashEncoder

from polyret.errors import ModelError, UsageError
from polyret.evaluation.store import EmbeddingStore, text_key

TEXTS = ["a cat", "ein Hund", "a cat", "猫", "un chien"]


def test_dedupes_and_keeps_rows_aligned():
    encoder = HashEncoder()
    store = EmbeddingStore(encoder)
    vectors = store.embed(TEXTS, "query")
    assert vectors.shape == (5, 16) and vectors.dtype == np.float32
    assert sorted(encoder.encoded) == sorted(set(TEXTS))
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors, encoder.encode(TEXTS, "query"))


def test_second_call_encodes_nothing():
    store = EmbeddingStore(HashEncoder())
    first = store.embed(TEXTS, "passage")
    second = store.embed(TEXTS[::-1], "passage")
    assert store.counts.encoded == 4 and store.counts.cached == 4
    np.testing.assert_array_equal(second, first[::-1])


def test_roles_are_cached_apart():
    store = EmbeddingStore(HashEncoder())
    q = store.embed(["same text"], "query")
    p = store.embed(["same text"], "passage")
    assert store.counts.encoded == 2
    assert not np.allclose(q, p)
    assert text_key("query", "x") != text_key("passage", "x")


def test_disk_cache_is_reused_by_a_new_store(tmp_path):
    first = EmbeddingStore(HashEncoder(), tmp_path).embed(TEXTS, "query")
    encoder = HashEncoder()
    store = EmbeddingStore(encoder, tmp_path)
    np.testing.assert_array_equal(store.embed(TEXTS, "query"), first)
    assert store.counts.encoded == 0 and store.counts.cached == 4
    assert encoder.encoded == ["dimension probe"]
    assert list((tmp_path / encoder.fingerprint()).glob("*.tmp")) == []


def test_fingerprint_change_is_not_reused(tmp_path):
    EmbeddingStore(HashEncoder(salt="a"), tmp_path).embed(TEXTS, "query")
    store = EmbeddingStore(HashEncoder(salt="b"), tmp_path)
    store.embed(TEXTS, "query")
    assert store.counts.encoded == 4
    assert len(list(tmp_path.iterdir())) == 2


def _shard(tmp_path, encoder):
    (path,) = (tmp_path / encoder.fingerprint()).glob("shard-*.npz")
    return path


def test_many_unusable_shards_give_one_warning_line(tmp_path, caplog):
    encoder = HashEncoder()
    EmbeddingStore(encoder, tmp_path).embed(TEXTS, "query")
    folder = _shard(tmp_path, encoder).parent
    for index in range(5):
        (folder / f"shard-old{index}.npz").write_bytes(b"not a shard")
    store = EmbeddingStore(HashEncoder(), tmp_path)
    with caplog.at_level(logging.WARNING):
        store.embed(TEXTS, "query")
    warnings = [record for record in caplog.records if "unusable" in record.getMessage()]
    assert len(warnings) == 1 and "discarding 5 unusable" in warnings[0].getMessage()
    assert store.counts.encoded == 0 and len(list(folder.glob("shard-*.npz"))) == 1


def test_truncated_shard_is_discarded_and_recomputed(tmp_path, caplog):
    encoder = HashEncoder()
    expected = EmbeddingStore(encoder, tmp_path).embed(TEXTS, "query")
    shard = _shard(tmp_path, encoder)
    shard.write_bytes(shard.read_bytes()[:100])
    store = EmbeddingStore(HashEncoder(), tmp_path)
    with caplog.at_level(logging.WARNING):
        got = store.embed(TEXTS, "query")
    np.testing.assert_array_equal(got, expected)
    assert store.counts.encoded == 4
    assert "discarding" in caplog.text
    again = EmbeddingStore(HashEncoder(), tmp_path)
    again.embed(TEXTS, "query")
    assert again.counts.encoded == 0  # the recomputed shard was saved and is readable


@pytest.mark.parametrize("damage", ["dimension", "fingerprint", "nan", "content"])
def test_foreign_or_invalid_shard_is_never_used(tmp_path, damage):
    encoder = HashEncoder()
    expected = EmbeddingStore(encoder, tmp_path).embed(TEXTS, "query")
    shard = _shard(tmp_path, encoder)
    with np.load(shard, allow_pickle=False) as data:
        keys, vectors, fingerprint, checksum = data["keys"], data["vectors"], data["fingerprint"], data["checksum"]
    if damage == "dimension":
        vectors = np.zeros((len(keys), 8), dtype=np.float32)
    elif damage == "fingerprint":
        vectors, fingerprint = vectors + 1, np.array("another-model")
    elif damage == "content":  # finite, right shape and fingerprint, but not what was stored
        vectors = vectors[::-1].copy()
    else:
        vectors = np.full_like(vectors, np.nan)
    with open(shard, "wb") as handle:
        np.savez(handle, keys=keys, vectors=vectors, fingerprint=fingerprint, checksum=checksum)
    store = EmbeddingStore(HashEncoder(), tmp_path)
    np.testing.assert_array_equal(store.embed(TEXTS, "query"), expected)
    assert store.counts.encoded == 4


def test_large_inputs_are_saved_in_several_shards(tmp_path, monkeypatch):
    monkeypatch.setattr("polyret.evaluation.store.SHARD_ROWS", 2)
    encoder = HashEncoder()
    EmbeddingStore(encoder, tmp_path).embed(TEXTS, "query")
    assert len(list((tmp_path / encoder.fingerprint()).glob("shard-*.npz"))) == 2


def test_empty_input():
    assert EmbeddingStore(HashEncoder()).embed([], "query").shape[0] == 0


def test_unknown_role():
    with pytest.raises(UsageError, match="role"):
        EmbeddingStore(HashEncoder()).embed(["x"], "document")  # type: ignore[arg-type]


class _BrokenEncoder(HashEncoder):
    def encode(self, texts, role, *, batch_size=32, show_progress=False):
        return np.full((len(texts) + 1, 4), np.nan, dtype=np.float32)


def test_bad_encoder_output_is_a_model_error():
    with pytest.raises(ModelError, match="shape"):
        EmbeddingStore(_BrokenEncoder()).embed(["x"], "query")


def test_a_cache_that_cannot_be_written_means_memory_only_with_one_warning(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    encoder = HashEncoder()
    with caplog.at_level(logging.WARNING, logger="polyret"):
        stores = [EmbeddingStore(encoder, blocker / "cache") for _ in range(2)]
    assert encoder.encoded == []  # decided before anything is encoded
    assert [store.cache_root for store in stores] == [None, None]
    (warning,) = [r.getMessage() for r in caplog.records if "embedding cache" in r.getMessage()]
    assert f"{blocker / 'cache'} cannot be written" in warning and "in memory only" in warning
    vectors = stores[0].embed(TEXTS, "query")
    assert vectors.shape == (5, 16) and list(tmp_path.iterdir()) == [blocker]
