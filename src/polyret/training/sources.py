"""The training data of a run: one data set or several, each named and optionally weighted, turned into the
run's batch sampler and text dataset.

One data set takes the path it always took (one :class:`~polyret.sampling.PairTable`, one
:class:`~polyret.sampling.LanguageBatchSampler`), so its batches do not change. Several get one sampler each (seeds
from :func:`~polyret.sampling.mixture.source_seed`) under a :class:`~polyret.sampling.SourceMixture` that picks
the data set of each batch by ``config.data_mixing``.

Example:
    >>> sources = [DataSource("nq", PreparedCorpus.open("corpora/nq")),                 # doctest: +SKIP
    ...            DataSource("mmarco", PreparedCorpus.open("corpora/mmarco"), weight=0.5)]
    >>> train(TrainConfig(model="multilingual-e5-small", data_mixing="temperature"), sources, output_dir="run")

Relations:
    :func:`polyret.training.trainer.train` calls :func:`pair_tables`, :func:`batch_sampler` and
    :func:`pair_texts`; the CLI builds the sources from ``--data`` / ``--data-weights``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from polyret.data.columns import QuestionColumns, as_columns
from polyret.data.records import ParallelQA
from polyret.errors import UsageError
from polyret.sampling import EpochSampler, LanguageBatchSampler, PairTable, SourceMixture, SourceTables
from polyret.sampling.mixture import source_seed
from polyret.training.config import TrainConfig
from polyret.training.dataset import MixedPairTexts, PairTexts

TrainData = Sequence[ParallelQA] | QuestionColumns
"""One data set: aligned QA records or any :class:`~polyret.data.columns.QuestionColumns`."""


@dataclass(frozen=True)
class DataSource:
    """One training data set of a run.

    Attributes:
        name: how logs, summaries and errors name it (distinct within a run).
        data: its questions (records or any :class:`~polyret.data.columns.QuestionColumns`).
        weight: factor on its share of the batches (``p_i ∝ weight_i · n_i ** e``, see
            :mod:`polyret.sampling.mixture`); 2 counts it as if it were listed twice.

    Raises:
        UsageError: a weight that is not a finite number > 0.
    """

    name: str
    data: TrainData
    weight: float = 1.0

    def __post_init__(self) -> None:
        weight = self.weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (math.isfinite(weight)
                                                                                    and weight > 0):
            raise UsageError(f"data set {self.name!r}: weight must be a finite number > 0, got {weight!r}")


def as_sources(train_data: TrainData | Sequence[DataSource]) -> list[DataSource]:
    """``train_data`` as data sets: a list of :class:`DataSource` as it is, anything else as one data set.

    Raises:
        UsageError: a list mixing data sets with other items, or no data set.
    """
    if isinstance(train_data, DataSource):
        return [train_data]
    if isinstance(train_data, Sequence) and any(isinstance(item, DataSource) for item in train_data):
        if not all(isinstance(item, DataSource) for item in train_data):
            raise UsageError("training data: a list of DataSource must hold only DataSource items")
        return list(train_data)  # type: ignore[arg-type]
    columns = as_columns(train_data)  # type: ignore[arg-type]
    return [DataSource(columns.source, columns)]


def pair_tables(config: TrainConfig, sources: Sequence[DataSource]) -> list[PairTable]:
    """One pair table per data set, in ``config``'s languages.

    With several data sets a language of ``config.languages`` needs to occur in one of them, not in each.

    Raises:
        UsageError: no data set, a language no data set has, or a data set without a usable pair.
    """
    if not sources:
        raise UsageError("no training data set given")
    if len(sources) == 1:
        columns = as_columns(sources[0].data, sources[0].name)
        return [PairTable(columns, languages=config.languages, exclude_languages=config.exclude_languages)]
    columns = [as_columns(source.data, source.name) for source in sources]
    wanted = config.languages
    if wanted is not None:
        absent = sorted(set(wanted) - {lang for column in columns for lang in column.languages})
        if absent:
            raise UsageError(f"no training data set has language(s) {', '.join(absent)} "
                             f"(data sets: {', '.join(source.name for source in sources)})")
    return [PairTable(column, languages=None if wanted is None else [lang for lang in wanted if lang in
                                                                      column.languages],
                      exclude_languages=config.exclude_languages, source=source.name)
            for source, column in zip(sources, columns, strict=True)]


def batch_sampler(
    config: TrainConfig, tables: Sequence[PairTable], names: Sequence[str], weights: Sequence[float], *,
    world_size: int, sampler_class: type[LanguageBatchSampler] = LanguageBatchSampler,
) -> EpochSampler:
    """The run's sampler: ``sampler_class`` over one table, or a :class:`SourceMixture` of one per table.

    Raises:
        UsageError: bad sampling settings, or a data set that fills no full batch (named).
    """
    options: dict[str, Any] = {
        "kind": config.sampler, "alpha": config.alpha, "weighting": config.weighting,
        "per_example_pairs": config.per_example_pairs, "positives_per_query": config.positives_per_query,
        "world_size": world_size,
    }
    if len(tables) == 1:
        return sampler_class(tables[0], config.batch_size, seed=config.seed, **options)
    samplers = []
    for index, (table, name) in enumerate(zip(tables, names, strict=True)):
        try:
            samplers.append(sampler_class(table, config.batch_size, seed=source_seed(config.seed, index), **options))
        except UsageError as exc:
            raise UsageError(f"data set {name}: {exc}") from None
    return SourceMixture(samplers, names, mixing=config.data_mixing, temperature=config.data_temperature,
                         weights=None if all(weight == 1 for weight in weights) else weights, seed=config.seed)


def pair_texts(table: PairTable | SourceTables, **options: Any) -> PairTexts | MixedPairTexts:
    """The dataset of a sampler's codes: :class:`PairTexts` of one table, :class:`MixedPairTexts` of several."""
    return MixedPairTexts(table, **options) if isinstance(table, SourceTables) else PairTexts(table, **options)
