"""The flagship study's configuration: one base model, one data set, one training recipe, several batching arms.

Fairness is structural: every trained arm gets the same base model, training data, step budget, optimiser settings
and seeds; arms differ only in their batch sampler (and, for hybrid, its alpha; ``multi_positive`` also in its loss).
Presets give the standard sizes (``quick``: a smoke run on a laptop CPU; ``standard``: about 3 hours on a 2-core
CPU, sized to tell arms apart; ``paper`` for a GPU); a YAML/TOML file overrides any key.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from polyret.debias import parse_specs
from polyret.errors import UsageError
from polyret.evaluation.catalog import TASKS, task_names
from polyret.experiments.arm_names import (
    ALIGNMENT_ARMS,
    DEFAULT_ARMS,
    ERASURE_ARMS,
    HYBRID,
    KNOWN_ARMS,
    ArmChoice,
)
from polyret.experiments.task_files import TaskFileEntry, check_task_file_names, study_task_files
from polyret.experiments.training_settings import (
    TrainingSettings,
    TrainingSource,
    shared_options,
    study_training,
)
from polyret.io import read_mapping
from polyret.models.backends import InferenceBackend
from polyret.schema import (
    RESAMPLES_MAX,
    Check,
    at_least,
    between,
    build_dataclass,
    check_ranges,
    distinct,
    each,
    given_dict,
    greater_than,
    seed_range,
    seeds_range,
)
from polyret.training.config import TrainConfig

TRAIN_LANGUAGES = ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh")
SWEEP_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
"""The alpha sweep of the paper preset and of ``polyret experiment --alpha-sweep``."""


@dataclass
class DataSettings:
    """Training data and the in-domain test split.

    Attributes:
        dataset: LAReQA set whose articles are split into training and test folds.
        train_languages: languages trained on (the paper's nine).
        folds: number of article folds (``group_folds``); one is the test fold, the rest train.
        test_fold: index of the test fold.
        fold_seed: seed of the fold assignment.
        train_qa: a user QA JSONL file that replaces the default training data (``load_qa_jsonl`` format).
        max_train_questions: keep only the first N training questions (``None``: all).
        allow_leakage: run even when training texts occur in the in-domain test data (the overlap is reported).
        sources: the training sources, each ``{path: <QA JSONL file>}`` or ``{dataset: <LAReQA set>}`` with an
            optional ``weight`` (:class:`~polyret.experiments.training_settings.TrainingSource`); empty: the
            training folds of ``dataset`` (or ``train_qa``). One source replaces the default training data; several
            need a trainer that mixes data sets and are refused for now.
    """

    dataset: str = "xquad-r"
    train_languages: list[str] = field(default_factory=lambda: list(TRAIN_LANGUAGES))
    folds: int = 4
    test_fold: int = 0
    fold_seed: int = 0
    train_qa: str | None = None
    max_train_questions: int | None = None
    allow_leakage: bool = False
    sources: list[TrainingSource] = field(default_factory=list)

    RANGES: ClassVar[dict[str, Check]] = {
        "fold_seed": seed_range(), "train_languages": distinct(), "folds": at_least(2), "test_fold": at_least(0),
        "max_train_questions": at_least(1),
    }

    def __post_init__(self) -> None:  # mappings given in Python become typed entries
        self.sources = [
            item if isinstance(item, TrainingSource) else TrainingSource.from_config(item, f"data.sources[{i}]")
            for i, item in enumerate(self.sources)
        ]

    def training_source(self) -> TrainingSource:
        """The one source the arms train on: the entry of ``sources``, else ``train_qa``, else the training folds of
        ``dataset``.

        Raises:
            UsageError: several sources (the study trains on one until its trainer mixes data sets), or
                ``sources`` together with ``train_qa``.
        """
        if len(self.sources) > 1:
            raise UsageError(
                f"config key 'data.sources': several training sources need a trainer that mixes data sets, which the "
                f"study does not use yet; give one source (got {len(self.sources)}), or train on one QA JSONL file "
                "holding them all"
            )
        if self.sources and self.train_qa:
            raise UsageError("config keys 'data.sources'/'data.train_qa': give one of them (train_qa is the one-file "
                             "form of sources: [{path: ...}])")
        if self.sources:
            return self.sources[0]
        return TrainingSource(path=self.train_qa) if self.train_qa else TrainingSource(dataset=self.dataset)

    def to_dict(self) -> dict[str, Any]:
        """Plain data; ``sources`` only when set (a config without it keeps the form, and hash, it always had)."""
        values = dataclasses.asdict(self)
        if not self.sources:
            del values["sources"]
        return values


@dataclass
class EvaluationSettings:
    """What every arm is evaluated on, and how large the slices are.

    Attributes:
        in_domain: QA retrieval tasks (``xquad-r`` = the held-out test fold, ``mlqa-r`` = a second QA set).
        domain_shift: tasks from other domains, by their suite names (``clsd-wmt19`` news discrimination de<->fr,
            ``clsd-wmt19-mt`` its English translation, ``ntrex128`` news, ``tico19`` medical, ``tatoeba`` everyday
            sentences; see :mod:`polyret.evaluation.catalog`).
        qa_max_articles: evaluate the in-domain QA sets other than the held-out fold (MLQA-R) on their first N
            articles only (``None``: all).
        max_items: cap on rows per domain-shift task (``None``: all).
        shift_languages: evaluate the multi-way domain-shift corpora (NTREX, TICO, Tatoeba) only on these
            languages plus English (``None``: the suite's languages).
        batch_size: encoding batch size.
        max_seq_length: token limit of every arm's encoder at evaluation, the same for all arms so that the
            zero-shot model and the trained ones see equally long inputs (``None``: ``training.max_seq_length``;
            when that is not set either, each model's own setting).
        with_context: encode LAReQA candidates together with their paragraph (the LAReQA protocol).
        task_files: the user's own task files, each ``{path, kind: in-domain | domain-shift, format?, name?,
            languages?, pivot?, columns?, k?}`` (:class:`~polyret.experiments.task_files.TaskFileEntry`).
        backend: inference backend of every arm's encoder: ``torch`` (the reference), ``onnx`` or ``openvino``
            (see :mod:`polyret.models.backends`; torch when the runtime is not installed).
        precision: ``fp32`` (the reference) or ``bf16``.
    """

    in_domain: list[str] = field(default_factory=lambda: task_names("in-domain", study_default=True))
    domain_shift: list[str] = field(default_factory=lambda: task_names("domain-shift", study_default=True))
    qa_max_articles: int | None = None
    max_items: int | None = None
    shift_languages: list[str] | None = None
    batch_size: int = 32
    max_seq_length: int | None = None
    with_context: bool = True
    task_files: list[TaskFileEntry] = field(default_factory=list)
    backend: str = "torch"
    precision: str = "fp32"

    def __post_init__(self) -> None:  # mappings given in Python become typed entries
        self.task_files = [
            item if isinstance(item, TaskFileEntry) else TaskFileEntry.from_config(item, f"evaluation.task_files[{i}]")
            for i, item in enumerate(self.task_files)
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain data; each task file as the mapping its config gave (the form, and hash, it always had)."""
        return dataclasses.asdict(self) | {"task_files": [given_dict(entry) for entry in self.task_files]}

    def inference_backend(self) -> InferenceBackend:
        """``backend`` and ``precision`` as an :class:`~polyret.models.backends.InferenceBackend`."""
        try:
            return InferenceBackend(self.backend, self.precision)
        except UsageError as exc:
            raise UsageError(f"config keys 'evaluation.backend'/'evaluation.precision': {exc}") from None

    RANGES: ClassVar[dict[str, Check]] = {
        "in_domain": distinct(non_empty=False), "domain_shift": distinct(non_empty=False),
        "qa_max_articles": at_least(1), "max_items": at_least(1), "shift_languages": distinct(),
        "batch_size": at_least(1), "max_seq_length": at_least(1),
    }


@dataclass
class ExperimentConfig:
    """The whole study.

    Attributes:
        name: run name (default output folder ``runs/<name>``).
        base_model: model path, hub name or alias every arm starts from.
        arms: the arms (:class:`~polyret.experiments.arm_names.ArmChoice`), each a mapping ``{name, alpha?,
            loss_terms?}`` or its spelling: ``zero-shot``, ``mixed``, ``st_default``, ``monolingual``,
            ``cross_lingual``, ``hybrid``, ``hybrid@<alpha>``, or ``multi_positive`` (questions with their answer in
            ``training.positives_per_query`` languages per batch, every translation a positive); a trained arm
            followed by ``+erasure`` and/or ``+alignment`` (e.g. ``hybrid+erasure``) also trains with that loss
            term.
        hybrid_alpha: probability of a monolingual batch in the ``hybrid`` arm.
        erasure_weight: the language-erasure weight of ``+erasure`` arms (``TrainConfig.erasure_weight``).
        alignment_weight: the parallel-query alignment weight of ``+alignment`` arms
            (``TrainConfig.alignment_weight``).
        alpha_sweep: extra ``hybrid@alpha`` arms (empty: no sweep).
        seeds: one trained run per arm and seed.
        significance_level: p-value below which a difference counts as significant.
        significance_resamples: resamples of the paired tests over queries (more: steadier p-values, slower).
        equivalence_margin_map: a difference of mAP (or another ranking score) within ± this counts as no
            practical difference (TOST).
        equivalence_margin_accuracy: the same for accuracy and P@1 (0.01 = 1 point).
        equivalence_margin_bias: the same for the language bias, in ranks (the recipe comparisons test it).
        smoke_scale: the study is sized to check the pipeline, not to answer the question; its answer says so.
        reference_models: frozen encoders evaluated beside the arms as they come, never trained (e.g.
            ``use-multilingual``): reference points in the tables, not part of the answer.
        debias: post-hoc debiasing methods (``center``, ``lir[:rank]``, ``lsar[:rank]``, ``shift[:scale]``, see
            :mod:`polyret.debias`) applied to every arm's stored embeddings, each adding a row
            ``"<arm> + <method>"``; fitted on the training articles (or ``data.train_qa``), never on test data.
        debias_reference_articles: fit the debiasing methods on the first N training articles only (in the order of
            the data set; ``None``: all). Encoding the reference costs each arm as much as a test set of that size.
        keep_checkpoints: keep each trained arm's checkpoints (optimizer state included, the last step's too) after
            its training finished; by default only the final model is kept, since checkpoints serve only to resume,
            and the last step is not checkpointed.
        training: options of :class:`~polyret.training.config.TrainConfig` shared by every trained arm
            (:data:`~polyret.experiments.training_settings.TrainingSettings`; ``max_steps`` is required so every arm
            trains for the same number of steps; ``model``, ``sampler``, ``alpha``, ``seed``, ``resume`` and
            ``data`` are set by the study).
    """

    name: str = "experiment"
    base_model: str = "multilingual-e5-small"
    arms: list[ArmChoice] = field(default_factory=lambda: [ArmChoice(name) for name in DEFAULT_ARMS])
    hybrid_alpha: float = 0.5
    erasure_weight: float = 100.0
    alignment_weight: float = 1.0
    alpha_sweep: list[float] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [13])
    significance_level: float = 0.05
    significance_resamples: int = 10_000
    equivalence_margin_map: float = 0.01
    equivalence_margin_accuracy: float = 0.01
    equivalence_margin_bias: float = 5.0
    smoke_scale: bool = False
    reference_models: list[str] = field(default_factory=list)
    keep_checkpoints: bool = False
    debias: list[str] = field(default_factory=list)
    debias_reference_articles: int | None = None
    training: TrainingSettings = field(default_factory=lambda: study_training({}))
    data: DataSettings = field(default_factory=DataSettings)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)

    RANGES: ClassVar[dict[str, Check]] = {
        "arms": distinct(), "hybrid_alpha": between(0.0, 1.0),
        "alpha_sweep": each(between(0.0, 1.0), also=distinct(non_empty=False)),
        "seeds": seeds_range(), "significance_level": between(0.0, 1.0, low_open=True, high_open=True),
        "significance_resamples": between(100, RESAMPLES_MAX),
        "reference_models": distinct(non_empty=False), "equivalence_margin_map": greater_than(0),
        "equivalence_margin_accuracy": greater_than(0), "equivalence_margin_bias": greater_than(0),
        "debias_reference_articles": at_least(1), "erasure_weight": greater_than(0),
        "alignment_weight": greater_than(0),
    }

    def __post_init__(self) -> None:  # the spellings and mappings of Python callers become typed settings
        self.arms = [arm if isinstance(arm, ArmChoice) else ArmChoice.from_config(arm, f"arms[{i}]")
                     for i, arm in enumerate(self.arms)]
        if isinstance(self.training, dict):
            self.training = study_training(self.training)

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the form the config was written: arms by their spelling, ``training`` as the options
        given (what a study's ``results.json`` and report show)."""
        values = {spec.name: copy.deepcopy(getattr(self, spec.name)) for spec in dataclasses.fields(self)}
        return values | {"arms": [str(arm) for arm in self.arms], "training": given_dict(self.training),
                         "data": self.data.to_dict(), "evaluation": self.evaluation.to_dict()}


PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        "name": "quick",
        "base_model": "multilingual-e5-small",
        "reference_models": ["use-multilingual"],
        "seeds": [13],
        "smoke_scale": True,
        "training": {
            # no periodic checkpoint: an arm trains for about a minute, and Ctrl-C or SIGTERM still checkpoints it
            "max_steps": 30, "batch_size": 16, "lr": 3e-5, "max_seq_length": 96, "freeze_word_embeddings": True,
            "save_steps": 30,
        },
        "data": {"folds": 16, "test_fold": 0},
        "evaluation": {
            "qa_max_articles": 5, "max_items": 60, "shift_languages": ["ar", "de", "zh", "el", "vi"], "batch_size": 32,
        },
    },
    # Sized for about 3 hours on an idle 2-core CPU (docs/experiment.md, "The standard study"): every arm, 3 seeds,
    # centering and LSAR rows fitted on 6 training articles (a SHIFT row would re-encode every task the earlier
    # arms lend, about an hour more); evaluation on OpenVINO bf16 (about 2x torch fp32 on
    # CPUs with AVX-512 BF16; where that runtime is missing it falls back to torch fp32 with one warning).
    "standard": {
        "name": "standard",
        "base_model": "multilingual-e5-small",
        "arms": [*KNOWN_ARMS, *ERASURE_ARMS, *ALIGNMENT_ARMS],
        "seeds": [13, 42, 87],
        "debias": ["center", "lsar"],
        "debias_reference_articles": 6,
        "training": {
            "max_steps": 50, "batch_size": 16, "lr": 3e-5, "max_seq_length": 96, "freeze_word_embeddings": True,
            "save_steps": 25,
        },
        "data": {"folds": 8, "test_fold": 0},
        "evaluation": {
            # MLQA-R in full (all its articles; none shares text with the training data): enough questions to
            # decide its monolingual and cross-lingual equivalence cells
            "qa_max_articles": None, "max_items": 1500, "shift_languages": ["de", "zh", "el"], "batch_size": 32,
            "backend": "openvino", "precision": "bf16",
        },
    },
    "paper": {
        "name": "paper",
        "base_model": "FacebookAI/xlm-roberta-base",
        "seeds": [13, 42, 87],
        "arms": list(KNOWN_ARMS),
        "alpha_sweep": list(SWEEP_ALPHAS),
        "training": {"max_steps": 2000, "batch_size": 100, "lr": 3e-5, "max_seq_length": 256},
        "data": {"folds": 4, "test_fold": 0},
    },
}


