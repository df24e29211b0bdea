"""Property and exact tests of the ``multi_positive`` design: questions with their answer in M languages per batch.

Determinism by seed and resume equivalence are checked for every design, this one included, in
``test_sampler_properties.py``."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyret.errors import UsageError
from polyret.sampling import LanguageBatchSampler, PairTable, SamplerKind

from .aligned import LANGS, aligned_records, make_records

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KIND = SamplerKind.MULTI_POSITIVE


def _sampler(records, positives, questions, **kwargs) -> LanguageBatchSampler | None:
    try:
        return LanguageBatchSampler(PairTable(records), positives * questions, kind=KIND,
                                    positives_per_query=positives, **kwargs)
    except UsageError:  # not one full batch fits this draw
        return None


def _groups(batch, positives):
    return [batch[start : start + positives] for start in range(0, len(batch), positives)]


@SETTINGS
@given(records=aligned_records(), positives=st.integers(1, 3), questions=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_each_question_comes_with_its_answer_in_m_languages_and_no_id_twice(records, positives, questions, seed):
    sampler = _sampler(records, positives, questions, seed=seed)
    if sampler is None:
        return
    batches = list(sampler)
    assert len(batches) == len(sampler) > 0
    for batch in batches:
        groups = _groups(batch, positives)
        assert len(groups) == questions
        for group in groups:  # one question in one language, its answer in M distinct existing languages
            assert len({(ref.example_index, ref.query_lang) for ref in group}) == 1
            record = records[group[0].example_index]
            assert group[0].query_lang in record.questions
            passage_langs = [ref.passage_lang for ref in group]
            assert len(set(passage_langs)) == positives and set(passage_langs) <= set(record.answers)
        ids = [records[group[0].example_index].id for group in groups]
        assert len(set(ids)) == questions  # no other question's translation is a false negative


@SETTINGS
@given(records=aligned_records(), positives=st.integers(1, 3), questions=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_each_pair_is_used_at_most_once_per_epoch_and_leftovers_are_counted(records, positives, questions, seed):
    sampler = _sampler(records, positives, questions, seed=seed)
    if sampler is None:
        return
    refs = [ref for batch in sampler for ref in batch]
    assert len(refs) == len(set(refs))
    plan = sampler.epoch_plan(0)
    assert plan.usable_pairs == len(PairTable(records))
    assert plan.usable_pairs - plan.unused_pairs == len(refs)
    assert set(plan.plans) == {"multi-positive"}


@SETTINGS
@given(records=aligned_records(), positives=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_one_question_per_batch_uses_every_group_an_example_offers(records, positives, seed):
    sampler = _sampler(records, positives, 1, seed=seed)
    if sampler is None:
        return
    questions = Counter((ref.example_index, ref.query_lang) for batch in sampler for ref in batch)
    for index, record in enumerate(records):
        for lang in record.questions:
            usable = len(record.answers) - len(record.answers) % positives
            assert questions[(index, lang)] == usable


@SETTINGS
@given(records=aligned_records(min_size=12), positives=st.integers(1, 3), world_size=st.integers(2, 3),
       seed=st.integers(0, 2**16))
def test_ranks_hold_whole_questions_and_disjoint_examples(records, positives, world_size, seed):
    sampler = _sampler(records, positives, 2, world_size=world_size, seed=seed)
    if sampler is None:
        return
    per_rank = [list(_sampler(records, positives, 2, world_size=world_size, seed=seed, rank=r))
                for r in range(world_size)]
    assert all(len(batches) == sampler.steps_per_epoch for batches in per_rank)
    all_ranks = list(sampler)
    for step in range(sampler.steps_per_epoch):
        step_batches = [batches[step] for batches in per_rank]
        assert step_batches == all_ranks[step * world_size : (step + 1) * world_size]
        groups = [group for batch in step_batches for group in _groups(batch, positives)]
        assert all(len({ref.example_index for ref in group}) == 1 for group in groups)
        ids = [records[group[0].example_index].id for group in groups]
        assert len(ids) == len(set(ids)) == 2 * world_size


def test_epoch_length_and_leftovers_on_a_fixed_set():
    # six records in all five languages, three in en/de only: with M = 3 each full record offers 5 x 1 groups
    records = make_records([frozenset(LANGS)] * 6 + [frozenset({"en", "de"})] * 3)
    sampler = LanguageBatchSampler(PairTable(records), 6, kind=KIND, positives_per_query=3, seed=0)
    plan = sampler.epoch_plan(0)
    assert len(plan.batches) == 15  # 30 groups, two of distinct records per batch
    assert plan.usable_pairs == 6 * 25 + 3 * 4 and plan.unused_pairs == plan.usable_pairs - 15 * 6


def test_the_fingerprint_holds_the_positives_so_another_m_cannot_resume_a_state():
    table = PairTable(make_records([frozenset(LANGS)] * 8))
    pairs_of_two = LanguageBatchSampler(table, 4, kind=KIND, positives_per_query=2, seed=1)
    singles = LanguageBatchSampler(table, 4, kind=KIND, positives_per_query=1, seed=1)
    assert pairs_of_two.fingerprint != singles.fingerprint
    with pytest.raises(UsageError, match="does not match"):
        singles.load_state_dict(pairs_of_two.state_dict())


def test_batch_size_must_be_a_multiple_of_the_positives():
    table = PairTable(make_records([frozenset(LANGS)] * 8))
    with pytest.raises(UsageError, match="multiple of positives_per_query"):
        LanguageBatchSampler(table, 6, kind=KIND, positives_per_query=4)
    with pytest.raises(UsageError, match="answer exists in 4 languages"):
        LanguageBatchSampler(PairTable(make_records([frozenset({"en", "de"})] * 8)), 8, kind=KIND)
