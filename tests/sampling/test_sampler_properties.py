"""Property tests of LanguageBatchSampler over random partially aligned data."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyret.errors import UsageError
from polyret.sampling import LanguageBatchSampler, PairTable, SamplerKind, Weighting

from .aligned import aligned_records

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LANGUAGE_KINDS = [SamplerKind.MONOLINGUAL, SamplerKind.CROSS_LINGUAL, SamplerKind.HYBRID, SamplerKind.MIXED]


def _sampler(records, kind, batch_size=2, **kwargs) -> LanguageBatchSampler | None:
    try:  # multi_positive: one question per batch of 2, with its answer in 2 languages
        return LanguageBatchSampler(PairTable(records), batch_size, kind=kind, positives_per_query=2, **kwargs)
    except UsageError:  # not one full batch fits this draw
        return None


def _ids(records, batch) -> list[str]:
    return [records[ref.example_index].id for ref in batch]


@SETTINGS
@given(records=aligned_records(), kind=st.sampled_from(LANGUAGE_KINDS), per_example=st.booleans(),
       weighting=st.sampled_from(list(Weighting)), seed=st.integers(0, 2**16))
def test_batches_follow_their_plan_and_never_repeat_an_alignment_id(records, kind, per_example, weighting, seed):
    sampler = _sampler(records, kind, per_example_pairs=per_example, weighting=weighting, seed=seed)
    if sampler is None:
        return
    batches = list(sampler)
    assert len(batches) == len(sampler)
    for batch in batches:
        assert len(batch) == 2
        assert len(set(_ids(records, batch))) == len(batch)
        for ref in batch:  # only pairs whose question and answer exist
            assert ref.query_lang in records[ref.example_index].questions
            assert ref.passage_lang in records[ref.example_index].answers
        pairs = {(ref.query_lang, ref.passage_lang) for ref in batch}
        mono = all(q == p for q, p in pairs)
        if kind is SamplerKind.MONOLINGUAL:
            assert mono and len(pairs) == 1
        if kind is SamplerKind.CROSS_LINGUAL:
            assert not any(q == p for q, p in pairs)
            assert per_example or len(pairs) == 1
        if kind is SamplerKind.HYBRID:  # never mixed inside: all X-X of one X, or all cross
            all_cross = not any(q == p for q, p in pairs)
            assert (mono and len(pairs) == 1) or (all_cross and (per_example or len(pairs) == 1))


@SETTINGS
@given(records=aligned_records(), kind=st.sampled_from(LANGUAGE_KINDS), per_example=st.booleans(),
       seed=st.integers(0, 2**16))
def test_each_pair_is_used_at_most_once_per_epoch_and_leftovers_are_counted(records, kind, per_example, seed):
    sampler = _sampler(records, kind, per_example_pairs=per_example, seed=seed)
    if sampler is None:
        return
    refs = [ref for batch in sampler for ref in batch]
    assert len(refs) == len(set(refs))
    plan = sampler.epoch_plan(0)
    assert plan.usable_pairs - plan.unused_pairs == len(refs)


@SETTINGS
@given(records=aligned_records(), seed=st.integers(0, 2**16))
def test_monolingual_epoch_uses_every_x_x_pair_up_to_slot_remainders(records, seed):
    sampler = _sampler(records, SamplerKind.MONOLINGUAL, batch_size=3, seed=seed)
    if sampler is None:
        return
    per_lang = Counter(lang for r in records for lang in r.languages)
    used = Counter(ref.query_lang for batch in sampler for ref in batch)
    for lang, count in per_lang.items():
        assert used[lang] == count - count % 3


@SETTINGS
@given(records=aligned_records(), kind=st.sampled_from(list(SamplerKind)), seed=st.integers(0, 2**16))
def test_same_seed_same_sequence_and_epochs_differ_in_order_only(records, kind, seed):
    first, second = _sampler(records, kind, seed=seed), _sampler(records, kind, seed=seed)
    if first is None:
        return
    assert list(first) == list(second)
    first.set_epoch(1)
    assert len(list(first)) == len(second)


@SETTINGS
@given(records=aligned_records(), kind=st.sampled_from(list(SamplerKind)), seed=st.integers(0, 2**16),
       data=st.data())
def test_resume_from_state_gives_the_identical_remainder(records, kind, seed, data):
    sampler = _sampler(records, kind, seed=seed)
    if sampler is None:
        return
    sampler.set_epoch(2)
    full = list(sampler)
    cut = data.draw(st.integers(0, len(full)))
    iterator = iter(sampler)
    for _ in range(cut):
        next(iterator)
    state = sampler.state_dict()
    resumed = _sampler(records, kind, seed=seed)
    resumed.load_state_dict(state)
    assert list(resumed) == full[cut:]
    assert list(resumed) == full  # the next pass is the whole epoch again


@SETTINGS
@given(records=aligned_records(min_size=12), kind=st.sampled_from(LANGUAGE_KINDS), world_size=st.integers(2, 3),
       seed=st.integers(0, 2**16))
def test_ranks_share_the_plan_of_each_step_and_hold_disjoint_examples(records, kind, world_size, seed):
    sampler = _sampler(records, kind, world_size=world_size, seed=seed)
    if sampler is None:
        return
    per_rank = [list(_sampler(records, kind, world_size=world_size, seed=seed, rank=r)) for r in range(world_size)]
    assert all(len(batches) == sampler.steps_per_epoch for batches in per_rank)
    for step, plan in enumerate(sampler.epoch_plan(0).plans):
        step_batches = [batches[step] for batches in per_rank]
        ids = [records[ref.example_index].id for batch in step_batches for ref in batch]
        assert len(ids) == len(set(ids))
        pair_sets = [{(ref.query_lang, ref.passage_lang) for ref in batch} for batch in step_batches]
        if plan not in ("mixed", "cross-mixed"):
            assert all(pairs == {tuple(plan.split("-"))} for pairs in pair_sets)


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.8])
def test_hybrid_monolingual_share_is_within_a_binomial_bound_of_alpha(alpha):
    from .aligned import LANGS, make_records

    records = make_records([frozenset(LANGS)] * 200)
    sampler = LanguageBatchSampler(PairTable(records), 4, kind="hybrid", alpha=alpha, seed=3)
    plans = sampler.epoch_plan(0).plans
    mono = sum(1 for plan in plans if plan.split("-")[0] == plan.split("-")[1])
    n = len(plans)
    assert abs(mono / n - alpha) <= 3 * math.sqrt(alpha * (1 - alpha) / n)
    first_half = sum(1 for plan in plans[: n // 2] if plan.split("-")[0] == plan.split("-")[1])
    assert abs(first_half / (n // 2) - alpha) <= 4 * math.sqrt(alpha * (1 - alpha) / (n // 2))  # spread, not blocked
