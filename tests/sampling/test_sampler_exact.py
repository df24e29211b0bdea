"""Exact-batch tests of the samplers on a small fixed data set, the pool, and the accelerate DDP plug-in."""

from __future__ import annotations

import numpy as np
import pytest
from accelerate.data_loader import BatchSamplerShard
from hypothesis import given, settings
from hypothesis import strategies as st

from polyret.errors import DataError, UsageError
from polyret.sampling import LanguageBatchSampler, PairRef, PairTable, SamplerKind
from polyret.sampling.pool import DistinctIdPool, distinct_batch_capacity, group_by_key

from .aligned import make_records

# q0..q3 in en/de, q4..q5 in en/de/zh
RECORDS = make_records([frozenset({"en", "de"})] * 4 + [frozenset({"en", "de", "zh"})] * 2)


def test_table_holds_every_existing_question_answer_combination():
    table = PairTable(RECORDS)
    assert len(table) == 4 * 4 + 2 * 9
    pairs = table.pairs(table.pair_codes())
    assert PairRef(4, "zh", "en") in pairs and PairRef(0, "zh", "en") not in pairs
    assert len(pairs) == len(set(pairs)) == len(table)
    assert len(PairTable(RECORDS, exclude_languages=["zh"])) == 6 * 4


def test_table_rejects_duplicate_alignment_ids_and_empty_selections():
    with pytest.raises(DataError, match="q0"):
        PairTable(RECORDS + RECORDS[:1])
    with pytest.raises(UsageError, match="no usable"):
        PairTable(RECORDS, languages=["fr"])


def test_english_batches_are_en_en_and_leave_the_remainder_unused():
    sampler = LanguageBatchSampler(PairTable(RECORDS), 4, kind="english", seed=0)
    batches = list(sampler)
    assert len(batches) == 1 and all((r.query_lang, r.passage_lang) == ("en", "en") for r in batches[0])
    assert sampler.epoch_plan(0).unused_pairs == 2
    assert sampler.epoch_plan(0).plan_counts == {"en-en": 1}


def test_monolingual_epoch_has_one_batch_per_language_with_three_full_slots():
    sampler = LanguageBatchSampler(PairTable(RECORDS), 2, kind=SamplerKind.MONOLINGUAL, seed=1)
    plan = sampler.epoch_plan(0)
    assert plan.plan_counts == {"de-de": 3, "en-en": 3, "zh-zh": 1}
    assert plan.unused_pairs == 0 and len(sampler) == 7


def test_cross_lingual_per_batch_pairs_cover_every_ordered_pair():
    plan = LanguageBatchSampler(PairTable(RECORDS), 2, kind="cross_lingual", seed=0).epoch_plan(0)
    assert plan.plan_counts == {"de-en": 3, "de-zh": 1, "en-de": 3, "en-zh": 1, "zh-de": 1, "zh-en": 1}


def test_hybrid_with_alpha_one_is_monolingual_and_alpha_zero_cross_lingual():
    table = PairTable(RECORDS)
    mono = LanguageBatchSampler(table, 2, kind="hybrid", alpha=1.0, seed=5).epoch_plan(0)
    cross = LanguageBatchSampler(table, 2, kind="hybrid", alpha=0.0, seed=5).epoch_plan(0)
    assert all(p.split("-")[0] == p.split("-")[1] for p in mono.plans) and len(mono.plans) == 7
    assert all(p.split("-")[0] != p.split("-")[1] for p in cross.plans) and len(cross.plans) == 10


def test_st_default_matches_sentence_transformers_default_sampler_on_the_same_rows():
    import torch
    from sentence_transformers.base.sampler import DefaultBatchSampler
    from torch.utils.data import RandomSampler

    table = PairTable(RECORDS)
    sampler = LanguageBatchSampler(table, 5, kind="st_default", seed=7)
    expected = DefaultBatchSampler(
        RandomSampler(range(len(table)), generator=torch.Generator().manual_seed(7)), batch_size=5, drop_last=True
    )
    codes = table.pair_codes()  # the pairs in the order sentence-transformers numbers the dataset's rows
    assert list(sampler.row_batches()) == [codes[b].tolist() for b in expected]


def test_bad_options_are_usage_errors():
    table = PairTable(RECORDS)
    with pytest.raises(UsageError, match="unknown sampler"):
        LanguageBatchSampler(table, 2, kind="bilingual")
    with pytest.raises(UsageError, match="alpha"):
        LanguageBatchSampler(table, 2, alpha=1.5)
    with pytest.raises(UsageError, match="not one full batch"):
        LanguageBatchSampler(table, 7, kind="english")
    other = LanguageBatchSampler(table, 2, seed=1)
    with pytest.raises(UsageError, match="does not match"):
        LanguageBatchSampler(table, 2, seed=2).load_state_dict(other.state_dict())


def test_accelerate_sharding_gives_each_rank_its_slice_of_one_plan_per_step():
    records = make_records([frozenset({"en", "de", "zh"})] * 12)
    sampler = LanguageBatchSampler(PairTable(records), 2, kind="hybrid", world_size=2, seed=3)
    shards = [list(BatchSamplerShard(sampler, num_processes=2, process_index=r, even_batches=False)) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == sampler.steps_per_epoch
    for step, plan in enumerate(sampler.epoch_plan(0).plans):
        a, b = shards[0][step], shards[1][step]
        assert {(r.query_lang, r.passage_lang) for r in a + b} == {tuple(plan.split("-"))}
        assert not {r.example_index for r in a} & {r.example_index for r in b}


@settings(max_examples=30, deadline=None)
@given(counts=st.lists(st.integers(1, 6), min_size=1, max_size=30), batch_size=st.integers(1, 6),
       seed=st.integers(0, 99))
def test_pool_fills_exactly_its_capacity_with_distinct_ids(counts, batch_size, seed):
    offsets = np.cumsum([0, *counts])
    groups = [list(range(offsets[i], offsets[i + 1])) for i in range(len(counts))]
    owner = {row: i for i, group in enumerate(groups) for row in group}
    pool = DistinctIdPool(np.arange(offsets[-1]), offsets, batch_size, np.random.default_rng(seed))
    capacity = distinct_batch_capacity(counts, batch_size)
    assert pool.capacity == capacity
    taken = [pool.take() for _ in range(capacity)]
    for batch in taken:
        assert len(batch) == batch_size and len({owner[int(row)] for row in batch}) == batch_size
    assert pool.remaining_rows == sum(counts) - capacity * batch_size


def test_group_by_key_keeps_first_occurrence_order_of_keys_and_members():
    members, starts = group_by_key(np.array([10, 11, 12, 13, 14]), np.array([3, 0, 3, 5, 0]))
    assert members.tolist() == [10, 12, 11, 14, 13] and starts.tolist() == [0, 2, 4, 5]
    members, starts = group_by_key(np.array([7, 8, 9]), np.array([0, 4, 6]))
    assert members.tolist() == [7, 8, 9] and starts.tolist() == [0, 1, 2, 3]
