"""Aligned QA records for sampler tests: random (hypothesis) and a small fixed set."""

from __future__ import annotations

from hypothesis import strategies as st

from polyret.data.records import ParallelQA

LANGS = ("ar", "de", "en", "es", "zh")


def make_records(language_sets: list[frozenset[str]]) -> list[ParallelQA]:
    """One record per entry, with question and answer in exactly those languages."""
    return [
        ParallelQA(f"q{i}", {lang: f"q{i}-{lang}" for lang in langs}, {lang: f"a{i}-{lang}" for lang in langs})
        for i, langs in enumerate(language_sets)
    ]


@st.composite
def aligned_records(draw: st.DrawFn, min_size: int = 8, max_size: int = 40) -> list[ParallelQA]:
    """Records with 2-5 languages each (MLQA-style partial alignment)."""
    language_sets = draw(st.lists(
        st.frozensets(st.sampled_from(LANGS), min_size=2, max_size=len(LANGS)), min_size=min_size, max_size=max_size,
    ))
    return make_records(language_sets)
