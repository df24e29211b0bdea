"""Several training data sets in one run: each global batch comes from one data set, the batch design inside.

Each data set keeps its own :class:`~polyret.sampling.LanguageBatchSampler` (its pair table, its answer keys, its
epochs). A mixture epoch is as many global batches as the data sets fill together (``N = sum(n_i)``, ``n_i`` the
full batches data set ``i`` fills per epoch under the design); data set ``i`` gets ``c_i`` of them, and the order
is one seeded permutation of the ``c_i`` labels per epoch, drawn from ``(seed, epoch)``. The ``k``-th batch data
set ``i`` gives (counted over the whole run) is batch ``k mod n_i`` of its own epoch ``k div n_i``, so nothing but
one label and one position per step is held beyond what the data sets' samplers hold anyway.

The counts ``c_i`` follow the mixing rule, ``p_i ∝ w_i · n_i ** e`` (``w_i`` optional weights, default 1):

- ``size`` (``e = 1``, the hybrid-batch paper's "sampled based on dataset size"): without weights ``c_i = n_i``,
  so a mixture epoch is every data set's epoch once, interleaved;
- ``temperature`` (``e = 1 / T``, the alpha-smoothed sampling of multilingual pre-training: XLM's ``T = 2``,
  XLM-R's and mT5's ``T ≈ 3.3``): small data sets come up more often, a large one continues in the next epoch
  where it stopped;
- ``uniform`` (``e = 0``): every data set alike, or in proportion to the weights given.

and ``c_i`` is ``N · p_i`` rounded by largest remainder (Hamilton), so the counts are exact and seed-free.

Example:
    >>> samplers = [LanguageBatchSampler(PairTable(a), 8, seed=source_seed(42, 0)),   # doctest: +SKIP
    ...             LanguageBatchSampler(PairTable(b), 8, seed=source_seed(42, 1))]
    >>> mixture = SourceMixture(samplers, ["nq", "mmarco"], mixing="temperature", temperature=3.0, seed=42)
    >>> mixture.epoch_plan(0).data_set_counts                                       # doctest: +SKIP
    {'mmarco': 61, 'nq': 39}

Relations:
    :class:`~polyret.sampling.stream.EpochSampler` gives it DDP slices and resume;
    :class:`polyret.training.dataset.MixedPairTexts` reads the texts of its codes.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

import numpy as np

from polyret.errors import UsageError
from polyret.sampling.pairs import PairRef, PairTable
from polyret.sampling.sampler import LanguageBatchSampler
from polyret.sampling.stream import EpochSampler, enum_value

MIXTURE_STREAM = 0x6D6978
"""Mixes into every seed of a mixture (``"mix"``), so its streams differ from a lone sampler's."""


class Mixing(str, Enum):
    """How the data set of each batch is chosen (see the module docstring)."""

    SIZE = "size"
    TEMPERATURE = "temperature"
    UNIFORM = "uniform"


def source_seed(seed: int, index: int) -> int:
    """The seed of the sampler of data set ``index`` in a mixture seeded ``seed`` (distinct per data set)."""
    return int(np.random.SeedSequence([MIXTURE_STREAM, seed, index]).generate_state(1)[0])


def batch_shares(
    batches: Sequence[int], mixing: Mixing | str, *, temperature: float = 2.0, weights: Sequence[float] | None = None,
) -> np.ndarray:
    """Each data set's share of the batches: ``p_i ∝ w_i · n_i ** e`` (``e`` 1, ``1 / temperature`` or 0).

    Example:
        >>> batch_shares([100, 1], "temperature", temperature=2.0).round(3).tolist()
        [0.909, 0.091]

    Raises:
        UsageError: a temperature or weight that is not a finite number > 0, or a weight count that does not
            match the data sets.
    """
    mixing = enum_value(Mixing, mixing, "data mixing")
    if not (math.isfinite(temperature) and temperature > 0):
        raise UsageError(f"data temperature must be a finite number > 0 (got {temperature})")
    sizes = np.asarray(batches, dtype=np.float64)
    given = np.ones(len(sizes)) if weights is None else np.asarray(weights, dtype=np.float64)
    if given.shape != sizes.shape:
        raise UsageError(f"one weight per data set: {len(sizes)} data sets, {len(given)} weights")
    if not np.all(np.isfinite(given) & (given > 0)):
        raise UsageError(f"data set weights must be finite numbers > 0 (got {given.tolist()})")
    exponent = {Mixing.SIZE: 1.0, Mixing.TEMPERATURE: 1.0 / temperature, Mixing.UNIFORM: 0.0}[mixing]
    raw = given * sizes**exponent
    return raw / raw.sum()


