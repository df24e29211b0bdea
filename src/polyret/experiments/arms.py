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
from dataclasses import dataclass, field
from typing import Any

from polyret.experiments.arm_names import HYBRID, ArmChoice
from polyret.experiments.config import ExperimentConfig, train_config
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
        training: the training config of a trained arm, built once by :func:`expand_arms` (``None``: not trained,
            or an arm made by hand, whose config :func:`arm_train_config` builds); not part of the arm's identity.
    """

    label: str
    sampler: str | None
    alpha: float | None = None
    seed: int | None = None
    model: str | None = None
    loss_terms: tuple[str, ...] = ()
    training: TrainConfig | None = field(default=None, compare=False, repr=False)

    @property
    def trained(self) -> bool:
        return self.sampler is not None

    def identity(self) -> dict[str, Any]:
        """The arm as it enters the hash: its fields but ``training`` (which enters whole, beside it), and
        ``loss_terms`` only when it has some (arms without keep the hash they had before terms existed)."""
        spec = {key: value for key, value in dataclasses.asdict(self).items() if key != "training"}
        if not self.loss_terms:
            del spec["loss_terms"]
        return spec

    @property
    def run_name(self) -> str:
        """The label plus the seed, e.g. ``"hybrid-s13"``; ``"reference-<model>"`` for a reference encoder."""
        if self.model is not None:
            return "reference-" + re.sub(r"[^A-Za-z0-9._-]+", "-", self.model).strip("-.")
        return self.label if self.seed is None else f"{self.label}-s{self.seed}"


def reference_arm(model: str) -> ArmSpec:
    """The frozen reference encoder ``model`` (an alias, path or Hub name), labelled ``"<model> (zero-shot)"``."""
    return ArmSpec(f"{model} (zero-shot)", None, model=model)


def expand_arms(config: ExperimentConfig) -> list[ArmSpec]:
    """Every run of the study: zero-shot once, then the configured arms and the alpha sweep seed by seed, each
    trained arm with its training config.

    Raises:
        UsageError: an arm whose training options do not combine (:func:`~polyret.experiments.config.train_config`).
    """
    choices = [*config.arms, *(ArmChoice(HYBRID, alpha) for alpha in config.alpha_sweep)]
    labels = {_label(config, arm): arm for arm in choices}  # a label fixes its arm: equal labels are one entry
    specs = [ArmSpec(label, None) for label, arm in labels.items() if not arm.trained][:1]
    for seed in config.seeds:  # seed by seed: a study stopped halfway has every arm at its first seeds
        for label, arm in labels.items():
            if arm.trained:
                alpha = (config.hybrid_alpha if arm.alpha is None else arm.alpha) if arm.name == HYBRID else None
                specs.append(ArmSpec(label, arm.name, alpha, seed, loss_terms=arm.loss_terms,
                                     training=train_config(config, arm, seed=seed)))
    specs.extend(reference_arm(model) for model in dict.fromkeys(config.reference_models))
    return specs


def _label(config: ExperimentConfig, arm: ArmChoice) -> str:
    """The arm as tables show it: ``hybrid`` at the configured alpha, ``hybrid@<alpha>`` at another, then its terms."""
    if arm.name != HYBRID or arm.alpha is None or arm.alpha == config.hybrid_alpha:
        return str(dataclasses.replace(arm, alpha=None))
    return str(arm)


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
    resolved: dict[str, Any] = {
        "format": RESULT_FORMAT,
        "arm": arm.identity(),
        "base_model": arm.model or config.base_model,
        "evaluation": config.evaluation.to_dict(),
        "eval_inputs": eval_inputs,
    }
    if arm.trained:
        resolved["training"] = arm_train_config(config, arm).identity()
        resolved["data"] = {k: v for k, v in config.data.to_dict().items() if k not in UNHASHED_DATA_KEYS}
        resolved["train_inputs"] = train_inputs
    return resolved


def arm_train_config(config: ExperimentConfig, arm: ArmSpec) -> TrainConfig:
    """The training config of the trained ``arm``: the one :func:`expand_arms` built, or for an arm made by hand
    the study's options with its sampler, alpha, seed and loss terms."""
    if arm.training is not None:
        return arm.training
    assert arm.sampler is not None and arm.seed is not None  # trained arms have both
    return train_config(config, ArmChoice(arm.sampler, arm.alpha, arm.loss_terms), seed=arm.seed)


def config_hash(resolved: dict[str, Any]) -> str:
    """A short stable hash of a resolved arm config (canonical JSON, sha256)."""
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:HASH_LENGTH]
