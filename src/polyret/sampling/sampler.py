"""Language-aware batch sampler: every (global) batch follows one language plan, no answer twice in it."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator

import numpy as np
import torch

from polyret.errors import UsageError
from polyret.sampling.epoch import EpochPlan, fixed_draw
from polyret.sampling.kinds import (
    CROSS_MIXED_PLAN,
    MIXED_PLAN,
    MULTI_POSITIVE_PLAN,
    SamplerKind,
    Weighting,
    pair_plan,
)
from polyret.sampling.pairs import PairTable
from polyret.sampling.pool import DistinctIdPool, distinct_batch_capacity, group_by_key
from polyret.sampling.stream import EpochSampler, enum_value
from polyret.sampling.translations import draw_groups, group_counts

ALL_PAIRS = (-1, -1)  # a slot of every usable pair (``mixed``)
ALL_CROSS = (-1, -2)  # a slot of every X != Y pair (cross-lingual batches with ``per_example_pairs``)
Slots = dict[str, tuple[int, int]]
"""Plan label -> the slot's (query, passage) language indices, or :data:`ALL_PAIRS` / :data:`ALL_CROSS`."""


class LanguageBatchSampler(EpochSampler):
    """Yields batches of :class:`PairRef` in which every pair follows the batch's language plan.

    Each epoch is drawn in advance from ``seed`` and the epoch number, so it is reproducible, resumable
    (:meth:`state_dict`) and of a fixed length (``len``) that trainers can schedule. No batch holds two rows of one
    answer key (:attr:`PairTable.answer_keys`: one alignment id, or questions sharing their gold sentence), so no
    in-batch negative is a false one. Within an epoch every usable
    row is used at most once per plan slot (language, language pair, or the pooled slot); rows a full batch cannot
    take are counted in :attr:`EpochPlan.unused_pairs` and logged, never wrapped around.

    Under data parallelism (``world_size`` W > 1) the sampler forms global batches of ``W * batch_size`` rows from
    one plan and emits them as W consecutive per-rank batches. Accelerate (``split_batches=False``, the
    sentence-transformers trainer's setting) hands rank r every W-th batch, so at each step all ranks follow the same
    plan and hold disjoint examples. Building a DataLoader by hand, pass ``rank`` to get only that rank's batches.

    Args:
        table: the usable (example, query language, passage language) rows.
        batch_size: pairs per batch on one device.
        kind: the batch design (see :class:`SamplerKind`).
        alpha: ``hybrid`` only: the probability that a batch is monolingual (paper: 0.5).
        weighting: ``uniform`` draws the batch's language (pair) uniformly among those with a full batch left;
            ``proportional`` in proportion to the batches each has left, so all run out together.
        per_example_pairs: for the cross-lingual batches: draw the pair X != Y per example instead of per batch.
        positives_per_query: ``multi_positive`` only: answer languages per question (M); a batch holds
            ``batch_size / M`` questions, each as M consecutive rows, so ``batch_size`` must be a multiple of M.
        seed: base seed; epoch ``e`` uses ``(seed, e)``.
        world_size: number of data-parallel ranks W.
        rank: yield only this rank's batches (for a hand-built DataLoader); ``None`` yields all W per step.
    """

    def __init__(
        self,
        table: PairTable,
        batch_size: int,
        *,
        kind: SamplerKind | str = SamplerKind.HYBRID,
        alpha: float = 0.5,
        weighting: Weighting | str = Weighting.UNIFORM,
        per_example_pairs: bool = False,
        positives_per_query: int = 4,
        seed: int = 0,
        world_size: int = 1,
        rank: int | None = None,
    ) -> None:
        self.kind = enum_value(SamplerKind, kind, "sampler")
        self.weighting = enum_value(Weighting, weighting, "weighting")
        self._start(batch_size, seed=seed, world_size=world_size, rank=rank)
        if not 0.0 <= alpha <= 1.0:
            raise UsageError(f"alpha must lie in [0, 1] (got {alpha})")
        if self.kind is SamplerKind.MULTI_POSITIVE and (positives_per_query < 1 or batch_size % positives_per_query):
            raise UsageError(f"multi_positive sampling: batch_size ({batch_size}) must be a multiple of "
                             f"positives_per_query ({positives_per_query} >= 1)")
        self.table = table
        self.alpha = alpha
        self.per_example_pairs = per_example_pairs
        self.positives_per_query = positives_per_query
        self._mono, self._cross = self._build_slots()
        if self.kind is SamplerKind.HYBRID and alpha < 1.0 and not self._cross:
            raise UsageError(
                f"hybrid sampling needs question/answer pairs in two languages for its cross-lingual batches; the "
                f"{len(table)} usable pairs are all monolingual ({', '.join(sorted(self._mono))}), so "
                f"{1 - alpha:.0%} of the batches could not be drawn (use the monolingual design, or alpha 1)"
            )
        self._num_batches = self._epoch_length()
        if self._num_batches == 0:
            raise UsageError(
                f"{self.kind.value} sampling: not one full batch of {self.global_batch_size} pairs "
                f"(batch size {batch_size} x {world_size} ranks) fits the {len(table)} usable pairs"
                + (f" (a question counts where its answer exists in {positives_per_query} languages)"
                   if self.kind is SamplerKind.MULTI_POSITIVE else "")
            )

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of everything that fixes the batch sequence (rows, design, sizes, seed)."""
        digest = hashlib.sha256()
        design = (self.kind.value, self.weighting.value, self.alpha, self.per_example_pairs, self.seed,
                  self.batch_size, self.world_size)
        if self.kind is SamplerKind.MULTI_POSITIVE:  # other designs keep the fingerprints of their checkpoints
            design += (self.positives_per_query,)
        if self.table.shared_answers:  # shared answers change the batches
            design += ("answer-keys", tuple(self.table.answer_keys.tolist()))
        digest.update(repr(design).encode())
        self.table.fingerprint_lines(digest)
        return digest.hexdigest()[:16]

    # -- epoch construction ---------------------------------------------------------------------------------------
    def _build_slots(self) -> tuple[Slots, Slots]:
        """Monolingual and cross-lingual slots of the design (plan label -> languages), only those with pairs."""
        if self.kind is SamplerKind.MULTI_POSITIVE:  # its groups are drawn per epoch (polyret.sampling.translations)
            return {}, {}
        if self.kind in (SamplerKind.MIXED, SamplerKind.ST_DEFAULT):
            return {}, {MIXED_PLAN: ALL_PAIRS}
        langs, table = self.table.languages, self.table
        present = (table.questions.astype(np.int64) @ table.answers.T.astype(np.int64)) > 0  # (X, Y) has a pair
        mono: Slots = {pair_plan(langs[x], langs[x]): (x, x) for x in range(len(langs)) if present[x, x]}
        cross: Slots = {pair_plan(langs[x], langs[y]): (x, y) for x in range(len(langs)) for y in range(len(langs))
                        if x != y and present[x, y]}
        if self.per_example_pairs and cross:
            cross = {CROSS_MIXED_PLAN: ALL_CROSS}
        if self.kind is SamplerKind.ENGLISH:
            mono = {"en-en": mono["en-en"]} if "en-en" in mono else {}
        if self.kind in (SamplerKind.MONOLINGUAL, SamplerKind.ENGLISH):
            cross = {}
        elif self.kind is SamplerKind.CROSS_LINGUAL:
            mono = {}
        return mono, cross

    def _slot_members(self, slot: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The slot's members (question rows of one language pair, else pair codes), in code order, grouped by
        answer key (:func:`~polyret.sampling.pool.group_by_key`)."""
        if slot in (ALL_PAIRS, ALL_CROSS):
            members = self.table.pair_codes(monolingual=False if slot == ALL_CROSS else None)
            keys = self.table.answer_keys[self.table.decode(members)[0]]
        else:
            members = self.table.slot_rows(*slot)
            keys = self.table.answer_keys[members]
        return group_by_key(members, keys)

    def _capacity(self, slot: tuple[int, int]) -> int:
        """Full batches the slot fills; adds its members to the usable pairs."""
        members, starts = self._slot_members(slot)
        self._usable += len(members)
        return distinct_batch_capacity(np.diff(starts), self.global_batch_size)

    def _epoch_length(self) -> int:
        if self.kind is SamplerKind.ST_DEFAULT:
            return len(self.table) // self.global_batch_size
        if self.kind is SamplerKind.MULTI_POSITIVE:
            counts = group_counts(self.table, self.positives_per_query)
            groups_per_answer = np.bincount(self.table.answer_keys, weights=counts).astype(np.int64)
            return distinct_batch_capacity(groups_per_answer, self.global_batch_size // self.positives_per_query)
        self._usable = 0
        mono = sum(self._capacity(slot) for slot in self._mono.values())
        cross = sum(self._capacity(slot) for slot in self._cross.values())
        if self.kind is not SamplerKind.HYBRID:
            return mono + cross
        low, high = 0, mono + cross  # both shares grow with n: the n that fit are 0..N
        while low < high:
            mid = (low + high + 1) // 2
            if _mono_share(mid, self.alpha) <= mono and mid - _mono_share(mid, self.alpha) <= cross:
                low = mid
            else:
                high = mid - 1
        return low

    def _draw_epoch(self, epoch: int) -> EpochPlan:
        if self.kind is SamplerKind.ST_DEFAULT:
            return self._draw_st_default(epoch)
        if self.kind is SamplerKind.MULTI_POSITIVE:
            return self._draw_multi_positive(epoch)
        unused = self._usable - self._num_batches * self.global_batch_size
        return EpochPlan(functools.partial(self._pool_batches, epoch), self._num_batches, self._usable, unused)

    def _pool_batches(self, epoch: int) -> Iterator[tuple[str, np.ndarray]]:
        """The epoch's (plan label, global batch of pair codes), drawn one batch at a time from ``(seed, epoch)``."""
        rng = np.random.default_rng([self.seed, epoch])
        slots = dict(sorted({**self._mono, **self._cross}.items()))
        pools = {plan: DistinctIdPool(*self._slot_members(slot), self.global_batch_size, rng)
                 for plan, slot in slots.items()}
        n_mono = _mono_share(self._num_batches, self.alpha) if self.kind is SamplerKind.HYBRID else 0
        is_mono = rng.permutation(np.arange(self._num_batches) < n_mono)
        open_mono = [p for p in sorted(self._mono) if pools[p].capacity > 0]  # the plans with a full batch left
        open_cross = [p for p in sorted(self._cross) if pools[p].capacity > 0]
        for mono_batch in is_mono.tolist():
            candidates = open_mono if (mono_batch or not self._cross) else open_cross
            plan = self._draw_slot(candidates, pools, rng)
            members = pools[plan].take()
            if not pools[plan].capacity:
                candidates.remove(plan)
            yield plan, self._codes(members, slots[plan])

    def _codes(self, members: np.ndarray, slot: tuple[int, int]) -> np.ndarray:
        """A batch's members as pair codes: rows of a language-pair slot are encoded, codes stay."""
        return members if slot in (ALL_PAIRS, ALL_CROSS) else self.table.encode(members, *slot)

    def _draw_slot(self, plans: list[str], pools: dict[str, DistinctIdPool], rng: np.random.Generator) -> str:
        if self.weighting is Weighting.UNIFORM:
            return plans[int(rng.integers(len(plans)))]
        left = np.array([pools[p].capacity for p in plans], dtype=float)
        return plans[int(rng.choice(len(plans), p=left / left.sum()))]

    def _draw_multi_positive(self, epoch: int) -> EpochPlan:
        """Translation groups of distinct answers; a global batch is ``global_batch_size / M`` whole groups."""
        rng = np.random.default_rng([self.seed, epoch])
        groups = draw_groups(self.table, self.positives_per_query, rng)
        keys = self.table.answer_keys[self.table.decode(groups[:, 0])[0]]
        members, starts = group_by_key(np.arange(len(groups), dtype=np.int64), keys)
        pool = DistinctIdPool(members, starts, self.global_batch_size // self.positives_per_query, rng)
        batches = np.stack([groups[pool.take()].reshape(-1) for _ in range(self._num_batches)])
        used = len(batches) * self.global_batch_size
        return EpochPlan(fixed_draw(batches, [MULTI_POSITIVE_PLAN] * len(batches)), len(batches), len(self.table),
                         len(self.table) - used)

    def _draw_st_default(self, epoch: int) -> EpochPlan:
        """sentence-transformers' default sampler (``DefaultBatchSampler`` over a ``RandomSampler`` reseeded per
        epoch: one ``torch.randperm`` of the pairs, cut into full batches)."""
        generator = torch.Generator().manual_seed(self.seed + epoch)
        order = torch.randperm(len(self.table), generator=generator).numpy()
        used = self._num_batches * self.global_batch_size
        batches = self.table.codes_at(order[:used]).reshape(self._num_batches, self.global_batch_size)
        return EpochPlan(fixed_draw(batches, [MIXED_PLAN] * len(batches)), len(batches), len(self.table),
                         len(self.table) - used)


def _mono_share(num_batches: int, alpha: float) -> int:
    """Monolingual batches among ``num_batches`` of a hybrid epoch: ``alpha * num_batches``, rounded half up."""
    return int(alpha * num_batches + 0.5)
