"""The pool designs' draw as it was defined before epochs were drawn batch by batch: every pool a Python list,
swap-and-pop one pick at a time, the whole epoch drawn before its first batch is read.

An oracle for the tests: it shares no code with :mod:`polyret.sampling.pool` or :mod:`polyret.sampling.buckets`
besides the capacity formula.
"""

from __future__ import annotations

import numpy as np

from polyret.sampling import LanguageBatchSampler, SamplerKind, Weighting
from polyret.sampling.pool import distinct_batch_capacity


class ListPool:
    """Ids in lists by members left; each batch takes from the fullest ids first, ties broken by ``rng``."""

    def __init__(self, members: np.ndarray, starts: np.ndarray, batch_size: int, rng: np.random.Generator) -> None:
        spans = list(zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True))
        self.members = [list(rng.permutation(members[a:b])) if b - a > 1 else [int(members[a])] for a, b in spans]
        self.buckets: dict[int, list[int]] = {}
        for group, held in enumerate(self.members):
            self.buckets.setdefault(len(held), []).append(group)
        self.batch_size = batch_size
        self.rng = rng
        self.capacity = distinct_batch_capacity(np.diff(starts), batch_size)

    def take(self) -> list[int]:
        self.capacity -= 1
        groups: list[int] = []
        for count in sorted(self.buckets, reverse=True):
            bucket, needed = self.buckets[count], self.batch_size - len(groups)
            for pick in self.rng.integers(0, len(bucket) - np.arange(min(needed, len(bucket)))).tolist():
                groups.append(bucket[pick])
                bucket[pick] = bucket[-1]
                bucket.pop()
            if len(groups) == self.batch_size:
                break
        out = [int(self.members[group].pop()) for group in groups]
        for group in groups:
            if self.members[group]:
                self.buckets.setdefault(len(self.members[group]), []).append(group)
        self.buckets = {count: bucket for count, bucket in self.buckets.items() if bucket}
        return out


def eager_epoch(sampler: LanguageBatchSampler, epoch: int) -> tuple[list[str], np.ndarray]:
    """Plan labels and global batches of pair codes of ``epoch`` of a pool design (not multi_positive or
    st_default), drawn the way they always were."""
    rng = np.random.default_rng([sampler.seed, epoch])
    slots = dict(sorted({**sampler._mono, **sampler._cross}.items()))
    pools = {plan: ListPool(*sampler._slot_members(slot), sampler.global_batch_size, rng)
             for plan, slot in slots.items()}
    steps = sampler.steps_per_epoch
    n_mono = int(sampler.alpha * steps + 0.5) if sampler.kind is SamplerKind.HYBRID else 0
    open_plans = {True: [p for p in sorted(sampler._mono) if pools[p].capacity],
                  False: [p for p in sorted(sampler._cross) if pools[p].capacity]}
    labels, batches = [], []
    for mono in rng.permutation(np.arange(steps) < n_mono).tolist():
        candidates = open_plans[mono or not sampler._cross]
        if sampler.weighting is Weighting.UNIFORM:
            plan = candidates[int(rng.integers(len(candidates)))]
        else:
            left = np.array([pools[p].capacity for p in candidates], dtype=float)
            plan = candidates[int(rng.choice(len(candidates), p=left / left.sum()))]
        members = np.array(pools[plan].take(), dtype=np.int64)
        if not pools[plan].capacity:
            candidates.remove(plan)
        slot = slots[plan]
        batches.append(members if min(slot) < 0 else sampler.table.encode(members, *slot))
        labels.append(plan)
    return labels, np.array(batches, dtype=np.int64).reshape(steps, sampler.global_batch_size)
