"""The arms a study config names: a batch design, its alpha (hybrid only) and the loss terms trained on top.

An arm is written as a mapping (``{name: hybrid, alpha: 0.25, loss_terms: [erasure]}``) or, shorter, as its
spelling (``"hybrid@0.25+erasure"``); both give the same :class:`ArmChoice`, checked by the one config schema.

Example:
    >>> ArmChoice.from_config("hybrid@0.25+erasure")
    ArmChoice(name='hybrid', alpha=0.25, loss_terms=('erasure',))
    >>> str(ArmChoice("multi_positive", loss_terms=("erasure",)))
    'multi_positive+erasure'

Relations: :func:`polyret.experiments.arms.expand_arms` turns the choices into runs (one per seed), each with its
training config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from polyret.errors import UsageError
from polyret.schema import Check, between, build_dataclass, distinct, each, one_of

ZERO_SHOT = "zero-shot"
HYBRID = "hybrid"
BASELINE_ARMS = ("mixed", "st_default", "monolingual", "cross_lingual")
DEFAULT_ARMS = (ZERO_SHOT, *BASELINE_ARMS, HYBRID)
MULTI_POSITIVE = "multi_positive"
OPTIONAL_ARMS = (MULTI_POSITIVE,)
"""Arms a config may add to the default ones (the ``standard`` and ``paper`` presets do)."""
KNOWN_ARMS = (*DEFAULT_ARMS, *OPTIONAL_ARMS)
LOSS_TERMS = ("erasure", "alignment")
"""Loss terms a trained arm may add (``hybrid+erasure``): the term's weight (``erasure_weight`` /
``alignment_weight`` of the study) goes into that arm's training options."""
ERASURE_ARMS = (f"{HYBRID}+erasure", f"{MULTI_POSITIVE}+erasure")
ALIGNMENT_ARMS = (f"{HYBRID}+alignment",)
"""Arms with a loss term against language bias in the standard preset (docs/training.md has the probes)."""
_SPELLING = re.compile(r"^(?P<name>[^@+]*)(?:@(?P<alpha>[0-9]*\.?[0-9]+))?$")


@dataclass(frozen=True)
class ArmChoice:
    """One entry of a study's ``arms``.

    Attributes:
        name: the batch design: ``zero-shot`` (the untouched base model), ``mixed``, ``st_default``,
            ``monolingual``, ``cross_lingual``, ``hybrid`` or ``multi_positive``.
        alpha: hybrid only: its probability of a monolingual batch (``None``: the study's ``hybrid_alpha``).
        loss_terms: loss terms trained on top of the design's loss (``erasure``, ``alignment``; trained arms only).
    """

    name: str = ""
    alpha: float | None = None
    loss_terms: tuple[str, ...] = ()

    RANGES: ClassVar[dict[str, Check]] = {
        "name": one_of(lambda: KNOWN_ARMS), "alpha": between(0.0, 1.0),
        "loss_terms": each(one_of(lambda: LOSS_TERMS), also=distinct(non_empty=False)),
    }

    @classmethod
    def from_config(cls, value: Any, where: str = "arms") -> ArmChoice:
        """The arm a config entry names: a mapping of the fields above, or the spelling ``name[@alpha][+term...]``.

        Raises:
            UsageError: naming ``where``: an unknown design or term, a repeated term, an alpha off hybrid or outside
                [0, 1], a term on the zero-shot arm.
        """
        if not isinstance(value, str):
            return cls._checked(value, where)
        base, *terms = value.split("+")
        match = _SPELLING.match(base)
        if match is None or match["name"] not in KNOWN_ARMS:
            raise UsageError(f"config key {where!r}: unknown arm {value!r} (expected {', '.join(KNOWN_ARMS)} or "
                             f"hybrid@<alpha in [0, 1]>, a trained one optionally followed by "
                             f"+{' and/or +'.join(LOSS_TERMS)})")
        alpha = None if match["alpha"] is None else float(match["alpha"])
        try:
            return cls._checked({"name": match["name"], "alpha": alpha, "loss_terms": terms}, where)
        except UsageError as exc:
            raise UsageError(f"{exc} (in the arm {value!r})") from None

    @classmethod
    def _checked(cls, value: Any, where: str) -> ArmChoice:
        arm = build_dataclass(cls, value, where=where)
        if arm.alpha is not None and arm.name != HYBRID:
            raise UsageError(f"config key '{where}.alpha': only the {HYBRID} arm has an alpha, not {arm.name}")
        if arm.loss_terms and not arm.trained:
            raise UsageError(f"config key '{where}.loss_terms': the {ZERO_SHOT} arm is not trained, so it takes no "
                             "loss term")
        return arm

    @property
    def trained(self) -> bool:
        return self.name != ZERO_SHOT

    def __str__(self) -> str:
        """The arm's spelling, e.g. ``hybrid@0.25+erasure``."""
        alpha = "" if self.alpha is None else f"@{self.alpha:g}"
        return "".join([self.name, alpha, *(f"+{term}" for term in self.loss_terms)])
