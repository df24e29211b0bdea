"""Parallel sentence corpora for domain-shift evaluation: NTREX-128 (news), TICO-19 (medical), Tatoeba (everyday).

Language arguments take polyret codes (``de``, ``zh``) or the data set's own codes (``deu``, ``zho-CN``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from polyret.data.languages import normalize_language, select_languages
from polyret.data.parsing import ProblemLog, field, iter_jsonl, nonempty_text
from polyret.data.records import ParallelCorpus
from polyret.data.registry import get_dataset, locate
from polyret.errors import DataError
from polyret.io import read_lines

_NTREX_FILE = re.compile(r"NTREX-(?:128|additional)/newstest2019-(?:src|ref)\.([A-Za-z-]+)\.txt")
_TATOEBA_FILE = re.compile(r"tatoeba\.([a-z]+)-eng\.\1")
_TICO_FILE = "tico19_all_multiway.jsonl"


def ntrex_files() -> dict[str, str]:
    """polyret language code -> NTREX-128 file (the English source is ``en``; the second Spanish reference
    ``newstest2019-ref-2.spa.txt`` is not a language and is left out)."""
    files = {}
    for relpath in get_dataset("ntrex128").files:
        match = _NTREX_FILE.fullmatch(relpath)
        if match:
            files[normalize_language(match[1], dataset="ntrex128", path=relpath)] = relpath
    return files


def tatoeba_languages() -> dict[str, str]:
    """polyret language code -> Tatoeba ISO 639-3 code, for the 112 X–eng pairs."""
    codes = {}
    for relpath in get_dataset("tatoeba-laser").files:
        match = _TATOEBA_FILE.fullmatch(relpath)
        if match:
            codes[normalize_language(match[1], path=relpath)] = match[1]
    return codes


def read_aligned(paths: dict[str, Path]) -> dict[str, list[str]]:
    """Read line-aligned text files (language -> path); every line must be non-empty and the counts equal.

    Raises:
        DataError: an empty line, or two files with different line counts (naming both files).
    """
    texts: dict[str, list[str]] = {}
    first: tuple[str, Path] | None = None
    for lang, path in paths.items():
        lines = read_lines(path)
        for number, line in enumerate(lines, start=1):
            nonempty_text(line, "the line", path, number)
        if first is not None and len(lines) != len(texts[first[0]]):
            raise line_count_mismatch(path, len(lines), first[1], len(texts[first[0]]))
        first = first or (lang, path)
        texts[lang] = lines
    return texts


def aligned_siblings(path: Path) -> dict[str, Path]:
    """Language -> file for ``path`` and the files beside it differing only in the language suffix."""
    compressed = path.name.endswith(".gz")
    name = path.name.removesuffix(".gz")
    txt = name.endswith(".txt")
    base = name.removesuffix(".txt")
    stem, dot, _ = base.rpartition(".")
    if not dot:
        return {}
    found = {}
    for candidate in sorted(path.parent.glob(f"{stem}.*")):
        rest = candidate.name.removesuffix(".gz") if compressed else candidate.name
        rest = rest[len(stem) + 1 :].removesuffix(".txt") if txt else rest[len(stem) + 1 :]
        if "." in rest:
            continue
        try:
            found[normalize_language(rest)] = candidate
        except DataError:
            continue
    return found if path in found.values() else {}


def line_count_mismatch(path: str | Path, count: int, other: str | Path, other_count: int) -> DataError:
    """The error for two line-aligned files of different lengths, naming both."""
    return DataError(
        path,
        f"{count} lines, but {other} has {other_count}",
        expected="line-aligned files with the same number of lines",
    )


def load_ntrex(languages: Iterable[str] | None = None, *, data_dir: str | Path | None = None) -> ParallelCorpus:
    """Load NTREX-128: 1997 news sentences, line-aligned across 130 files, grouped by news document.

    Args:
        languages: the languages to load (default: all, English source ``en`` included).
        data_dir: the data directory.
    """
    files = ntrex_files()
    langs = select_languages("ntrex128", list(files), languages)
    texts = read_aligned({lang: locate("ntrex128", files[lang], data_dir) for lang in langs})
    docs_path = locate("ntrex128", "DOCUMENT_IDS.tsv", data_dir)
    groups = [nonempty_text(line, "the document id", docs_path, n) for n, line in enumerate(read_lines(docs_path), 1)]
    rows = len(next(iter(texts.values())))
    if len(groups) != rows:
        raise DataError(docs_path, f"{len(groups)} document ids for {rows} sentences", expected="one id per line")
    return ParallelCorpus("ntrex128", [str(i) for i in range(rows)], texts, [g.strip() for g in groups])


def load_tico(
    languages: Iterable[str] | None = None, *, data_dir: str | Path | None = None, problems: ProblemLog | None = None
) -> ParallelCorpus:
    """Load TICO-19 (the local multi-way JSON-lines file): ids are ``tuid``, groups the source document.

    Args:
        languages: the languages to load (default: every language of the first record).
        data_dir: the data directory.
        problems: collect problems instead of raising the first (used by :mod:`polyret.data.check`).

    Raises:
        DataError: a malformed line, a missing ``tuid``/``text``, a duplicate ``tuid``, or a record lacking a
            requested language.
    """
    problems = problems or ProblemLog()
    path = locate("tico19", _TICO_FILE, data_dir)
    ids: list[str] = []
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for number, obj in iter_jsonl(path, problems):
        with problems.record():
            tuid = field(obj, "tuid", str, path, number)
            if tuid in seen:
                raise DataError(path, f"duplicate tuid {tuid!r}", record=number, expected="unique tuids")
            raw = field(obj, "text", dict, path, number)
            row = {normalize_language(k, dataset="tico19", path=path, record=number): v for k, v in raw.items()}
            seen.add(tuid)
            ids.append(tuid)
            rows.append(row)
    langs = select_languages("tico19", list(rows[0]) if rows else [], languages)
    texts: dict[str, list[str]] = {lang: [] for lang in langs}
    for tuid, row in zip(ids, rows, strict=True):
        for lang in langs:
            with problems.record():
                texts[lang].append(nonempty_text(row.get(lang), f"text of {lang!r}", path, tuid))
    return ParallelCorpus("tico19", ids, texts, [tuid.split(":", 1)[0] for tuid in ids])


def load_tatoeba(
    languages: Iterable[str] | None = None, *, data_dir: str | Path | None = None
) -> list[ParallelCorpus]:
    """Load Tatoeba (LASER v1): one bilingual corpus ``tatoeba:<xxx>-eng`` per language (not multi-way).

    Args:
        languages: the non-English languages to load (default: all 112).
        data_dir: the data directory.
    """
    codes = tatoeba_languages()
    corpora = []
    for lang in select_languages("tatoeba-laser", list(codes), languages):
        iso = codes[lang]
        pair = f"tatoeba.{iso}-eng"
        texts = read_aligned(
            {
                lang: locate("tatoeba-laser", f"{pair}.{iso}", data_dir),
                "en": locate("tatoeba-laser", f"{pair}.eng", data_dir),
            }
        )
        corpora.append(ParallelCorpus(f"tatoeba:{iso}-eng", [str(i) for i in range(len(texts["en"]))], texts))
    return corpora
