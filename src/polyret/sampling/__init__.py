"""Language-aware batch sampling: monolingual, cross-lingual, hybrid, mixed, English-only and ST-default batches,
from one data set or several.

Usage::

    table = PairTable(train_records, exclude_languages=["el", "vi"])
    sampler = LanguageBatchSampler(table, batch_size=100, kind="hybrid", alpha=0.5, seed=42)
    for batch in sampler:          # list[PairRef], all of one language plan
        ...
"""

from __future__ import annotations

from polyret.sampling.epoch import EpochPlan
from polyret.sampling.kinds import SamplerKind, Weighting
from polyret.sampling.mixture import Mixing, SourceMixture, SourceTables
from polyret.sampling.pairs import PairRef, PairTable
from polyret.sampling.sampler import LanguageBatchSampler
from polyret.sampling.stream import EpochSampler

__all__ = [
    "EpochPlan",
    "EpochSampler",
    "LanguageBatchSampler",
    "Mixing",
    "PairRef",
    "PairTable",
    "SamplerKind",
    "SourceMixture",
    "SourceTables",
    "Weighting",
]
