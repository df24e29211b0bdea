"""Method specs as users write them: ``center``, ``lir``, ``lir:2``, ``lsar``, ``lsar:8``, ``shift``, ``shift:0.5``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from polyret.debias.base import Debiaser
from polyret.debias.centering import LanguageCentering
from polyret.debias.lir import LanguageInformationRemoval
from polyret.debias.lsar import LowRankSubspaceRemoval
from polyret.debias.shift import MAX_SCALE, LanguageShift
from polyret.errors import UsageError
from polyret.schema import parse_int

METHODS: dict[str, type] = {
    LanguageCentering.method: LanguageCentering,
    LanguageInformationRemoval.method: LanguageInformationRemoval,
    LowRankSubspaceRemoval.method: LowRankSubspaceRemoval,
    LanguageShift.method: LanguageShift,
}
"""Method name -> class."""
_SCALE = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")
"""ASCII digits only (``int`` and ``float`` would also take other scripts' digits, signs, ``nan`` and ``inf``)."""


@dataclass(frozen=True)
class DebiasSpec:
    """A method and its parameter as the user named them.

    Attributes:
        method: ``"center"``, ``"lir"``, ``"lsar"`` or ``"shift"``.
        rank: LIR's directions per language (default 1) or LSAR's subspace rank (default: languages - 1); ``None``
            otherwise.
        scale: SHIFT's share of each language offset subtracted (default 1); ``None`` otherwise.
    """

    method: str
    rank: int | None = None
    scale: float | None = None

    @property
    def label(self) -> str:
        """``"lsar:8"``, ``"shift:0.5"``, ``"lir"``, ``"center"``: how tables name the method."""
        if self.rank is not None:
            return f"{self.method}:{self.rank}"
        return self.method if self.scale is None else f"{self.method}:{self.scale:g}"

    @property
    def needs_languages(self) -> bool:
        return METHODS[self.method].needs_languages

    def build(self) -> Debiaser:
        """A fresh, unfitted method."""
        if self.method == LanguageCentering.method:
            return LanguageCentering()
        if self.method == LanguageInformationRemoval.method:
            return LanguageInformationRemoval(self.rank or 1)
        if self.method == LanguageShift.method:
            return LanguageShift(1.0 if self.scale is None else self.scale)
        return LowRankSubspaceRemoval(self.rank)


def parse_spec(text: str) -> DebiasSpec:
    """``"lsar:8"`` -> ``DebiasSpec("lsar", 8)``; ``"shift:0.5"`` -> ``DebiasSpec("shift", scale=0.5)``.

    Raises:
        UsageError: unknown method, a rank that is not a positive integer, a scale outside (0, 2], or a parameter
            for centering.
    """
    method, _, parameter = text.strip().partition(":")
    method, parameter = method.strip().lower(), parameter.strip()
    if method not in METHODS:
        raise UsageError(f"unknown debiasing method {text!r} (expected {', '.join(METHODS)}, optionally :<rank> "
                         "or, for shift, :<scale>)")
    if not parameter:
        return DebiasSpec(method)
    if method == LanguageCentering.method:
        raise UsageError(f"debiasing method {text!r}: centering takes no rank")
    if method == LanguageShift.method:
        if not _SCALE.fullmatch(parameter) or not 0 < float(parameter) <= MAX_SCALE:
            raise UsageError(f"debiasing method {text!r}: the scale must be a decimal number in (0, 2], written "
                             "with the digits 0-9")
        return DebiasSpec(method, scale=float(parameter))
    rank = parse_int(parameter, f"debiasing method {text!r}: the rank (a positive integer)")
    if rank < 1:
        raise UsageError(f"debiasing method {text!r}: the rank must be a positive integer")
    return DebiasSpec(method, rank)


def parse_specs(texts: list[str]) -> list[DebiasSpec]:
    """Several specs, each once (by label), in the order given."""
    specs = {spec.label: spec for spec in map(parse_spec, texts)}
    return list(specs.values())