def apportion(total: int, shares: np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``shares`` (largest remainder; ties to the earlier data set)."""
    quotas = total * np.asarray(shares, dtype=np.float64)
    counts = np.floor(quotas).astype(np.int64)
    left = total - int(counts.sum())
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[:left]] += 1
    return counts


class SourceTables:
    """The pair tables of several data sets under one code space: code ``c`` of data set ``i`` is
    ``offsets[i] + c``.

    Attributes:
        tables: one :class:`PairTable` per data set.
        names: the data sets' names, distinct.
        languages: every language of any data set, sorted (the index space of language labels).
        offsets: where each data set's codes start (and, last, where they end).
    """

    def __init__(self, tables: Sequence[PairTable], names: Sequence[str]) -> None:
        if len(tables) != len(names) or not tables:
            raise UsageError(f"one name per data set, at least one ({len(tables)} tables, {len(names)} names)")
        if len(set(names)) != len(names):
            repeated = next(name for name in names if list(names).count(name) > 1)
            raise UsageError(f"data set {repeated!r} is given twice (give a weight instead of repeating it)")
        self.tables = list(tables)
        self.names = tuple(names)
        self.languages = tuple(sorted({lang for table in tables for lang in table.languages}))
        spans = [table.num_questions * len(table.languages) ** 2 for table in tables]
        self.offsets = np.concatenate([[0], np.cumsum(spans)]).astype(np.int64)

    def __len__(self) -> int:
        """Usable pairs of all data sets."""
        return sum(len(table) for table in self.tables)

    def source_of(self, codes: Sequence[int] | np.ndarray) -> np.ndarray:
        """The data set index of each code."""
        return np.searchsorted(self.offsets, np.asarray(codes, dtype=np.int64), side="right") - 1

    def split(self, codes: Sequence[int] | np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(data set, positions in codes, its own codes)`` for each data set among ``codes``."""
        codes = np.asarray(codes, dtype=np.int64)
        sources = self.source_of(codes)
        parts = []
        for source in np.unique(sources).tolist():
            where = np.flatnonzero(sources == source)
            parts.append((source, where, codes[where] - self.offsets[source]))
        return parts

    def language_index(self, source: int) -> np.ndarray:
        """Per language index of data set ``source``'s table, its index in :attr:`languages`."""
        return np.searchsorted(self.languages, self.tables[source].languages)

    def pairs(self, codes: Sequence[int] | np.ndarray) -> list[PairRef]:
        """The pairs of ``codes`` (``example_index`` is the row within its own data set; :meth:`source_of`)."""
        return self._gather(codes, lambda table, local: table.pairs(local))

    def alignment_ids(self, codes: Sequence[int] | np.ndarray) -> list[str]:
        """The alignment ids of the questions of ``codes``."""
        return self._gather(codes, lambda table, local: table.alignment_ids(local))

    def _gather(self, codes: Sequence[int] | np.ndarray, read) -> list:
        out: list = [None] * len(codes)
        for source, where, local in self.split(codes):
            for position, value in zip(where.tolist(), read(self.tables[source], local), strict=True):
                out[position] = value
        return out


class MixedEpochPlan:
    """One mixture epoch: per step its data set and the batch's place in that data set's stream; the batches and
    plan labels are read from the data sets' own epoch plans when asked for.

    Attributes:
        epoch: the mixture epoch.
        sources: per step, the data set index (``int16``).
        ranks: per step, how many batches of its data set came before it this epoch (``int32``); the batch is
            number ``epoch * c_i + rank`` of data set ``i``'s stream of batches.
        batches: per step, the global batch's pair codes (in the mixture's code space); a sequence.
        plans: per step, the language plan label (``"de-en"``, ...); a sequence.
        names: the data sets' names.
        usable_pairs: usable pairs of all data sets.
        unused_pairs: per data set, its usable pairs beyond the ``c_i`` batches it gives this epoch, summed.
    """

    def __init__(self, mixture: SourceMixture, epoch: int, sources: np.ndarray, ranks: np.ndarray, usable_pairs: int,
                 unused_pairs: int) -> None:
        self.mixture = mixture
        self.epoch = epoch
        self.sources = sources
        self.ranks = ranks
        self.names = mixture.names
        self.usable_pairs = usable_pairs
        self.unused_pairs = unused_pairs
        self.batches: Sequence[np.ndarray] = _StepView(len(sources), self._batch)
        self.plans: Sequence[str] = _StepView(len(sources), self._plan)

    @property
    def plan_counts(self) -> dict[str, int]:
        """How many batches follow each plan label (all data sets together), sorted by label."""
        return dict(sorted(Counter(self.plans).items()))

    @property
    def data_set_counts(self) -> dict[str, int]:
        """How many batches each data set gives, in the data sets' order."""
        return dict(zip(self.names, np.bincount(self.sources, minlength=len(self.names)).tolist(), strict=True))

    def data_set_of(self, step: int) -> str:
        """The name of the data set of ``step``."""
        return self.names[int(self.sources[step])]

    def _own_plan(self, step: int) -> tuple[Any, int]:
        """The data set's own epoch plan holding ``step``'s batch, and the batch's index in it."""
        source = int(self.sources[step])
        sampler = self.mixture.samplers[source]
        epoch, index = divmod(self.epoch * int(self.mixture.counts[source]) + int(self.ranks[step]),
                              sampler.steps_per_epoch)
        return sampler.epoch_plan(epoch), index

    def _batch(self, step: int) -> np.ndarray:
        plan, index = self._own_plan(step)
        return plan.batches[index] + self.mixture.table.offsets[int(self.sources[step])]

    def _plan(self, step: int) -> str:
        plan, index = self._own_plan(step)
        return plan.plans[index]


class _StepView(Sequence[Any]):
    """A read-only sequence over an epoch's steps, each item read through ``read(step)``."""

    def __init__(self, steps: int, read: Callable[[int], Any]) -> None:
        self._steps = steps
        self._read = read

    def __len__(self) -> int:
        return self._steps

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._read(step) for step in range(*index.indices(self._steps))]
        step = index + self._steps if index < 0 else index
        if not 0 <= step < self._steps:
            raise IndexError(f"step {index} outside the epoch's {self._steps} batches")
        return self._read(step)


