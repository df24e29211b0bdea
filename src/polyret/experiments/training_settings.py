"""The study's training settings: the options of :class:`~polyret.training.config.TrainConfig` that every trained arm
shares, and the training sources of its ``data`` section.

:class:`TrainingSettings` is generated from ``TrainConfig``'s own fields, types, defaults and ``RANGES``, less the
options the study sets itself per arm (``STUDY_OWNED_OPTIONS``), so the two never drift apart. A study requires
``max_steps`` (every arm trains for the same number of steps; :data:`DEFAULT_TRAINING` gives 1000). The section
records the keys its config set and reads as the mapping of them (``settings["lr"]``,
:func:`~polyret.schema.given_dict`), the form a study's ``results.json`` and report show.

Example:
    >>> settings = study_training({"lr": 1e-4, "batch_size": 16})
    >>> settings.max_steps, settings.weight_decay, dict(settings)
    (1000, 0.01, {'max_steps': 1000, 'lr': 0.0001, 'batch_size': 16})

Relations: :func:`polyret.experiments.config.train_config` adds an arm's design, alpha, seed and loss terms to make
its ``TrainConfig``; :class:`TrainingSource` entries are read by :mod:`polyret.experiments.study_data`.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from polyret.errors import UsageError
from polyret.schema import Check, build_dataclass, config_keys, given_keys, given_keys_field, greater_than
from polyret.training.config import TrainConfig

STUDY_OWNED_OPTIONS = {
    "model": "base_model", "sampler": "arms", "alpha": "hybrid_alpha and arms", "seed": "seeds",
    "resume": "the study's --resume/--force", "data": "the data section",
}
"""``TrainConfig`` options the study sets for each arm, and the study key that sets each."""
DEFAULT_TRAINING = {"max_steps": 1000}
"""The ``training`` section of a study config that sets none."""


def _field(spec: dataclasses.Field, hint: Any) -> tuple[str, Any, Any]:
    if spec.default_factory is not dataclasses.MISSING:
        return spec.name, hint, dataclasses.field(default_factory=spec.default_factory)
    return spec.name, hint, dataclasses.field(default=spec.default)


class _GivenMapping(Mapping[str, Any]):
    """Reads a settings object as the mapping of the keys its config set (``given_keys``)."""

    def __getitem__(self, key: str) -> Any:
        if key not in given_keys(self):
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(given_keys(self))

    def __len__(self) -> int:
        return len(given_keys(self))


def _training_settings() -> type:
    hints = typing.get_type_hints(TrainConfig)
    fields = [_field(spec, hints[spec.name]) for spec in dataclasses.fields(TrainConfig)
              if spec.name not in STUDY_OWNED_OPTIONS]
    shared = {name for name, _, _ in fields}
    namespace = {
        "__module__": __name__,
        "__doc__": "The ``training`` section of a study: every option of ``TrainConfig`` except "
                   f"{', '.join(STUDY_OWNED_OPTIONS)} (set by the study per arm).",
        "RANGES": {key: check for key, check in TrainConfig.RANGES.items() if key in shared},
        "NOT_CONFIG_KEYS": {key: f"set by the study (use {owner})" for key, owner in STUDY_OWNED_OPTIONS.items()},
    }
    fields.append(("given_keys", tuple[str, ...], given_keys_field()))
    return dataclasses.make_dataclass("TrainingSettings", fields, bases=(_GivenMapping,), namespace=namespace)


TrainingSettings: Any = _training_settings()
"""The study's ``training`` section (a dataclass generated from ``TrainConfig``; see the module docstring)."""


def study_training(values: dict[str, Any], *, base: Any = None) -> Any:
    """The :data:`TrainingSettings` of ``values`` applied to ``base`` (default: :data:`DEFAULT_TRAINING`).

    Raises:
        UsageError: naming the key (``training.lr``).
    """
    if base is None:
        base = build_dataclass(TrainingSettings, DEFAULT_TRAINING, where="training")
    return build_dataclass(TrainingSettings, values, base=base, where="training")


def shared_options(settings: Any) -> dict[str, Any]:
    """Every option of a :data:`TrainingSettings` (given or default), ready to join an arm's own in a TrainConfig."""
    return {key: getattr(settings, key) for key in config_keys(type(settings))}


@dataclass(frozen=True)
class TrainingSource:
    """One training source of a study's ``data.sources``.

    Attributes:
        path: a QA JSONL file (``load_qa_jsonl`` format).
        dataset: a built-in LAReQA set: the study's ``data.dataset`` gives its training folds, another its every
            article.
        weight: the share of batches drawn from this source relative to the others (``None``: by its size).
    """

    path: str | None = None
    dataset: str | None = None
    weight: float | None = None

    RANGES: ClassVar[dict[str, Check]] = {"weight": greater_than(0)}

    @classmethod
    def from_config(cls, value: Any, where: str) -> TrainingSource:
        """A source from its config mapping (``{path: ...}`` or ``{dataset: ...}``, optionally ``weight``).

        Raises:
            UsageError: naming ``where``: not exactly one of ``path`` and ``dataset``, or a bad value.
        """
        source = build_dataclass(cls, value, where=where)
        if (source.path is None) == (source.dataset is None):
            raise UsageError(f"config key {where!r}: give exactly one of 'path' (a QA JSONL file) and 'dataset' "
                             "(a built-in LAReQA set)")
        return source
