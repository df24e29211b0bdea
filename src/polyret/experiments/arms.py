"""The arms of the study and the hash that names each arm's run folder.

An arm is one batching strategy (plus alpha) trained with one seed; the zero-shot arm is the untouched base model.
Its run folder ``arms/<run name>-<hash>`` is keyed by a hash of everything that determines its results, so a
changed setting gives a new folder and an unchanged one finds its finished result.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from polyret.experiments.config import (
    HYBRID,
    ZERO_SHOT,
    ExperimentConfig,
    parse_arm,
    split_loss_terms,
    train_config,
)
from polyret.training.config import TrainConfig

HASH_LENGTH = 10
# Bump when the meaning of a stored arm result changes, so old results are recomputed rather than trusted.
RESULT_FORMAT = 1
UNHASHED_DATA_KEYS = frozenset({"allow_leakage"})
"""``data`` keys that permit a run without changing its results (the data themselves enter via their digest)."""


@dataclass(frozen=True)
class ArmSpec:
    """One run of the study.

    Attributes:
        label: the arm as tables show it (seeds pooled), e.g. ``"hybrid"`` or ``"hybrid@0.25"``.
        sampler: the batch sampler kind, ``None`` for the zero-shot arm.
        alpha: probability of a monolingual batch (hybrid arms only).
        seed: training seed (``None`` for the zero-shot arm, which is not trained).
        model: a reference encoder evaluated instead of the base model (never trained); ``None`` for the arms.
        loss_terms: loss terms trained on top of the sampler's loss (``"erasure"``, ``"alignment"``).
    """

    label: str
    sampler: str | None
    alpha: float | None = None
    seed: int | None = None
    model: str | None = None
    loss_terms: tuple[str, ...] = ()

    @property
    def trained(self) -> bool:
        return self.sampler is not None

    @property
    def run_name(self) -> str:
        """The label plus the seed, e.g. ``"hybrid-s13"``; ``"reference-<model>"`` for a reference encoder."""
        if self.model is not None:
            return "reference-" + re.sub(r"[^A-Za-z0-9._-]+", "-", self.model).strip("-.")
        return self.label if self.seed is None else f"{self.label}-s{self.seed}"


def reference_arm(model: str) -> ArmSpec:
    """The frozen reference encoder ``model`` (an alias, path or Hub name), labelled ``"<model> (zero-shot)"``."""
    return ArmSpec(f"{model} (zero-shot)", None, model=model)


def alpha_label(alpha: float) -> str:
    """The label of the hybrid arm with ``alpha``, e.g. ``"hybrid@0.25"``."""
    return f"{HYBRID}@{alpha:g}"


def expand_arms(config: ExperimentConfig) -> list[ArmSpec]:
    """Every run of the study: zero-shot once, then the configured arms and the alpha sweep seed by seed."""
    specs: list[ArmSpec] = []
    labels: list[tuple[str, str, float | None, tuple[str, ...]]] = []
    for name in config.arms:
        kind, alpha = parse_arm(name)
        terms = split_loss_terms(name)[1]
        if kind == HYBRID:
            alpha = config.hybrid_alpha if alpha is None else alpha
            name = "+".join([_hybrid_name(config, alpha), *terms])
        labels.append((name, kind, alpha, terms))
    labels += [(_hybrid_name(config, alpha), HYBRID, alpha, ()) for alpha in config.alpha_sweep]
    labels = list(dict.fromkeys(labels))  # a name fixes its kind, alpha and terms: equal names are equal entries
    if any(kind == ZERO_SHOT for _, kind, _, _ in labels):
        specs.append(ArmSpec(ZERO_SHOT, None))
    for seed in config.seeds:  # seed by seed: a study stopped halfway has every arm at its first seeds
        specs.extend(ArmSpec(name, kind, alpha, seed, loss_terms=terms)
                     for name, kind, alpha, terms in labels if kind != ZERO_SHOT)
    specs.extend(reference_arm(model) for model in dict.fromkeys(config.reference_models))
    return specs


def _hybrid_name(config: ExperimentConfig, alpha: float) -> str:
    """``hybrid`` at the configured alpha, ``hybrid@<alpha>`` elsewhere."""
    return HYBRID if alpha == config.hybrid_alpha else alpha_label(alpha)


def resolved_arm_config(
    config: ExperimentConfig, arm: ArmSpec, *, eval_inputs: dict[str, Any], train_inputs: dict[str, Any]
) -> dict[str, Any]:
    """Everything that determines ``arm``'s results, as plain JSON data.

    Args:
        config: the study.
        arm: the run.
        eval_inputs: the evaluation data actually used (file checksums, test articles).
        train_inputs: the training data actually used (ignored for the zero-shot arm, which is not trained).
    """
    spec = dataclasses.asdict(arm)
    if not arm.loss_terms:  # arms without loss terms keep the hash they had before terms existed
        del spec["loss_terms"]
    resolved: dict[str, Any] = {
        "format": RESULT_FORMAT,
        "arm": spec,
        "base_model": arm.model or config.base_model,
        "evaluation": dataclasses.asdict(config.evaluation),
        "eval_inputs": eval_inputs,
    }
    if arm.trained:
        resolved["training"] = arm_train_config(config, arm).identity()
        resolved["data"] = {k: v for k, v in dataclasses.asdict(config.data).items() if k not in UNHASHED_DATA_KEYS}
        resolved["train_inputs"] = train_inputs
    return resolved


def arm_train_config(config: ExperimentConfig, arm: ArmSpec) -> TrainConfig:
    """The training config of the trained ``arm``: the study's options with its sampler, alpha, seed and loss terms."""
    assert arm.sampler is not None and arm.seed is not None  # trained arms have both (expand_arms)
    return train_config(config, arm.sampler, alpha=arm.alpha, seed=arm.seed, loss_terms=arm.loss_terms)


def config_hash(resolved: dict[str, Any]) -> str:
    """A short stable hash of a resolved arm config (canonical JSON, sha256)."""
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:HASH_LENGTH]
