"""Several data sets in one run: SourceMixture's shares, order, per-batch guarantees, resume and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polyret.errors import UsageError
from polyret.sampling import LanguageBatchSampler, PairTable, SourceMixture
from polyret.sampling.mixture import apportion, batch_shares, source_seed

from .aligned import LANGS, make_records


def _records(count: int, langs: tuple[str, ...], prefix: str):
    records = make_records([frozenset(langs)] * count)
    for record in records:  # distinct ids per data set, so a batch's ids tell where it came from
        object.__setattr__(record, "id", f"{prefix}{record.id}")
    return records


DATA = {"big": _records(160, LANGS, "big-"), "small": _records(24, LANGS[:3], "small-"),
        "tiny": _records(10, LANGS[:2], "tiny-")}


def _mixture(names=("big", "small", "tiny"), *, seed=3, kind="hybrid", world_size=1, rank=None, **options):
    samplers = [LanguageBatchSampler(PairTable(DATA[name]), 4, kind=kind, seed=source_seed(seed, index),
                                     world_size=world_size) for index, name in enumerate(names)]
    return SourceMixture(samplers, list(names), seed=seed, rank=rank, **options)


def test_by_size_each_epoch_is_every_data_set_epoch_once_interleaved():
    mixture = _mixture()
    own = [sampler.steps_per_epoch for sampler in mixture.samplers]
    assert mixture.steps_per_epoch == sum(own)
    for epoch in (0, 1):
        plan = mixture.epoch_plan(epoch)
        assert list(plan.data_set_counts.values()) == own
        for index, sampler in enumerate(mixture.samplers):  # the data set's own epoch, in its own order
            steps = np.flatnonzero(plan.sources == index)
            mine = [plan.batches[step] - mixture.table.offsets[index] for step in steps]
            np.testing.assert_array_equal(np.stack(mine), sampler.epoch_plan(epoch).batches)
            assert [plan.plans[step] for step in steps] == list(sampler.epoch_plan(epoch).plans)


def test_by_size_the_data_sets_are_spread_over_the_epoch_within_a_hypergeometric_bound():
    mixture = _mixture(("big", "small"))
    n = mixture.steps_per_epoch
    share = mixture.counts[0] / n
    for epoch in range(4):
        sources = mixture.epoch_plan(epoch).sources
        half = n // 2
        sd = math.sqrt(half * share * (1 - share) * (n - half) / (n - 1))  # hypergeometric: half the labels drawn
        assert abs(int((sources[:half] == 0).sum()) - half * share) <= 4 * sd


@pytest.mark.parametrize("temperature", [1.0, 2.0, 5.0])
def test_temperature_gives_each_data_set_its_share_of_n_to_the_one_over_t(temperature):
    mixture = _mixture(mixing="temperature", temperature=temperature)
    own = np.array([sampler.steps_per_epoch for sampler in mixture.samplers], dtype=float)
    expected = own ** (1 / temperature) / (own ** (1 / temperature)).sum()
    counts = np.array(list(mixture.epoch_plan(0).data_set_counts.values()))
    assert counts.sum() == mixture.steps_per_epoch
    assert np.all(np.abs(counts - expected * counts.sum()) < 1)  # largest remainder: within one batch
    if temperature > 1:  # smoothing: the smallest data set gains, the biggest loses
        assert counts[-1] > own[-1] and counts[0] < own[0]


def test_an_upsampled_data_set_continues_its_own_epochs_across_the_mixture():
    mixture = _mixture(mixing="uniform", seed=11)
    tiny = mixture.samplers[2]
    assert mixture.counts[2] > 2 * tiny.steps_per_epoch  # several of its epochs per mixture epoch
    stream = []
    for epoch in (0, 1):
        plan = mixture.epoch_plan(epoch)
        stream += [plan.batches[step] - mixture.table.offsets[2] for step in np.flatnonzero(plan.sources == 2)]
    own = np.concatenate([tiny.epoch_plan(e).batches for e in range(len(stream) // tiny.steps_per_epoch)])
    np.testing.assert_array_equal(np.stack(stream)[: len(own)], own)


def test_the_share_of_batches_follows_the_weights_over_many_seeds():
    shares = [_mixture(("big", "small"), seed=seed, mixing="uniform", weights=[1, 3]).epoch_plan(0).sources[:20]
              for seed in range(30)]
    first_twenty = np.concatenate(shares)  # 600 labels, each a draw without replacement of 1/4 "big"
    assert abs(float((first_twenty == 0).mean()) - 0.25) <= 4 * math.sqrt(0.25 * 0.75 / len(first_twenty))


@pytest.mark.parametrize("world_size", [1, 2])
def test_every_batch_is_of_one_data_set_and_follows_its_plan_without_a_repeated_id(world_size):
    mixture = _mixture(world_size=world_size, mixing="temperature", temperature=3.0)
    plan = mixture.epoch_plan(0)
    per_rank = [list(_mixture(world_size=world_size, mixing="temperature", temperature=3.0, rank=r).row_batches())
                for r in range(world_size)]
    for step, label in enumerate(plan.plans):
        codes = np.concatenate([batches[step] for batches in per_rank])
        np.testing.assert_array_equal(codes, plan.batches[step])
        assert set(mixture.table.source_of(codes).tolist()) == {int(plan.sources[step])}
        ids = mixture.table.alignment_ids(codes)
        assert len(set(ids)) == len(ids) and all(i.startswith(plan.data_set_of(step) + "-") for i in ids)
        assert {f"{ref.query_lang}-{ref.passage_lang}" for ref in mixture.table.pairs(codes)} == {label}


def test_one_data_set_in_a_mixture_gives_its_sampler_s_batches():
    sampler = LanguageBatchSampler(PairTable(DATA["big"]), 4, seed=9)
    mixture = SourceMixture([sampler], ["big"], seed=9, mixing="temperature", temperature=4.0)
    assert list(mixture.row_batches()) == list(LanguageBatchSampler(PairTable(DATA["big"]), 4, seed=9).row_batches())


def test_resume_mid_epoch_gives_the_identical_rest_and_seeds_change_the_order():
    mixture = _mixture(mixing="temperature", temperature=2.0)
    mixture.set_epoch(1)
    full = list(mixture.row_batches())
    iterator = mixture.row_batches()
    for _ in range(17):
        next(iterator)
    resumed = _mixture(mixing="temperature", temperature=2.0)
    resumed.load_state_dict(mixture.state_dict())
    assert list(resumed.row_batches()) == full[17:]
    assert list(_mixture(mixing="temperature", temperature=2.0).row_batches()) == list(
        _mixture(mixing="temperature", temperature=2.0).row_batches())
    assert _mixture(seed=4).epoch_plan(0).sources.tolist() != _mixture(seed=3).epoch_plan(0).sources.tolist()
    with pytest.raises(UsageError, match="does not match"):  # another mixing rule is another batch sequence
        _mixture(mixing="temperature", temperature=3.0).load_state_dict(mixture.state_dict())


@pytest.mark.parametrize(("options", "message"), [
    ({"mixing": "temperature", "temperature": 0.0}, "temperature must be a finite number > 0"),
    ({"mixing": "temperature", "temperature": float("nan")}, "temperature must be a finite number > 0"),
    ({"weights": [1.0, -2.0, 1.0]}, "weights must be finite numbers > 0"),
    ({"weights": [1.0, float("inf"), 1.0]}, "weights must be finite numbers > 0"),
    ({"weights": [1.0, 2.0]}, "one weight per data set: 3 data sets, 2 weights"),
    ({"mixing": "proportional"}, "unknown data mixing 'proportional'"),
])
def test_a_bad_rule_is_one_clear_error(options, message):
    with pytest.raises(UsageError, match=message):
        _mixture(**options)
    with pytest.raises(UsageError, match="given twice"):
        _mixture(("big", "big"))


def test_shares_and_apportionment():
    assert batch_shares([9, 1], "size").tolist() == [0.9, 0.1]
    assert batch_shares([9, 1], "uniform", weights=[1, 3]).tolist() == [0.25, 0.75]
    assert np.allclose(batch_shares([9, 1], "temperature", temperature=2.0), [0.75, 0.25])
    counts = apportion(10, np.array([0.55, 0.25, 0.2]))
    assert counts.tolist() == [6, 2, 2] and apportion(7, np.array([1 / 3] * 3)).tolist() == [3, 2, 2]
