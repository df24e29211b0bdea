"""Post-hoc language debiasing of embeddings: per-language centering, LIR, LSAR and SHIFT (numpy only).

Each method fits on reference embeddings with their languages and transforms embeddings (re-normalised rows);
SHIFT moves document (passage) embeddings only; LSAR needs no languages at transform time and can be exported into
a sentence-transformers model (:mod:`polyret.debias.export`). This layer works on arrays alone: it imports nothing
from evaluation, experiments or the CLI.
"""

from polyret.debias.base import ALL_ROLES, Debiaser, LanguagesRequiredError, UnseenLanguageError
from polyret.debias.centering import LanguageCentering
from polyret.debias.lir import LanguageInformationRemoval
from polyret.debias.lsar import LowRankSubspaceRemoval
from polyret.debias.shift import LanguageShift
from polyret.debias.spec import METHODS, DebiasSpec, parse_spec, parse_specs
from polyret.debias.storage import load_debiaser, save_debiaser

__all__ = [
    "ALL_ROLES", "METHODS", "DebiasSpec", "Debiaser", "LanguageCentering", "LanguageInformationRemoval",
    "LanguageShift", "LanguagesRequiredError", "LowRankSubspaceRemoval", "UnseenLanguageError", "load_debiaser",
    "parse_spec", "parse_specs", "save_debiaser",
]