class SourceMixture(EpochSampler):
    """Batches from several data sets, each global batch from one of them (see the module docstring).

    Guarantees of each data set's sampler hold per batch (language plan, no answer key twice, DDP slices of one
    plan); the mixture adds one seeded, vectorised draw per epoch (the order of the data sets' labels) and stays
    resumable to the identical batch.

    Args:
        samplers: one sampler per data set, with equal ``batch_size`` and ``world_size`` and no ``rank``; give
            them distinct seeds (:func:`source_seed`).
        names: the data sets' names (distinct), as logs and summaries show them.
        mixing: ``size``, ``temperature`` or ``uniform`` (:class:`Mixing`).
        temperature: ``T`` of ``temperature`` mixing (``p_i ∝ n_i ** (1 / T)``).
        weights: one factor per data set on its share (``None``: all 1).
        seed: seed of the order of the data sets in each epoch.
        rank: yield only this rank's batches (for a hand-built DataLoader).

    Raises:
        UsageError: mismatched samplers or names, a bad mixing, temperature or weight.
    """

    def __init__(
        self, samplers: Sequence[LanguageBatchSampler], names: Sequence[str], *, mixing: Mixing | str = Mixing.SIZE,
        temperature: float = 2.0, weights: Sequence[float] | None = None, seed: int = 0, rank: int | None = None,
    ) -> None:
        self.table = SourceTables([sampler.table for sampler in samplers], names)
        shapes = {(sampler.batch_size, sampler.world_size, sampler.rank) for sampler in samplers}
        if len(samplers) > np.iinfo(np.int16).max:
            raise UsageError(f"at most {np.iinfo(np.int16).max} data sets in one run (got {len(samplers)})")
        if len(shapes) != 1 or samplers[0].rank is not None:
            raise UsageError("the data sets' samplers need one batch size and world size, and no rank "
                             f"(got batch size, world size, rank {sorted(shapes, key=str)})")
        self._start(samplers[0].batch_size, seed=seed, world_size=samplers[0].world_size, rank=rank)
        self.samplers = list(samplers)
        self.names = self.table.names
        self.mixing = enum_value(Mixing, mixing, "data mixing")
        self.temperature = temperature
        self.weights = None if weights is None else [float(weight) for weight in weights]
        self.source_batches = np.array([sampler.steps_per_epoch for sampler in samplers], dtype=np.int64)
        self.shares = batch_shares(self.source_batches, self.mixing, temperature=temperature, weights=weights)
        self._num_batches = int(self.source_batches.sum())
        exact = self.mixing is Mixing.SIZE and self.weights is None
        self.counts = self.source_batches if exact else apportion(self._num_batches, self.shares)
        for name, sampler in zip(self.names, samplers, strict=True):
            sampler.log_prefix = f"data set {name}: "

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of the data sets' sampler fingerprints, their names and the mixing rule."""
        rule = (self.mixing.value, self.temperature if self.mixing is Mixing.TEMPERATURE else None, self.weights)
        design = (self.names, tuple(sampler.fingerprint for sampler in self.samplers), rule,
                  tuple(self.counts.tolist()), self.seed)
        return hashlib.sha256(repr(("mixture", *design)).encode()).hexdigest()[:16]

    def data_sets(self) -> list[dict[str, object]]:
        """Per data set: name, questions, usable pairs, its own batches per epoch, weight, share, and the batches
        it gives per mixture epoch (for the run record)."""
        weights = self.weights or [1.0] * len(self.names)
        return [{"name": name, "questions": sampler.table.num_questions, "usable_pairs": len(sampler.table),
                 "own_batches_per_epoch": int(own), "weight": weight, "share": round(float(share), 6),
                 "batches_per_epoch": int(count)}
                for name, sampler, own, weight, share, count in zip(
                    self.names, self.samplers, self.source_batches, weights, self.shares, self.counts, strict=True)]

    def _draw_epoch(self, epoch: int) -> MixedEpochPlan:
        rng = np.random.default_rng([MIXTURE_STREAM, self.seed, epoch])
        sources = rng.permutation(np.repeat(np.arange(len(self.samplers), dtype=np.int16), self.counts))
        ranks = np.empty(len(sources), dtype=np.int32)
        usable = unused = 0
        for source, (sampler, count) in enumerate(zip(self.samplers, self.counts.tolist(), strict=True)):
            ranks[sources == source] = np.arange(count, dtype=np.int32)
            pairs = sampler.epoch_plan(epoch * count // sampler.steps_per_epoch).usable_pairs  # its first epoch used
            usable += pairs
            unused += max(pairs - count * self.global_batch_size, 0)
        return MixedEpochPlan(self, epoch, sources, ranks, usable, unused)

    def _epoch_note(self, plan: MixedEpochPlan) -> str:
        return f", per data set {plan.data_set_counts}"
