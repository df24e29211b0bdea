"""Hard-negative mining: language-aware, never a shared answer, range and margins as sentence-transformers', an
interrupted run leaves no corpus, bad input is named."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from polyret.data.corpus import PreparedCorpus, is_prepared_corpus
from polyret.data.corpus_sources import QAJsonlSource
from polyret.data.prepare import prepare_corpus
from polyret.errors import DataError, UsageError
from polyret.models.backends import InferenceBackend
from polyret.models.encoders import get_encoder
from polyret.training.mining import mine_negatives
from polyret.training.negative_selection import MiningOptions, select_negatives

TOPICS = ["river", "castle", "poem", "engine", "forest", "harbour", "violin"]


def _records(count: int = 30) -> list[dict]:
    """Questions in en (and de for most), answers in en and de; rows 0 and 1 share their English answer (one
    answer key) but not their German one; every third row has no German question (its query is English)."""
    records = []
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)]
        questions = {"en": f"What about the {topic} number {i}?"}
        if i % 3:
            questions["de"] = f"Was ist mit {topic} Nummer {i}?"
        answers = {"en": f"The {topic} {i} is old." if i > 1 else "A shared answer.", "de": f"{topic} {i} ist alt."}
        records.append({"id": f"q{i}", "questions": questions, "answers": answers,
                        "contexts": {"en": f"Story of the {topic}. The {topic} {i} is old."} if i > 1 else {}})
    return records


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> PreparedCorpus:
    folder = tmp_path_factory.mktemp("mining")
    source = folder / "train.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    return prepare_corpus([QAJsonlSource(source)], folder / "corpus")


@pytest.fixture(scope="module")
def encoder(tiny_model_dir):
    return get_encoder(tiny_model_dir, backend=InferenceBackend("torch", "fp32"))


def _score_matrix(corpus: PreparedCorpus, encoder, lang: str) -> np.ndarray:
    """Scores of every row's question (in ``lang``, else in English) against every answer in ``lang``."""
    rows = np.arange(len(corpus))
    passages = encoder.encode(corpus.texts("answer", lang, rows), "passage")
    questions = [own or corpus.texts("question", "en", [row])[0]
                 for row, own in enumerate(corpus.texts("question", lang, rows))]
    return encoder.encode(questions, "query") @ passages.T


def _reference(scores: np.ndarray, keys: np.ndarray, options: MiningOptions) -> list[list[float]]:
    """Per row, the scores of the negatives the options pick, from the full score matrix (no FAISS, no chunks)."""
    expected = []
    for row, row_scores in enumerate(scores):
        positive = row_scores[row]
        nearest = sorted((s for j, s in enumerate(row_scores) if keys[j] != keys[row]), reverse=True)
        kept = [s for s in nearest[: options.window] if (options.margin is None or s + options.margin <= positive)
                and (options.max_score is None or s <= options.max_score)]
        expected.append(kept[options.range_min : options.range_min + options.num_negatives])
    return expected


@pytest.mark.parametrize("options", [
    MiningOptions(num_negatives=3, with_context=False),
    MiningOptions(num_negatives=2, range_min=1, range_max=12, margin=0.01, max_score=0.995, with_context=False),
])
def test_mined_negatives_are_the_candidates_the_options_pick_from_the_full_score_matrix(
        corpus, encoder, tmp_path, options):
    mined, report = mine_negatives(corpus, encoder, tmp_path / "mined", options)
    assert is_prepared_corpus(tmp_path / "mined") and mined.manifest["mining"]["options"] == options.to_dict()
    rows = np.arange(len(corpus))
    for lang in ("de", "en"):
        answers = corpus.texts("answer", lang, rows)
        scores = _score_matrix(corpus, encoder, lang)
        expected = _reference(scores, corpus.answer_keys(), options)
        got = mined.negatives(lang, rows)
        for row in rows.tolist():
            assert all(text in answers for text in got[row])  # negatives are answers in the positive's language
            found = sorted((scores[row, answers.index(text)] for text in got[row]), reverse=True)
            np.testing.assert_allclose(found, expected[row], atol=1e-4)
        short = sum(len(found) < options.num_negatives for found in got)
        assert report["languages"][lang] == {"rows": len(corpus), "short": short}
        unfiltered = _reference(scores, corpus.answer_keys(), dataclasses.replace(options, margin=None,
                                                                                  max_score=None))
        filtered = sum(a != b for a, b in zip(expected, unfiltered, strict=True))
        if options.margin is None:
            assert short == filtered == 0
        else:  # the filters dropped candidates: some rows are left with fewer negatives, not all
            assert filtered and 0 < short < len(corpus)


