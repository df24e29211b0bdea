"""Method specs as users write them: ``center``, ``lir``, ``lir:2``, ``lsar``, ``lsar:8``."""

from __future__ import annotations

from dataclasses import dataclass

from polyret.debias.base import Debiaser
from polyret.debias.centering import LanguageCentering
from polyret.debias.lir import LanguageInformationRemoval
from polyret.debias.lsar import LowRankSubspaceRemoval
from polyret.errors import UsageError
from polyret.schema import parse_int

METHODS: dict[str, type] = {
    LanguageCentering.method: LanguageCentering,
    LanguageInformationRemoval.method: LanguageInformationRemoval,
    LowRankSubspaceRemoval.method: LowRankSubspaceRemoval,
}
"""Method name -> class."""


@dataclass(frozen=True)
class DebiasSpec:
    """A method and its rank as the user named them.

    Attributes:
        method: ``"center"``, ``"lir"`` or ``"lsar"``.
        rank: LIR's directions per language (default 1) or LSAR's subspace rank (default: languages - 1);
            ``None`` for centering.
    """

    method: str
    rank: int | None = None

    @property
    def label(self) -> str:
        """``"lsar:8"``, ``"lir"``, ``"center"``: how tables name the method."""
        return self.method if self.rank is None else f"{self.method}:{self.rank}"

    @property
    def needs_languages(self) -> bool:
        return METHODS[self.method].needs_languages

    def build(self) -> Debiaser:
        """A fresh, unfitted method."""
        if self.method == LanguageCentering.method:
            return LanguageCentering()
        if self.method == LanguageInformationRemoval.method:
            return LanguageInformationRemoval(self.rank or 1)
        return LowRankSubspaceRemoval(self.rank)


def parse_spec(text: str) -> DebiasSpec:
    """``"lsar:8"`` -> ``DebiasSpec("lsar", 8)``.

    Raises:
        UsageError: unknown method, a rank that is not a positive integer, or a rank for centering.
    """
    method, _, rank_text = text.strip().partition(":")
    method = method.strip().lower()
    if method not in METHODS:
        raise UsageError(f"unknown debiasing method {text!r} (expected {', '.join(METHODS)}, optionally :<rank>)")
    if not rank_text:
        return DebiasSpec(method)
    if method == LanguageCentering.method:
        raise UsageError(f"debiasing method {text!r}: centering takes no rank")
    rank = parse_int(rank_text, f"debiasing method {text!r}: the rank (a positive integer)")
    if rank < 1:
        raise UsageError(f"debiasing method {text!r}: the rank must be a positive integer")
    return DebiasSpec(method, rank)


def parse_specs(texts: list[str]) -> list[DebiasSpec]:
    """Several specs, each once (by label), in the order given."""
    specs = {spec.label: spec for spec in map(parse_spec, texts)}
    return list(specs.values())
