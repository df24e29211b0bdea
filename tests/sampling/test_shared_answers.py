"""No batch holds two examples whose gold answers are one sentence (XQuAD-R-like paragraphs with shared answers)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyret.data.records import ParallelQA
from polyret.errors import UsageError
from polyret.sampling import LanguageBatchSampler, PairTable, SamplerKind

LANGS = ("de", "en", "es", "zh")
DESIGNS = [SamplerKind.MONOLINGUAL, SamplerKind.CROSS_LINGUAL, SamplerKind.HYBRID, SamplerKind.MIXED,
           SamplerKind.MULTI_POSITIVE]


def paragraph_records(questions_per_sentence: list[int]) -> list[ParallelQA]:
    """Sentence ``s`` answers ``questions_per_sentence[s]`` questions, its text the same in all of them."""
    records = []
    for sentence, count in enumerate(questions_per_sentence):
        answers = {lang: f"sentence {sentence} in {lang}" for lang in LANGS}
        records += [ParallelQA(f"s{sentence}q{i}", {lang: f"q{sentence}.{i}-{lang}" for lang in LANGS}, answers,
                               group=str(sentence // 3)) for i in range(count)]
    return records


def _sentences(records: list[ParallelQA], batch) -> list[frozenset[str]]:
    return [frozenset(records[ref.example_index].answers.values()) for ref in batch]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=st.lists(st.integers(1, 4), min_size=12, max_size=30), kind=st.sampled_from(DESIGNS),
       per_example=st.booleans(), seed=st.integers(0, 2**16))
def test_no_batch_holds_one_answer_sentence_twice(counts, kind, per_example, seed):
    records = paragraph_records(counts)
    sampler = LanguageBatchSampler(PairTable(records), 4, kind=kind, per_example_pairs=per_example,
                                   positives_per_query=2, seed=seed)
    for batch in sampler:
        sentences = _sentences(records, batch)
        step = 2 if kind is SamplerKind.MULTI_POSITIVE else 1  # a question's M rows share its answer by design
        assert len(set(sentences[::step])) == len(sentences[::step])


def test_examples_share_a_key_when_an_answer_text_matches_in_any_language():
    records = [ParallelQA("a", {"en": "1"}, {"en": "s", "de": "s-de"}), ParallelQA("b", {"en": "2"}, {"en": "t"}),
               ParallelQA("c", {"de": "3"}, {"de": "s-de"}), ParallelQA("d", {"en": "4"}, {"en": "t", "es": "u"}),
               ParallelQA("e", {"en": "5"}, {"es": "u"}), ParallelQA("f", {"en": "6"}, {"de": "t"})]
    assert PairTable(records).answer_keys.tolist() == [0, 1, 0, 1, 1, 5]


def test_state_of_a_sampler_that_ignored_shared_answers_is_refused():
    shared = paragraph_records([2, 1, 3, 1, 2, 1, 1, 2])
    distinct = [ParallelQA(r.id, r.questions, {lang: f"{r.id} {lang}" for lang in r.answers}) for r in shared]
    old = LanguageBatchSampler(PairTable(distinct), 4, kind="mixed", seed=1)
    new = LanguageBatchSampler(PairTable(shared), 4, kind="mixed", seed=1)
    assert PairTable(distinct).answer_keys.tolist() == list(range(len(distinct)))
    with pytest.raises(UsageError, match="sharing an answer"):
        new.load_state_dict(old.state_dict())