def load_config(path: str | Path | None = None, *, preset: str | None = None) -> ExperimentConfig:
    """The config of ``preset`` (default: built-in defaults) with the keys of the file at ``path`` applied.

    Raises:
        UsageError: unknown preset, unknown key, wrong type, or inconsistent values.
    """
    config = ExperimentConfig()
    if preset is not None:
        if preset not in PRESETS:
            raise UsageError(f"unknown preset {preset!r} (expected one of: {', '.join(PRESETS)})")
        config = build_dataclass(ExperimentConfig, PRESETS[preset])
    if path is None:
        validate(config)
        return config
    try:
        config = build_dataclass(ExperimentConfig, read_mapping(path), base=config)
        validate(config)
    except UsageError as exc:
        message = str(exc)
        raise UsageError(message if message.startswith(str(path)) else f"{path}: {message}") from None
    return config


_FOLDER_NAME = re.compile(r"\w[\w.-]*")
"""A name that stays one folder below where it is joined: no separators, no ``..``, not hidden."""


def validate(config: ExperimentConfig) -> None:
    """Check what types and ranges alone cannot: names, the fold index, and every trained arm's training options
    together (the schema checked each value's range when the config was built).

    Raises:
        UsageError: naming the key and the expected value.
    """
    if not _FOLDER_NAME.fullmatch(config.name):
        raise UsageError(
            f"config key 'name': {config.name!r} is not a plain folder name (the study writes runs/<name>; use "
            "letters, digits, '.', '_' and '-', starting with a letter or digit)"
        )
    for section, where in ((config, ""), (config.training, "training"), (config.data, "data"),
                           (config.evaluation, "evaluation")):
        check_ranges(section, where)  # again: a config changed in Python after it was built
    if config.training.max_steps is None:
        raise UsageError("config key 'training.max_steps': required, so that every arm trains for the same steps")
    try:
        parse_specs(config.debias)
    except UsageError as exc:
        raise UsageError(f"config key 'debias': {exc}") from None
    for arm in dict.fromkeys([*config.arms, ArmChoice(HYBRID)]):  # hybrid: its options are the study's defaults
        if arm.trained:
            train_config(config, arm, seed=config.seeds[0])
    data = config.data
    data.training_source()
    if not data.test_fold < data.folds:
        raise UsageError(
            f"config keys 'data.folds'/'data.test_fold': need folds >= 2 and 0 <= test_fold < folds, "
            f"got folds={data.folds}, test_fold={data.test_fold}"
        )
    _check_names(config.evaluation.in_domain, task_names("in-domain"), "evaluation.in_domain")
    config.evaluation.inference_backend()
    _check_names(config.evaluation.domain_shift, [n for n in task_names() if n not in task_names("in-domain")],
                 "evaluation.domain_shift")
    check_task_file_names(study_task_files(config.evaluation.task_files), TASKS)


