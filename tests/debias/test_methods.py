"""Post-hoc debiasing on synthetic embeddings with a known answer: vector = shared meaning + language offset."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.debias import (
    LanguageCentering,
    LanguageInformationRemoval,
    LanguageShift,
    LanguagesRequiredError,
    LowRankSubspaceRemoval,
    UnseenLanguageError,
    load_debiaser,
    parse_spec,
    parse_specs,
    save_debiaser,
)
from polyret.errors import DataError, UsageError

LANGS = ("de", "en", "zh", "ar")
DIM, MEANING_DIMS, ITEMS = 24, 16, 40


def synthetic(seed: int = 0, items: int = ITEMS) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Rows = the same ``items`` meanings in every language, each plus its language's large offset.

    Meanings live in the first MEANING_DIMS dimensions, offsets in the others; returns
    ``(vectors, meanings per row, languages, item per row)``.
    """
    rng = np.random.default_rng(seed)
    meanings = np.zeros((items, DIM))
    meanings[:, :MEANING_DIMS] = rng.normal(size=(items, MEANING_DIMS))
    offsets = np.zeros((len(LANGS), DIM))
    offsets[:, MEANING_DIMS:] = 4 * rng.normal(size=(len(LANGS), DIM - MEANING_DIMS))
    rows = [(meanings[i] + offsets[k], meanings[i], lang, i) for k, lang in enumerate(LANGS) for i in range(items)]
    vectors, meaning, languages, item = zip(*rows, strict=True)
    return np.array(vectors), np.array(meaning), list(languages), np.array(item)


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def translations_first(vectors: np.ndarray, item: np.ndarray) -> float:
    """Share of rows whose translations are all closer to them than every other item in any language (no bias)."""
    sims = vectors @ vectors.T
    same = item[:, None] == item[None, :]
    np.fill_diagonal(same, False)
    worst_translation = np.where(same, sims, np.inf).min(axis=1)
    other = item[:, None] != item[None, :]
    best_other = np.where(other, sims, -np.inf).max(axis=1)
    return float(np.mean(worst_translation > best_other))


@pytest.mark.parametrize("method", [LanguageCentering(), LanguageInformationRemoval(rank=1),
                                    LowRankSubspaceRemoval()])
def test_methods_remove_the_offset_and_keep_the_meaning(method):
    vectors, meanings, languages, item = synthetic()
    assert translations_first(unit(vectors), item) == 0.0  # the offset dominates before
    fitted = method.fit(vectors, languages)
    test_vectors, _, test_languages, test_item = synthetic(seed=0, items=ITEMS)
    out = fitted.transform(test_vectors, test_languages)
    assert out.dtype == np.float32 and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    assert translations_first(out, test_item) == 1.0
    # the same meaning in two languages ends up (almost) at the same point
    by_item = out.reshape(len(LANGS), ITEMS, DIM)
    assert np.max(np.abs(by_item - by_item[0])) < 0.15


def test_centering_and_lsar_recover_the_meaning_exactly():
    vectors, meanings, languages, _ = synthetic()
    expected = unit(meanings - meanings.mean(axis=0))  # centering removes the offset and the mean meaning
    assert np.allclose(LanguageCentering().fit(vectors, languages).transform(vectors, languages), expected, atol=1e-5)
    lsar = LowRankSubspaceRemoval().fit(vectors, languages)
    out = lsar.transform(vectors)
    # LSAR keeps the meaning dimensions and collapses the offsets onto one shared vector
    assert np.allclose(lsar.basis[:MEANING_DIMS], 0, atol=1e-8)
    by_item = out.reshape(len(LANGS), ITEMS, DIM)
    assert np.allclose(by_item, by_item[0], atol=1e-5)
    projected_meaning = unit(meanings @ lsar.projection())[:ITEMS]
    cosine = np.sum(unit(by_item[0][:, :MEANING_DIMS]) * unit(projected_meaning[:, :MEANING_DIMS]), axis=1)
    assert np.allclose(cosine, 1, atol=1e-5)


def test_lsar_needs_no_languages_and_projection_is_an_orthogonal_projector():
    vectors, _, languages, _ = synthetic()
    lsar = LowRankSubspaceRemoval(rank=2).fit(vectors, languages)
    projection = lsar.projection()
    assert lsar.basis.shape == (DIM, 2)
    assert np.allclose(projection @ projection, projection) and np.allclose(projection, projection.T)
    assert np.allclose(lsar.transform(vectors), unit(vectors @ projection), atol=1e-6)


def test_lsar_rank_is_bounded_by_the_languages():
    vectors, _, languages, _ = synthetic()
    with pytest.raises(UsageError, match="needs at least 5 languages"):
        LowRankSubspaceRemoval(rank=4).fit(vectors, languages)
    with pytest.raises(UsageError, match="at least 2 languages"):
        LowRankSubspaceRemoval().fit(vectors[:ITEMS], languages[:ITEMS])


