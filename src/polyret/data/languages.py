"""Language codes: polyret's short codes and the mapping from the codes the public data sets use.

polyret names a language by its ISO 639-1 code where one exists (``de``, ``zh``, ``ar``) and by its ISO 639-3 code
otherwise (``yue``, ``gsw``, ``fil``). In the public data sets a region or script suffix is kept (``pt-BR``,
``sr-Latn``, ``en-GB``: NTREX has several English references), except where a data set's variant is *the* version
of that language in polyret (NTREX ``zho-CN`` -> ``zh``, TICO-19 ``es-LA`` -> ``es`` and ``pt-BR`` -> ``pt``). In a
user's own files a region is dropped (``zh-CN`` -> ``zh``, ``pt_BR`` -> ``pt``, with a warning), a script kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

from polyret.errors import DataError, UsageError

log = logging.getLogger(__name__)

# ISO 639-3 (and 639-2/B) codes used by NTREX-128, Tatoeba and TICO-19 -> polyret code. A bare entry maps to itself
# (the language has no ISO 639-1 code). Individual languages map to their macrolanguage's code where that is how the
# other data sets name them (arb/ara -> ar, cmn/zho -> zh, pes/fas -> fa, swh/swa -> sw, zsm/msa -> ms, lvs/lav -> lv).
_ISO639_3 = """
afr:af amh:am ang ara:ar arb:ar arq arz ast awa aze:az bak:ba bel:be bem ben:bn ber bod:bo bos:bs bre:br bul:bg
cat:ca cbk ceb ces:cs cha:ch ckb cmn:zh cor:kw csb cym:cy dan:da deu:de din div:dv dsb dtp dzo:dz ell:el eng:en
epo:eo est:et eus:eu ewe:ee fao:fo fas:fa fij:fj fil fin:fi fra:fr fry:fy fuc fuv gla:gd gle:ga glg:gl gsw guj:gu
hau:ha heb:he hin:hi hmn hrv:hr hsb hun:hu hye:hy ibo:ig ido:io ile:ie ina:ia ind:id isl:is ita:it jav:jv jpn:ja
kab kan:kn kat:ka kau:kr kaz:kk khm:km kin:rw kir:ky kmr kor:ko kur:ku kzj lao:lo lat:la lav:lv lfn lin:ln lit:lt
ltz:lb lug:lg lvs:lv mal:ml mar:mr max mey mhr mkd:mk mlg:mg mlt:mt mon:mn mri:mi msa:ms mya:my nde:nd nds nep:ne
nld:nl nno:nn nob:nb nov nso nus nya:ny oci:oc orm:om orv pam pan:pa pes:fa pms pol:pl por:pt prs pus:ps ron:ro
rus:ru shi sin:si slk:sk slv:sl smo:sm sna:sn snd:sd som:so spa:es sqi:sq srp:sr ssw:ss swa:sw swe:sv swg swh:sw
tah:ty tam:ta tat:tt tel:te tgk:tg tgl:tl tha:th tir:ti ton:to tsn:tn tuk:tk tur:tr tzl uig:ug ukr:uk urd:ur uzb:uz
ven:ve vie:vi war wol:wo wuu xho:xh yid:yi yor:yo yue zho:zh zsm:ms zul:zu
"""
ISO639_3_TO_SHORT: dict[str, str] = {
    code: short or code for code, _, short in (entry.partition(":") for entry in _ISO639_3.split())
}

#: Every base code polyret knows (suffixes such as ``-BR`` or ``-Latn`` may follow it).
KNOWN_CODES: frozenset[str] = frozenset(ISO639_3_TO_SHORT.values())

#: Data-set specific spellings that do not follow the generic rule.
DATASET_OVERRIDES: dict[str, dict[str, str]] = {
    "ntrex128": {"zho-CN": "zh"},
    "tico19": {"es-LA": "es", "pt-BR": "pt"},
}


def normalize_language(
    code: str,
    *,
    dataset: str | None = None,
    allow_unknown: bool = False,
    path: str | Path = "language code",
    record: str | int | None = None,
) -> str:
    """Return polyret's short code for ``code`` (``deu`` -> ``de``, ``zho-CN`` -> ``zh`` for NTREX).

    A public data set's codes keep their region (NTREX's ``en-GB`` and ``en-US`` are two references). A code from
    a user's own file (``dataset=None``) is read as a language: white space is trimmed, ``_`` is ``-``, and a region
    subtag is dropped (``zh-CN``, ``pt_BR``, ``de-DE`` and ``de-de`` are ``zh``, ``pt``, ``de``, ``de``; a script
    such as ``sr-Latn`` is kept), with one warning per code that names the change.

    Args:
        code: a code as a data set or a user's file spells it.
        dataset: registry name whose own spellings apply first (``ntrex128``, ``tico19``).
        allow_unknown: return an unknown code unchanged instead of raising.
        path: the file the code came from, for the error message.
        record: the line or record it came from, for the error message.

    Raises:
        DataError: ``code`` is empty or unknown (and ``allow_unknown`` is false).
    """
    override = DATASET_OVERRIDES.get(dataset or "", {}).get(code)
    if override is not None:
        return override
    spelled = code.strip() if dataset else code.strip().replace("_", "-")
    base, _, suffix = spelled.partition("-")
    base = base.lower()
    short = ISO639_3_TO_SHORT.get(base) or (base if base in KNOWN_CODES else None)
    if short is None:
        if allow_unknown and code.strip():
            return code.strip()
        raise DataError(
            path,
            f"unknown language code {code!r}",
            record=record,
            expected="an ISO 639-1 or 639-3 code such as 'de' or 'deu' (or allow unknown codes explicitly)",
        )
    if dataset is None:
        tags = [tag for tag in suffix.split("-") if tag]
        suffix = "-".join(tag.title() for tag in tags if not _REGION.fullmatch(tag))
        if any(_REGION.fullmatch(tag) for tag in tags):
            _note_once(code, f"{short}-{suffix}" if suffix else short)
    return f"{short}-{suffix}" if suffix else short


_REGION = re.compile(r"[A-Za-z]{2}|[0-9]{3}")
"""A region subtag (``CN``, ``br``, ``419``); scripts have four letters (``Latn``)."""
_NOTED: set[str] = set()


def _note_once(code: str, normalized: str) -> None:
    """Warn once per process that ``code`` of a user's file is read as ``normalized``."""
    if code not in _NOTED:
        _NOTED.add(code)
        log.warning("language code %r read as %r (a region is dropped: polyret names languages, not countries)",
                    code, normalized)


def select_languages(name: str, available: Iterable[str], requested: Iterable[str] | None) -> list[str]:
    """The languages of data set ``name`` to load: ``requested`` (normalised, in order, without repeats) or all.

    Raises:
        UsageError: a requested language is not one of ``available``.
    """
    available = list(available)
    if requested is None:
        return available
    langs = list(dict.fromkeys(normalize_language(code, dataset=name) for code in requested))
    missing = [lang for lang in langs if lang not in available]
    if missing:
        raise UsageError(f"{name} has no language {', '.join(missing)}; available: {', '.join(sorted(available))}")
    return langs
