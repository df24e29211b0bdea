"""Epochs drawn batch by batch: the same batches as the whole-epoch draw, in any reading order, in little memory."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyret.errors import UsageError
from polyret.sampling import LanguageBatchSampler, PairTable, SamplerKind, Weighting, buckets, epoch
from polyret.sampling.buckets import SortedIds, SparseBucket

from .aligned import aligned_records
from .eager_reference import eager_epoch
from .test_shared_answers import paragraph_records

SETTINGS = settings(max_examples=15, deadline=None,  # monkeypatch sets one constant for every example
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
POOL_KINDS = [SamplerKind.MONOLINGUAL, SamplerKind.CROSS_LINGUAL, SamplerKind.HYBRID, SamplerKind.MIXED,
              SamplerKind.ENGLISH]


def _records(draw: st.DrawFn) -> list:
    if draw(st.booleans()):  # questions sharing answer sentences: pools with ids of several members
        return paragraph_records(draw(st.lists(st.integers(1, 4), min_size=8, max_size=30)))
    return draw(aligned_records())


@st.composite
def samplers(draw: st.DrawFn) -> LanguageBatchSampler | None:
    records = _records(draw)
    try:
        return LanguageBatchSampler(
            PairTable(records), draw(st.integers(1, 4)), kind=draw(st.sampled_from(POOL_KINDS)),
            alpha=draw(st.sampled_from([0.25, 0.5, 0.8])), weighting=draw(st.sampled_from(list(Weighting))),
            per_example_pairs=draw(st.booleans()), world_size=draw(st.integers(1, 2)),
            seed=draw(st.integers(0, 2**16)))
    except UsageError:  # not one full batch fits this draw
        return None


@SETTINGS
@given(sampler=samplers(), epoch_number=st.integers(0, 3), sparse=st.booleans())
def test_the_lazy_epoch_equals_the_whole_epoch_drawn_the_old_way(sampler, epoch_number, sparse, monkeypatch):
    if sampler is None:
        return
    monkeypatch.setattr(buckets, "DENSE_UP_TO", -1 if sparse else 1 << 16)  # -1: every bucket sparse
    labels, batches = eager_epoch(sampler, epoch_number)
    plan = sampler.epoch_plan(epoch_number)
    assert list(plan.plans) == labels
    assert np.array_equal(np.array(list(plan.batches)), batches)
    assert plan.unused_pairs == plan.usable_pairs - batches.size


@SETTINGS
@given(sampler=samplers(), data=st.data())
def test_batches_read_in_any_order_are_the_batches_read_in_order(sampler, data, monkeypatch):
    if sampler is None:
        return
    monkeypatch.setattr(epoch, "CHUNK_STEPS", 2)  # older batches are dropped and drawn again
    monkeypatch.setattr(buckets, "DENSE_UP_TO", -1)
    in_order = list(sampler.epoch_plan(0).batches)
    plan = sampler._draw_epoch(0)
    steps = data.draw(st.lists(st.integers(0, len(in_order) - 1), max_size=12))
    assert all(np.array_equal(plan.batches[step], in_order[step]) for step in steps)
    assert plan.plans[-1] == sampler.epoch_plan(0).plans[-1]


@pytest.mark.parametrize("design", ["hybrid", "mixed", "cross_lingual"])
def test_merging_the_changed_places_often_changes_no_batch(design, monkeypatch):
    records = paragraph_records([1, 2, 1, 3, 1, 1, 2, 4, 1, 1, 1, 2] * 3)

    def draw() -> list[np.ndarray]:
        sampler = LanguageBatchSampler(PairTable(records), 4, kind=design, seed=11)
        return list(sampler.epoch_plan(0).batches)

    usual = draw()
    monkeypatch.setattr(buckets, "DENSE_UP_TO", -1)
    monkeypatch.setattr(buckets, "_PENDING", 2)
    assert all(np.array_equal(a, b) for a, b in zip(draw(), usual, strict=True))


@given(ids=st.sets(st.integers(0, 5000), max_size=300))
def test_sorted_ids_read_by_position_are_the_ids(ids):
    ordered = np.array(sorted(ids), dtype=np.int64)
    assert np.array_equal(SortedIds(ordered)[np.arange(len(ordered))], ordered)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.sets(st.integers(0, 400), min_size=1, max_size=120), seed=st.integers(0, 2**16),
       pending=st.integers(1, 8))
def test_a_sparse_bucket_takes_and_appends_like_a_list(ids, seed, pending, monkeypatch):
    monkeypatch.setattr(buckets, "_PENDING", pending)
    monkeypatch.setattr(buckets, "DENSE_UP_TO", -1 if seed % 2 else 1 << 16)
    rng = np.random.default_rng(seed)
    reference = sorted(ids)
    bucket = SparseBucket(SortedIds(np.array(reference)), np.int32)
    while reference:
        if rng.random() < 0.2:
            new = rng.integers(-50, 1000, int(rng.integers(1, 4)))
            reference += new.tolist()
            bucket.append(new)
            continue
        picks = rng.integers(0, len(reference) - np.arange(int(rng.integers(1, min(5, len(reference)) + 1))))
        expected = []
        for pick in picks.tolist():
            expected.append(reference[pick])
            reference[pick] = reference[-1]
            reference.pop()
        assert bucket.take(picks).tolist() == expected
        assert bucket.size == len(reference)
