"""Language-aware batch sampler: every (global) batch follows one language plan, no answer twice in it."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sentence_transformers.base.sampler import DefaultBatchSampler
from torch.utils.data import RandomSampler

from polyret.errors import UsageError
from polyret.sampling.kinds import (
    CROSS_MIXED_PLAN,
    MIXED_PLAN,
    MULTI_POSITIVE_PLAN,
    SamplerKind,
    Weighting,
    pair_plan,
)
from polyret.sampling.pairs import PairRef, PairTable
from polyret.sampling.pool import DistinctIdPool, distinct_batch_capacity
from polyret.sampling.translations import draw_groups, group_counts, rows_by_question

logger = logging.getLogger(__name__)

Slots = dict[str, list[list[int]]]


@dataclass(slots=True)
class EpochPlan:
    """One epoch, fixed in advance: global batches of table rows, their plan labels, and what was left over.

    Attributes:
        batches: ``world_size * batch_size`` row indices per global batch.
        plans: the plan label of each global batch (``"de-de"``, ``"de-en"``, ``"cross-mixed"``, ``"mixed"``,
            ``"multi-positive"``).
        usable_pairs: rows the design could draw from (e.g. only X-X rows for ``monolingual``).
        unused_pairs: usable rows no batch took this epoch (slot remainders smaller than a batch, and for
            ``hybrid`` the cross-lingual rows beyond its ``1 - alpha`` share).
    """

    batches: list[list[int]]
    plans: list[str]
    usable_pairs: int
    unused_pairs: int

    @property
    def plan_counts(self) -> dict[str, int]:
        """How many batches follow each plan label, sorted by label."""
        return dict(sorted(Counter(self.plans).items()))


class LanguageBatchSampler:
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
        self.kind = _enum(SamplerKind, kind, "sampler")
        self.weighting = _enum(Weighting, weighting, "weighting")
        if batch_size < 1 or world_size < 1:
            raise UsageError(f"batch_size and world_size must be >= 1 (got {batch_size}, {world_size})")
        if not 0.0 <= alpha <= 1.0:
            raise UsageError(f"alpha must lie in [0, 1] (got {alpha})")
        if rank is not None and not 0 <= rank < world_size:
            raise UsageError(f"rank must lie in [0, {world_size}) (got {rank})")
        if self.kind is SamplerKind.MULTI_POSITIVE and (positives_per_query < 1 or batch_size % positives_per_query):
            raise UsageError(f"multi_positive sampling: batch_size ({batch_size}) must be a multiple of "
                             f"positives_per_query ({positives_per_query} >= 1)")
        self.table = table
        self.batch_size = batch_size
        self.alpha = alpha
        self.per_example_pairs = per_example_pairs
        self.positives_per_query = positives_per_query
        self.seed = seed
        self.world_size = world_size
        self.rank = rank
        self.global_batch_size = batch_size * world_size
        self.epoch = 0
        self._resume_at = 0
        self._position = 0
        self._cached: dict[int, EpochPlan] = {}  # the latest two epochs drawn (a log interval may span both)
        self._mono, self._cross = self._build_slots()
        self._questions = rows_by_question(table) if self.kind is SamplerKind.MULTI_POSITIVE else []
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

    # -- public API -----------------------------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Select the epoch to draw next (the trainer calls this before each epoch)."""
        if epoch != self.epoch:
            self._resume_at = 0
        self.epoch = epoch

    def __len__(self) -> int:
        """Batches per epoch that this iterator yields (per rank when ``rank`` is set, else all ranks')."""
        return self._num_batches * (1 if self.rank is not None else self.world_size)

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps (global batches) per epoch."""
        return self._num_batches

    def __iter__(self) -> Iterator[list[PairRef]]:
        rows = self.table.rows
        return ([rows[i] for i in batch] for batch in self.row_batches())

    def row_batches(self) -> Iterator[list[int]]:
        """Like iterating the sampler, but yields table row indices (= rows of the materialised dataset)."""
        start, self._resume_at = self._resume_at, 0
        self._position = start  # set now, not at the first next(), so state_dict() is right at once
        return self._rows_from(self.epoch_plan(self.epoch), start)

    def _rows_from(self, plan: EpochPlan, start: int) -> Iterator[list[int]]:
        per_step = 1 if self.rank is not None else self.world_size
        for position in range(start, len(self)):
            step, slot = divmod(position, per_step)
            rank = self.rank if self.rank is not None else slot
            self._position = position + 1
            yield plan.batches[step][rank * self.batch_size : (rank + 1) * self.batch_size]

    def epoch_plan(self, epoch: int) -> EpochPlan:
        """The global batches and plan labels of ``epoch`` (drawn once; the latest two epochs stay cached)."""
        if epoch not in self._cached:
            plan = self._draw_epoch(epoch)
            logger.info(
                "epoch %d: %d batches (%s), %d of %d usable pairs unused",
                epoch, len(plan.batches), plan.plan_counts, plan.unused_pairs, plan.usable_pairs,
            )
            self._cached = {**dict(list(self._cached.items())[-1:]), epoch: plan}
        return self._cached[epoch]

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of everything that fixes the batch sequence (rows, design, sizes, seed)."""
        digest = hashlib.sha256()
        design = (self.kind.value, self.weighting.value, self.alpha, self.per_example_pairs, self.seed,
                  self.batch_size, self.world_size)
        if self.kind is SamplerKind.MULTI_POSITIVE:  # other designs keep the fingerprints of their checkpoints
            design += (self.positives_per_query,)
        if self.table.answer_keys != list(range(len(self.table.examples))):  # shared answers change the batches
            design += ("answer-keys", tuple(self.table.answer_keys))
        digest.update(repr(design).encode())
        for ref in self.table.rows:
            digest.update(f"{self.table.alignment_ids[ref.example_index]}\t{ref.query_lang}\t{ref.passage_lang}\n"
                          .encode())
        return digest.hexdigest()[:16]

    def state_dict(self) -> dict[str, Any]:
        """Where iteration stands: the epoch and the batches of it already yielded."""
        return {"epoch": self.epoch, "position": self._position, "fingerprint": self.fingerprint}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`: the next ``iter`` yields exactly the rest of that epoch.

        Raises:
            UsageError: the state belongs to other data, another design or another seed.
        """
        if state.get("fingerprint") != self.fingerprint:
            raise UsageError(
                "sampler state does not match this sampler (different data, design, batch size or seed, or a "
                "checkpoint of an older polyret that let questions sharing an answer into one batch); "
                "resuming would not reproduce the remaining batches"
            )
        self.epoch = int(state["epoch"])
        self._resume_at = self._position = int(state["position"])

    # -- epoch construction ---------------------------------------------------------------------------------------
    def _build_slots(self) -> tuple[Slots, Slots]:
        """Monolingual and cross-lingual slots of the design: plan label -> rows grouped by answer key."""
        rows, keys = self.table.rows, self.table.answer_keys
        if self.kind is SamplerKind.MULTI_POSITIVE:  # its groups are drawn per epoch (polyret.sampling.translations)
            return {}, {}
        if self.kind in (SamplerKind.MIXED, SamplerKind.ST_DEFAULT):
            return {}, {MIXED_PLAN: _group_by_answer(range(len(rows)), rows, keys)}
        by_plan: dict[str, list[int]] = defaultdict(list)
        for row, ref in enumerate(rows):
            plan = CROSS_MIXED_PLAN if self.per_example_pairs and not ref.is_monolingual else None
            by_plan[plan or pair_plan(ref.query_lang, ref.passage_lang)].append(row)
        mono: Slots = {plan: _group_by_answer(slot, rows, keys) for plan, slot in by_plan.items()
                       if rows[slot[0]].is_monolingual}
        cross: Slots = {plan: _group_by_answer(slot, rows, keys) for plan, slot in by_plan.items() if plan not in mono}
        if self.kind is SamplerKind.ENGLISH:
            mono = {"en-en": mono["en-en"]} if "en-en" in mono else {}
        if self.kind in (SamplerKind.MONOLINGUAL, SamplerKind.ENGLISH):
            cross = {}
        elif self.kind is SamplerKind.CROSS_LINGUAL:
            mono = {}
        return dict(mono), dict(cross)

    def _answer_key(self, row: int) -> int:
        return self.table.answer_keys[self.table.rows[row].example_index]

    def _capacities(self, slots: Slots) -> dict[str, int]:
        return {
            plan: distinct_batch_capacity([len(g) for g in groups], self.global_batch_size)
            for plan, groups in slots.items()
        }

    def _epoch_length(self) -> int:
        if self.kind is SamplerKind.ST_DEFAULT:
            return len(self.table) // self.global_batch_size
        if self.kind is SamplerKind.MULTI_POSITIVE:
            groups_per_answer: Counter[int] = Counter()
            counts = group_counts(self._questions, self.positives_per_query)
            for example, count in zip(self._questions, counts, strict=True):
                groups_per_answer[self._answer_key(example[0][0])] += count
            return distinct_batch_capacity(list(groups_per_answer.values()),
                                           self.global_batch_size // self.positives_per_query)
        mono, cross = sum(self._capacities(self._mono).values()), sum(self._capacities(self._cross).values())
        if self.kind is not SamplerKind.HYBRID:
            return mono + cross
        return max(n for n in range(mono + cross + 1) if _mono_share(n, self.alpha) <= mono
                   and n - _mono_share(n, self.alpha) <= cross)

    def _draw_epoch(self, epoch: int) -> EpochPlan:
        if self.kind is SamplerKind.ST_DEFAULT:
            return self._draw_st_default(epoch)
        if self.kind is SamplerKind.MULTI_POSITIVE:
            return self._draw_multi_positive(epoch)
        rng = np.random.default_rng([self.seed, epoch])
        pools = {
            plan: DistinctIdPool(groups, self.global_batch_size, rng)
            for plan, groups in sorted({**self._mono, **self._cross}.items())
        }
        usable = sum(pool.remaining_rows for pool in pools.values())
        n_mono = _mono_share(self._num_batches, self.alpha) if self.kind is SamplerKind.HYBRID else 0
        is_mono = rng.permutation(np.arange(self._num_batches) < n_mono)
        batches, plans = [], []
        for mono_batch in is_mono:
            candidates = self._mono if (mono_batch or not self._cross) else self._cross
            plan = self._draw_slot([p for p in sorted(candidates) if pools[p].capacity > 0], pools, rng)
            batches.append(pools[plan].take())
            plans.append(plan)
        unused = sum(pool.remaining_rows for pool in pools.values())
        return EpochPlan(batches, plans, usable, unused)

    def _draw_slot(self, plans: list[str], pools: dict[str, DistinctIdPool], rng: np.random.Generator) -> str:
        if self.weighting is Weighting.UNIFORM:
            return plans[int(rng.integers(len(plans)))]
        left = np.array([pools[p].capacity for p in plans], dtype=float)
        return plans[int(rng.choice(len(plans), p=left / left.sum()))]

    def _draw_multi_positive(self, epoch: int) -> EpochPlan:
        """Translation groups of distinct answers; a global batch is ``global_batch_size / M`` whole groups."""
        rng = np.random.default_rng([self.seed, epoch])
        groups = draw_groups(self._questions, self.positives_per_query, rng)
        flat = [group for example_groups in groups for group in example_groups]
        ids: dict[int, list[int]] = defaultdict(list)  # the pool keeps two groups of one answer out of a batch
        for group, rows in enumerate(flat):
            ids[self._answer_key(rows[0])].append(group)
        pool = DistinctIdPool(list(ids.values()), self.global_batch_size // self.positives_per_query, rng)
        batches = [[row for group in pool.take() for row in flat[group]] for _ in range(self._num_batches)]
        used = len(batches) * self.global_batch_size
        return EpochPlan(batches, [MULTI_POSITIVE_PLAN] * len(batches), len(self.table), len(self.table) - used)

    def _draw_st_default(self, epoch: int) -> EpochPlan:
        """sentence-transformers' default sampler (random order, full batches), reseeded per epoch."""
        generator = torch.Generator().manual_seed(self.seed + epoch)
        st_sampler = DefaultBatchSampler(
            RandomSampler(range(len(self.table)), generator=generator),
            batch_size=self.global_batch_size, drop_last=True, generator=generator, seed=self.seed,
        )
        batches = [list(batch) for batch in st_sampler]
        return EpochPlan(batches, [MIXED_PLAN] * len(batches), len(self.table),
                         len(self.table) - len(batches) * self.global_batch_size)


def _mono_share(num_batches: int, alpha: float) -> int:
    """Monolingual batches among ``num_batches`` of a hybrid epoch: ``alpha * num_batches``, rounded half up."""
    return int(alpha * num_batches + 0.5)


def _group_by_answer(row_ids: Any, rows: list[PairRef], answer_keys: list[int]) -> list[list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for row in row_ids:
        groups[answer_keys[rows[row].example_index]].append(row)
    return list(groups.values())


def _enum(enum_cls: type[Any], value: Any, name: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum_cls)
        raise UsageError(f"unknown {name} {value!r} (expected one of: {choices})") from None

