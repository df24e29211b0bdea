"""CLSD (cross-lingual semantic discrimination, WMT de<->fr with LLM-made adversarial distractors).

Each row gives two items: DE→FR (query ``German``, candidates ``French`` + ``fr_adv1..4``) and FR→DE (query
``French``, candidates ``German`` + ``de_adv1..4``). The true translation is always the first candidate. The
machine-translated variant (``MT_M2M_*``: every cell translated into English, plus a leading pandas index column)
gives the same items with English text (languages ``en``); its direction is told by ``candidate_names[0]``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from polyret.data.parsing import ProblemLog
from polyret.data.records import DiscriminationItem
from polyret.data.registry import locate
from polyret.errors import DataError, UsageError
from polyret.io import read_text

ADVERSARIAL = 4
#: (query column, query language, true column, candidate language, distractor prefix) per direction.
DIRECTIONS = (
    ("German", "de", "French", "fr", "fr_adv"),
    ("French", "fr", "German", "de", "de_adv"),
)
CLSD_COLUMNS = ("Index", "French", "German", *(f"{p}{i}" for p in ("de_adv", "fr_adv") for i in range(1, 5)))
SWAP_COLUMNS = (
    "Dataset",
    "Operation",
    "OriginalTextFrench",
    "Details",
    "EntityType",
    "POSTag",
    "SemanticallyEquivalent",
    "OriginalTextGerman",
    "AdversarialText",
    "AdversarialExample",
    "RowIndex",
)
_SWAP_OPTIONAL = ("Details", "EntityType", "POSTag", "SemanticallyEquivalent")


def clsd_direction(item: DiscriminationItem) -> str:
    """``"de-fr"`` or ``"fr-de"`` for a CLSD item (also for the English machine-translated variant, told by its
    true column), else ``"<query lang>-<candidate lang>"`` (a user's discrimination file)."""
    true_column = item.candidate_names[:1]
    if true_column in (("French",), ("German",)):
        return "de-fr" if true_column == ("French",) else "fr-de"
    return f"{item.query_lang}-{item.candidate_lang}"


def clsd_file(year: int, *, machine_translated: bool = False) -> tuple[str, str]:
    """(registry data set, file name) of a CLSD year (2019 or 2021)."""
    if year not in (2019, 2021):
        raise UsageError(f"CLSD has years 2019 and 2021, not {year}")
    prefix = "MT_M2M_" if machine_translated else ""
    return ("clsd" if year == 2019 else "clsd-wmt2021"), f"{prefix}CLSD_wmt{year}_adversarial_dataset.csv"


def load_clsd(
    year: int = 2019, *, machine_translated: bool = False, data_dir: str | Path | None = None
) -> list[DiscriminationItem]:
    """Load a CLSD file as discrimination items, both directions (all DE→FR items first, then FR→DE).

    Args:
        year: 2019 (WMT19) or 2021 (WMT21, held out; downloaded on demand).
        machine_translated: the M2M-100 English translation of the same rows.
        data_dir: the data directory.
    """
    dataset, name = clsd_file(year, machine_translated=machine_translated)
    return read_clsd(locate(dataset, name, data_dir), english=machine_translated)


def read_clsd(
    path: str | Path, *, english: bool = False, problems: ProblemLog | None = None
) -> list[DiscriminationItem]:
    """Parse a CLSD CSV (header ``Index,French,German,de_adv1..4,fr_adv1..4``; extra columns are ignored).

    Args:
        path: the CSV file (plain or gzip).
        english: the cells are English machine translations (both languages become ``en``).
        problems: collect problems instead of raising the first.

    Raises:
        DataError: malformed CSV, a missing column, an empty cell or a duplicate ``Index``.
    """
    problems = problems or ProblemLog()
    rows = read_table(path, ",", CLSD_COLUMNS, problems)
    items: dict[int, list[DiscriminationItem]] = {i: [] for i in range(len(DIRECTIONS))}
    seen: set[str] = set()
    for number, row in rows:
        with problems.record():
            index = row["Index"]
            if index in seen:
                raise DataError(path, f"duplicate Index {index!r}", record=number, expected="unique row indexes")
            seen.add(index)
            for d, (query_col, query_lang, true_col, cand_lang, prefix) in enumerate(DIRECTIONS):
                names = (true_col, *(f"{prefix}{i}" for i in range(1, ADVERSARIAL + 1)))
                items[d].append(
                    DiscriminationItem(
                        id=index,
                        query=row[query_col],
                        query_lang="en" if english else query_lang,
                        candidates=tuple(row[n] for n in names),
                        candidate_lang="en" if english else cand_lang,
                        candidate_names=names,
                    )
                )
    return [item for d in items for item in items[d]]


@dataclass(frozen=True, slots=True)
class SwapAnnotation:
    """One annotated single-token swap of a CLSD distractor (paper Section 3.3).

    Attributes:
        dataset: ``wmt19`` or ``wmt21``.
        row_index: ``Index`` of the row in the main CLSD file.
        adversarial_column: the distractor's column (``de_adv3``).
        operation: the edit (``Addition``, ``Swap``, ...).
        details: free-text description of the edit.
        entity_type: named-entity type of the swapped token, if any.
        pos_tag: part-of-speech tag of the swapped token, if any.
        semantically_equivalent: the annotator's judgement, if given.
        original_french / original_german: the row's reference pair.
        adversarial_text: the distractor.
    """

    dataset: str
    row_index: int
    adversarial_column: str
    operation: str
    details: str
    entity_type: str | None
    pos_tag: str | None
    semantically_equivalent: str | None
    original_french: str
    original_german: str
    adversarial_text: str


def load_swap_annotations(lang: str, *, data_dir: str | Path | None = None) -> list[SwapAnnotation]:
    """Load the swap annotations of the German (``"de"``) or French (``"fr"``) distractors (WMT19 + WMT21).

    The FR file is UTF-16 LE with a byte-order mark and the DE file UTF-8; both are tab-separated with CRLF ends.
    """
    if lang not in ("de", "fr"):
        raise UsageError(f"swap annotations exist for 'de' and 'fr', not {lang!r}")
    return read_swap_annotations(locate("clsd", f"{lang.upper()}_wmt1921_swaps_ner_pos.tsv", data_dir))


def read_swap_annotations(path: str | Path, *, problems: ProblemLog | None = None) -> list[SwapAnnotation]:
    """Parse a swap-annotation TSV (columns found by header name, in any order)."""
    problems = problems or ProblemLog()
    annotations = []
    for number, row in read_table(path, "\t", SWAP_COLUMNS, problems, _SWAP_OPTIONAL):
        with problems.record():
            if not row["RowIndex"].isdigit():
                raise DataError(path, f"RowIndex {row['RowIndex']!r}", record=number, expected="a row number")
            annotations.append(
                SwapAnnotation(
                    dataset=row["Dataset"],
                    row_index=int(row["RowIndex"]),
                    adversarial_column=row["AdversarialExample"],
                    operation=row["Operation"],
                    details=row["Details"],
                    entity_type=row["EntityType"] or None,
                    pos_tag=row["POSTag"] or None,
                    semantically_equivalent=row["SemanticallyEquivalent"] or None,
                    original_french=row["OriginalTextFrench"],
                    original_german=row["OriginalTextGerman"],
                    adversarial_text=row["AdversarialText"],
                )
            )
    return annotations


def read_table(
    path: str | Path, delimiter: str, columns: tuple[str, ...], problems: ProblemLog, optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, column -> cell) per row of a delimited file; required cells must be non-empty."""
    reader = csv.reader(io.StringIO(read_text(path)), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise DataError(path, "empty file", expected=f"a header {delimiter.join(columns)!r}")
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(
            path, f"missing column(s) {', '.join(missing)}", record=1, expected=f"columns {', '.join(columns)}"
        )
    where = {c: header.index(c) for c in columns}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(path, f"malformed CSV ({exc})", record=reader.line_num) from None
        if not cells:
            continue
        row = None
        with problems.record():
            row = _table_row(cells, len(header), where, optional, path, reader.line_num)
        if row is not None:
            yield reader.line_num, row


def _table_row(
    cells: list[str], width: int, where: dict[str, int], optional: tuple[str, ...], path: str | Path, number: int
) -> dict[str, str]:
    if len(cells) != width:
        raise DataError(path, f"{len(cells)} cells", record=number, expected=f"{width} as in the header")
    row = {c: cells[i].lstrip("\ufeff") for c, i in where.items()}
    empty = [c for c, text in row.items() if not text.strip() and c not in optional]
    if empty:
        raise DataError(path, f"empty cell(s) {', '.join(empty)}", record=number, expected="non-empty texts")
    return row