def test_a_question_never_gets_its_own_answer_a_translation_of_it_or_a_shared_answer(corpus, encoder, tmp_path):
    mined, _ = mine_negatives(corpus, encoder, tmp_path / "mined",
                              MiningOptions(num_negatives=len(corpus) - 1, range_max=len(corpus)))
    rows = np.arange(len(corpus))
    keys = corpus.answer_keys()
    assert keys[0] == keys[1] and len(set(keys.tolist())) == len(corpus) - 1
    for lang in ("de", "en"):
        answers, contexts = corpus.texts("answer", lang, rows), corpus.texts("context", lang, rows)
        inputs = [f"{a}\n\n{c}" if c else a for a, c in zip(answers, contexts, strict=True)]
        for row, found in enumerate(mined.negatives(lang, rows)):
            sharing = {j for j in rows.tolist() if keys[j] == keys[row]}
            assert found and not {inputs[j] for j in sharing} & set(found)  # stored with context, as trained
            others = {inputs[j] for j in rows.tolist() if j not in sharing}
            assert len(found) == len(set(found)) and set(found) == others  # every other passage text, once
    assert mined.texts("question", "de", rows) == corpus.texts("question", "de", rows)
    assert mined.answer_keys().tolist() == keys.tolist()


def test_selection_applies_the_filters_before_the_rank_window():
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]])
    excluded = np.array([[False, True, False, False, False, False]])
    positive = np.array([0.75])
    picked = select_negatives(scores, excluded, positive, MiningOptions(num_negatives=2, range_min=1, margin=0.0))
    # 0.9 is above the positive, 0.8 excluded: left are 0.7, 0.6, 0.5, 0.4; skip one, keep two
    assert picked.tolist() == [[3, 4]]
    relative = select_negatives(scores, excluded, positive, MiningOptions(num_negatives=3, relative_margin=0.1,
                                                                         range_max=4))
    assert relative.tolist() == [[3, 4, -1]]  # the 4 nearest allowed: 0.9, 0.7, 0.6, 0.5; 0.7 > 0.75 - 0.075


def test_interrupted_mining_leaves_no_corpus_and_a_rerun_finishes(corpus, encoder, tmp_path):
    class Interrupting:
        name, calls = "interrupting", 0

        def fingerprint(self):
            return encoder.fingerprint()

        def encode(self, texts, role, **kw):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return encoder.encode(texts, role, **kw)

    with pytest.raises(KeyboardInterrupt):
        mine_negatives(corpus, Interrupting(), tmp_path / "mined", MiningOptions())
    assert not (tmp_path / "mined").exists() and not list(tmp_path.glob(".mined.*"))
    mined, _ = mine_negatives(corpus, encoder, tmp_path / "mined", MiningOptions())
    assert PreparedCorpus.open(tmp_path / "mined").digest == mined.digest


def test_bad_input_is_named(corpus, encoder, tmp_path, cli, tiny_model_dir):
    (tmp_path / "half").mkdir()
    result = cli("data", "mine-negatives", tmp_path / "half", "--model", tiny_model_dir, "-o", tmp_path / "out")
    assert result.code == 3 and f"{tmp_path / 'half'}: not a complete prepared corpus" in result.err
    with pytest.raises(UsageError, match="another folder"):
        mine_negatives(corpus, encoder, corpus.folder, MiningOptions())
    with pytest.raises(UsageError, match="range_min 2 and range_max 3"):
        mine_negatives(corpus, encoder, tmp_path / "x", MiningOptions(num_negatives=2, range_min=2, range_max=3))
    result = cli("data", "mine-negatives", corpus.folder, "--model", tiny_model_dir, "-o", tmp_path / "y",
                 "--num-negatives", "0")
    assert result.code == 2 and "num_negatives" in result.err and not (tmp_path / "y").exists()
    with pytest.raises(DataError):
        PreparedCorpus.open(tmp_path / "half")


def test_the_command_writes_a_corpus_with_its_provenance(corpus, tmp_path, cli, tiny_model_dir):
    result = cli("data", "mine-negatives", corpus.folder, "--model", tiny_model_dir, "-o", tmp_path / "mined",
                 "--num-negatives", "2", "--range-min", "1", "--backend", "torch", "--no-with-context")
    assert result.code == 0, result.err
    mined = PreparedCorpus.open(tmp_path / "mined")
    mining = mined.manifest["mining"]
    assert mining["model"] == str(tiny_model_dir) and mining["options"]["range_min"] == 1
    assert mined.manifest["sources"][0]["kind"] == "mined" and mined.digest != corpus.digest
    assert mined.negative_counts("de").tolist() == [2] * len(corpus)
    assert "de: 30 rows mined" in result.out


def test_a_mined_corpus_trains_with_its_negatives_and_the_plain_one_is_refused(corpus, tmp_path, cli,
                                                                                tiny_model_dir):
    assert cli("data", "mine-negatives", corpus.folder, "--model", tiny_model_dir, "-o", tmp_path / "mined",
               "--num-negatives", "2", "--backend", "torch").code == 0
    common = ("--model", tiny_model_dir, "--batch-size", "4", "--max-steps", "1", "--hard-negatives", "2")
    refused = cli("train", "--data", corpus.folder, "-o", tmp_path / "plain", *common)
    assert refused.code == 2 and f"{corpus.folder}: hard_negatives 2" in refused.err and "30 in de" in refused.err
    trained = cli("train", "--data", tmp_path / "mined", "-o", tmp_path / "run", *common)
    assert trained.code == 0, trained.err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["hard_negatives"] == 2
