"""Training configuration: one dataclass, every CLI flag, loadable from and saved to YAML (or read from TOML).

The defaults are the paper's protocol (Elmahdy et al. 2024, §3.1 / App. A.1): shared encoder, cosine similarity,
in-batch-negative InfoNCE (``MultipleNegativesRankingLoss``), "Query: "/"Passage: " prefixes, AdamW with weight
decay 0.01, learning rate 3e-5, batch size 100, hybrid batches with alpha 0.5. :meth:`TrainConfig.paper` also holds
out Greek and Vietnamese, as the paper does.

Choices the paper leaves open, made here and documented in ``docs/training.md``:

- ``scale`` 20 (temperature 0.05). The paper's InfoNCE shows no temperature; with cosine scores in [-1, 1] a scale
  of 1 barely separates positives from negatives, so we keep sentence-transformers' default.
- ``warmup_ratio`` 0.1, one epoch, ``max_seq_length`` from the model, answers encoded with their paragraph
  (``with_context``, as LAReQA encodes candidates).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from polyret import schema
from polyret.errors import UsageError
from polyret.io import atomic_write, read_json, read_mapping
from polyret.schema import Check, at_least, between, build_dataclass, check_ranges, distinct, greater_than, one_of
from polyret.training.layout import RunFolder

PAPER_HELD_OUT_LANGUAGES = ("el", "vi")
DATA_TEMPERATURE = 2.0
"""The default ``T`` of temperature mixing (square-root sampling, as XLM; XLM-R and mT5 use about 3.3)."""


@dataclass(slots=True)
class TrainConfig:
    """Everything that fixes a training run.

    Attributes:
        model: model directory, polyret alias or Hub name to start from.
        data: ``xquad-r`` / ``mlqa-r``, a QA JSONL file or a prepared corpus folder, or a list of them to train on
            several data sets at once, each batch from one (used by the CLI; :func:`train` takes the data).
        data_weights: one factor per data set of ``data`` on its share of the batches (``None``: all 1).
        data_mixing: how the data set of each batch is drawn with several data sets: ``size`` (in proportion to
            the batches each fills, the paper's default), ``temperature`` (``p ∝ n ** (1 / data_temperature)``,
            favouring small data sets) or ``uniform`` (:class:`~polyret.sampling.Mixing`).
        data_temperature: ``T`` of ``temperature`` mixing (2: square-root sampling; 1 is ``size``).
        sampler: the batch design: monolingual, cross_lingual, hybrid, mixed, english, st_default or
            multi_positive (:class:`~polyret.sampling.SamplerKind`).
        alpha: hybrid: probability that a batch is monolingual.
        weighting: ``uniform`` or ``proportional`` draw of each batch's language (pair).
        per_example_pairs: cross-lingual batches draw the pair X != Y per example, not per batch.
        positives_per_query: ``multi_positive``: answer languages per question in a batch (M); a batch holds
            ``batch_size / M`` questions, so the same number of pairs as the other designs.
        batch_size: pairs per batch on one device (global batch = batch_size x devices).
        lr: peak learning rate (AdamW).
        weight_decay: AdamW weight decay.
        warmup_ratio: share of the steps spent warming the learning rate up (then linear decay).
        epochs: training length in passes over the sampler's batches.
        max_steps: training length in optimizer steps; wins over ``epochs`` when set.
        scale: inverse temperature of the InfoNCE softmax over cosine scores.
        symmetric: add the passage-to-query direction to the loss.
        cached: use the gradient-cached loss (GradCache) so big batches fit.
        erasure_weight: weight of the language-erasure penalty added to the ranking loss (0: none): the squared
            Frobenius norm of the cross-covariance between a batch's embeddings and their language one-hot
            (:class:`~polyret.training.language_losses.LanguageErasureLoss`); zero in a monolingual batch.
        alignment_weight: weight of the parallel-query alignment term (0: none): a symmetric KL between the score
            distributions of each query and its translation over the batch's passages
            (:class:`~polyret.training.language_losses.ParallelQueryAlignmentLoss`).
        hard_negatives: hard negatives per pair added to the loss (0: in-batch negatives alone): the first ``k``
            of the row's ``negatives`` in the passage's language (a cross-lingual pair, query in X and passage in
            Y, takes them in Y), extra candidate columns of the InfoNCE loss. Training refuses to start when a
            usable row has fewer than ``k`` there (``polyret data mine-negatives`` mines them).
        mini_batch_size: texts per forward pass of the gradient-cached loss.
        max_seq_length: truncate inputs to this many tokens (``None``: the model's setting).
        precision: ``auto`` (bf16 or fp16 on a GPU that has it, else fp32), ``fp32``, ``fp16`` or ``bf16``.
        with_context: encode an answer followed by its paragraph.
        languages: train on these languages only.
        exclude_languages: train without these (held-out) languages, e.g. the paper's ``el`` and ``vi``.
        freeze_word_embeddings: keep the input word embeddings fixed.
        query_prompt: prefix of queries, used when the model has no ``query`` prompt.
        passage_prompt: prefix of passages, used when the model has no ``passage`` prompt.
        eval_steps: evaluate the validation loss every N steps (needs eval data).
        early_stopping_patience: evaluations without improvement before stopping (``None``: no early stopping).
        save_steps: save a checkpoint every N steps.
        save_total_limit: keep the newest K checkpoints (``None``: all).
        logging_steps: write a log line (mean loss, learning rate, language plans) every N steps. 1 logs every
            step's plan and batch ids; on a fast GPU a larger N avoids a device synchronisation per step.
        seed: seed of sampling, initialisation and dropout.
        resume: continue from the newest checkpoint in the output directory.
    """

    model: str = ""
    data: str | list[str] = ""
    data_weights: list[float] | None = None
    data_mixing: str = "size"
    data_temperature: float = DATA_TEMPERATURE
    sampler: str = "hybrid"
    alpha: float = 0.5
    weighting: str = "uniform"
    per_example_pairs: bool = False
    positives_per_query: int = 4
    batch_size: int = 100
    lr: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    epochs: float = 1.0
    max_steps: int | None = None
    scale: float = 20.0
    symmetric: bool = False
    cached: bool = False
    erasure_weight: float = 0.0
    alignment_weight: float = 0.0
    hard_negatives: int = 0
    mini_batch_size: int = 32
    max_seq_length: int | None = None
    precision: str = "auto"
    with_context: bool = True
    languages: list[str] | None = None
    exclude_languages: list[str] = field(default_factory=list)
    freeze_word_embeddings: bool = False
    query_prompt: str = "Query: "
    passage_prompt: str = "Passage: "
    eval_steps: int = 100
    early_stopping_patience: int | None = None
    save_steps: int = 500
    save_total_limit: int | None = 2
    logging_steps: int = 1
    seed: int = 42
    resume: bool = False

    RANGES: ClassVar[dict[str, Check]] = {
        "data": Check(lambda data: isinstance(data, str) or (bool(data) and len(set(data)) == len(data)),
                      "a name or path, or a non-empty list of distinct ones"),
        "data_weights": Check(lambda weights: bool(weights) and all(weight > 0 for weight in weights),
                              "a non-empty list of numbers > 0"),
        "data_mixing": one_of(lambda: _choices("Mixing")),
        "data_temperature": greater_than(0),
        "sampler": one_of(lambda: _choices("SamplerKind")),
        "weighting": one_of(lambda: _choices("Weighting")),
        "precision": one_of(lambda: ("auto", "fp32", "fp16", "bf16")),
        "alpha": between(0.0, 1.0),
        "seed": schema.seed_range(),
        "batch_size": Check(lambda size: size >= 2, ">= 2 (a batch of one pair has no in-batch negatives)"),
        "mini_batch_size": at_least(1),
        "positives_per_query": at_least(1),
        "lr": greater_than(0),
        "weight_decay": at_least(0),
        "warmup_ratio": between(0.0, 1.0, high_open=True),
        "epochs": greater_than(0),
        "max_steps": at_least(1),
        "scale": greater_than(0),
        "erasure_weight": at_least(0),
        "alignment_weight": at_least(0),
        "hard_negatives": at_least(0),
        "max_seq_length": at_least(1),
        "languages": distinct(),
        "exclude_languages": distinct(non_empty=False),
        "eval_steps": at_least(1),
        "early_stopping_patience": at_least(0),
        "save_steps": at_least(1),
        "save_total_limit": at_least(0),
        "logging_steps": at_least(1),
    }

    IDENTITY_NEUTRAL_DEFAULTS: ClassVar[dict[str, Any]] = {
        "erasure_weight": 0.0, "alignment_weight": 0.0, "hard_negatives": 0, "data_weights": None,
        "data_mixing": "size", "data_temperature": DATA_TEMPERATURE,
    }
    """Options added after runs were stored under a hash of their config: at these values they leave a run's
    identity (:meth:`identity`) unchanged, so runs stored before they existed are still found."""

    @classmethod
    def paper(cls, model: str, **overrides: Any) -> TrainConfig:
        """The paper's preset: the defaults above, training without Greek and Vietnamese (zero-shot languages)."""
        return cls.from_dict({"model": model, "exclude_languages": list(PAPER_HELD_OUT_LANGUAGES), **overrides})

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str | None = None, where: str = "") -> TrainConfig:
        """Build a config through the one config schema (:mod:`polyret.schema`): keys, types and ranges.

        Args:
            values: option names to values.
            source: the file the values came from, named first in errors.
            where: the dotted key holding the options in a larger config (e.g. ``training``).

        Raises:
            UsageError: an unknown key, a value of the wrong type or out of range, naming the key.
        """
        try:
            config = build_dataclass(cls, values, where=where)
            config.check_combinations(where)
            return config
        except UsageError as exc:
            raise UsageError(f"{source}: {exc}" if source else str(exc)) from None

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a YAML (``.yaml``/``.yml``/``.json``) or TOML (``.toml``) config file."""
        return cls.from_dict(read_mapping(path), source=str(path))

    @classmethod
    def from_run(cls, run_dir: str | Path) -> TrainConfig:
        """The configuration a training run was started with (the options in its ``config.json``).

        Raises:
            UsageError: ``run_dir`` holds no ``config.json``.
        """
        path = RunFolder(Path(run_dir)).config
        if not path.is_file():
            raise UsageError(f"{run_dir}: no config.json, so not a polyret training run to resume")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls.from_dict({key: value for key, value in read_json(path).items() if key in known}, source=str(path))

    def save(self, path: str | Path) -> None:
        """Write the config as YAML (atomically)."""
        with atomic_write(path) as handle:
            yaml.safe_dump(self.to_dict(), handle, sort_keys=False, allow_unicode=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON/YAML-serialisable values."""
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """The options that determine what is trained, for hashing a run: :meth:`to_dict` without ``resume`` and
        without the options of ``IDENTITY_NEUTRAL_DEFAULTS`` that hold their neutral value."""
        options = self.to_dict()
        options.pop("resume")
        return {key: value for key, value in options.items()
                if key not in self.IDENTITY_NEUTRAL_DEFAULTS or value != self.IDENTITY_NEUTRAL_DEFAULTS[key]}

    def replace(self, **changes: Any) -> TrainConfig:
        """A checked copy with some options changed (``None`` values are ignored: flags the user did not give)."""
        given = {key: value for key, value in changes.items() if value is not None}
        return TrainConfig.from_dict({**self.to_dict(), **given})

    def validate(self, source: str | None = None) -> None:
        """Check value ranges and choices that types alone do not fix (see ``RANGES``)."""
        try:
            check_ranges(self)
            self.check_combinations()
        except UsageError as exc:
            raise UsageError(f"{source}: {exc}" if source else str(exc)) from None

    def check_combinations(self, where: str = "") -> None:
        """Checks of options that only make sense together (the multi-positive sampler's batch layout, the
        language terms' need of the whole batch's embeddings).

        Raises:
            UsageError: naming the key (dotted below ``where``).
        """
        prefix = f"{where}." if where else ""
        self._check_data_mixing(prefix)
        if self.cached and (self.erasure_weight or self.alignment_weight):
            key = "erasure_weight" if self.erasure_weight else "alignment_weight"
            raise UsageError(f"config key '{prefix}{key}': the language terms need the whole batch's embeddings at "
                             "once, so they do not combine with cached (turn one of them off)")
        if self.sampler != "multi_positive":
            return
        if self.batch_size % self.positives_per_query:
            raise UsageError(
                f"config key '{prefix}batch_size': must be a multiple of positives_per_query "
                f"({self.positives_per_query}) with the multi_positive sampler, got {self.batch_size}"
            )
        if self.symmetric or self.cached or self.hard_negatives:
            raise UsageError(f"config key '{prefix}sampler': multi_positive has no symmetric, cached or "
                             "hard-negative loss (use another design with those options)")

    def _check_data_mixing(self, prefix: str) -> None:
        """One weight per data set; a temperature only with temperature mixing (it would be ignored)."""
        if self.data_weights is not None:
            count = len(self.data) if isinstance(self.data, list) else 1
            if len(self.data_weights) != count:
                raise UsageError(f"config key '{prefix}data_weights': one weight per data set of 'data' ({count}), "
                                 f"got {len(self.data_weights)}")
        if self.data_mixing != "temperature" and self.data_temperature != DATA_TEMPERATURE:
            raise UsageError(f"config key '{prefix}data_temperature': applies only with data_mixing temperature "
                             f"(data_mixing is {self.data_mixing})")


def _choices(enum_name: str) -> tuple[str, ...]:
    """The values of a sampling enum (imported late: :mod:`polyret.sampling` loads torch)."""
    import polyret.sampling

    return tuple(member.value for member in getattr(polyret.sampling, enum_name))