def train_config(config: ExperimentConfig, arm: ArmChoice, *, seed: int) -> TrainConfig:
    """The training config of a trained ``arm`` at ``seed``: the study's shared options plus the arm's design, alpha
    (hybrid: the arm's, else the study's ``hybrid_alpha``) and the weights of its loss terms (the study's
    ``<term>_weight``).

    Raises:
        UsageError: options that do not combine (e.g. a loss term with ``cached``), naming the ``training`` key.
    """
    options = {**shared_options(config.training), "model": config.base_model, "sampler": arm.name, "seed": seed}
    if arm.name == HYBRID:
        options["alpha"] = config.hybrid_alpha if arm.alpha is None else arm.alpha
    options.update({f"{term}_weight": getattr(config, f"{term}_weight") for term in arm.loss_terms})
    return TrainConfig.from_dict(options, where="training")


def is_alpha_variant(arm: dict[str, Any]) -> bool:
    """Whether a stored arm (``ArmSpec`` as a dict) is plain hybrid at some alpha: no loss term on top."""
    return arm.get("sampler") == HYBRID and not arm.get("loss_terms")


def _check_names(names: list[str], known: list[str], key: str) -> None:
    for name in names:
        if name not in known:
            raise UsageError(f"config key {key!r}: unknown task {name!r} (expected one of: {', '.join(known)})")