@pytest.mark.parametrize("method", [LanguageCentering(), LanguageInformationRemoval(), LanguageShift()])
def test_label_needing_methods_refuse_missing_or_unseen_languages(method):
    vectors, _, languages, _ = synthetic()
    method.fit(vectors, languages)
    with pytest.raises(LanguagesRequiredError, match="needs the language of every text"):
        method.transform(vectors)
    with pytest.raises(UnseenLanguageError, match="cannot transform fr"):
        method.transform(vectors[:2], ["de", "fr"])
    with pytest.raises(UsageError, match="one per row"):
        method.transform(vectors[:2], ["de"])


def test_bad_input_and_unfitted_methods_raise_usage_errors():
    with pytest.raises(UsageError, match="not fitted"):
        LowRankSubspaceRemoval().transform(np.ones((2, 3)))
    with pytest.raises(UsageError, match="finite 2-D"):
        LanguageCentering().fit(np.array([[np.nan, 1.0]]), ["en"])
    fitted = LanguageCentering().fit(np.ones((2, 3)), ["en", "en"])
    with pytest.raises(UsageError, match="fitted on 3"):
        fitted.transform(np.ones((1, 4)), ["en"])
    with pytest.raises(UsageError, match="at least 2 texts per language"):
        LanguageInformationRemoval(rank=2).fit(np.ones((3, 3)), ["en", "en", "de"])


@pytest.mark.parametrize("method", [LanguageCentering(), LanguageInformationRemoval(rank=2),
                                    LowRankSubspaceRemoval(rank=2), LanguageShift(scale=0.5, source="de")])
def test_save_and_load_round_trip_without_pickle(tmp_path, method):
    vectors, _, languages, _ = synthetic()
    method.fit(vectors, languages)
    path = save_debiaser(method, tmp_path / "m.npz", fitted_on={"source": "synthetic"})
    loaded, meta = load_debiaser(path)
    assert type(loaded) is type(method) and meta["fitted_on"] == {"source": "synthetic"}
    assert np.array_equal(loaded.transform(vectors, languages), method.transform(vectors, languages))
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    with pytest.raises(DataError, match="not a saved debiasing method"):
        load_debiaser(bad)


def test_specs_parse_methods_and_ranks():
    assert parse_spec("lsar:8").label == "lsar:8" and parse_spec(" LIR ").build().rank == 1
    assert parse_spec("lsar").build().rank is None and not parse_spec("lsar").needs_languages
    assert [s.label for s in parse_specs(["center", "lsar:3", "center"])] == ["center", "lsar:3"]
    shift = parse_spec("shift:0.25")
    assert shift.label == "shift:0.25" and shift.build().scale == 0.25 and shift.needs_languages
    assert parse_spec("shift").label == "shift" and parse_spec("shift").build().scale == 1.0
    for bad, message in (("pca", "unknown debiasing method"), ("center:2", "takes no rank"),
                         ("lsar:x", "positive integer"), ("lir:0", "positive integer"), ("lsar:\u00b2", "digits 0-9"),
                         ("shift:0", "in \\(0, 2\\]"), ("shift:2.5", "in \\(0, 2\\]"), ("shift:nan", "digits 0-9"),
                         ("shift:-1", "digits 0-9"), ("shift:\u0661", "digits 0-9")):
        with pytest.raises(UsageError, match=message):
            parse_spec(bad)


def test_shift_moves_every_language_onto_the_source_language():
    vectors, meanings, languages, item = synthetic()
    labels = np.array(languages)
    offsets = {lang: (vectors - meanings)[labels == lang][0] for lang in LANGS}
    shift = LanguageShift().fit(vectors, languages)
    out = shift.transform(vectors, languages)
    assert np.allclose(out, unit(meanings + offsets["en"]), atol=1e-5)  # every translation on its English version
    assert translations_first(out, item) == 1.0
    assert np.allclose(shift.offsets[list(shift.languages).index("en")], 0)
    half = LanguageShift(scale=0.5).fit(vectors, languages).transform(vectors, languages)
    expected = unit(meanings + 0.5 * (np.stack([offsets[lang] for lang in languages]) + offsets["en"]))
    assert np.allclose(half, expected, atol=1e-5)


def test_shift_needs_its_source_language_and_a_scale_in_range():
    vectors, _, languages, _ = synthetic()
    with pytest.raises(UsageError, match="relative to fr, but the reference texts have no fr"):
        LanguageShift(source="fr").fit(vectors, languages)
    for scale in (0.0, -1.0, 2.5):
        with pytest.raises(UsageError, match="scale must lie in"):
            LanguageShift(scale=scale)
