"""What every registered task holds, declared rather than loaded (after mteb's task metadata), for
``polyret evaluate --list-tasks``: size, languages, licence and whether its files are in the data directory.

The sizes are those of the whole task (the ``full`` suite); ``quick`` runs slices of them. They were counted from
the data files with the loaders; a test re-counts CLSD WMT19, NTREX-128 and TICO-19 (WMT21's 893 rows are those
of the registered file, which is downloaded on demand).

Example::

    for card in CARDS.values():
        print(card.name, card.items, card.local_files(data_dir=None))

Relations: the task specs themselves are :data:`polyret.evaluation.suite.TASKS`; licences and files come from
:data:`polyret.data.registry.DATASETS`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from polyret.data.lareqa import LAREQA_LANGUAGES
from polyret.data.parallel import ntrex_files, tatoeba_languages
from polyret.data.registry import get_dataset, local_file
from polyret.evaluation.suite import NTREX_LANGUAGES, TATOEBA_LANGUAGES, TICO_LANGUAGES


@dataclass(frozen=True, slots=True)
class TaskCard:
    """Declared facts about one registered task.

    Attributes:
        name: the task name (as ``--tasks`` takes it).
        measures: what it scores, in a few words.
        items: its size (e.g. ``"1190 questions x 11 languages"``).
        rows: the number behind ``items`` (questions, rows or sentences per language), checked by a test.
        languages: its languages.
        dataset: the registry data set it reads.
        files: globs (below the data set's folder) of the files it reads.
    """

    name: str
    measures: str
    items: str
    rows: int
    languages: tuple[str, ...]
    dataset: str
    files: tuple[str, ...] = ("*",)

    @property
    def licence(self) -> str:
        return get_dataset(self.dataset).licence

    def local_files(self, data_dir: str | Path | None = None) -> tuple[int, int]:
        """(files present locally, files it reads)."""
        spec = get_dataset(self.dataset)
        wanted = [rel for rel in spec.files if any(fnmatch.fnmatch(rel, glob) for glob in self.files)]
        return sum(local_file(spec, rel, data_dir) is not None for rel in wanted), len(wanted)


def _clsd(year: int, mt: bool, rows: int) -> TaskCard:
    name = f"clsd-wmt{year % 100}" + ("-mt" if mt else "")
    variant = "English MT of " if mt else ""
    files = (f"{'MT_M2M_' if mt else ''}CLSD_wmt{year}_*", "*_swaps_ner_pos.tsv")
    return TaskCard(name, f"discrimination accuracy, {variant}de<->fr news (WMT{year % 100})",
                    f"{rows} rows x 2 directions", rows, ("en",) if mt else ("de", "fr"),
                    "clsd" if year == 2019 else "clsd-wmt2021", files if year == 2019 else files[:1])


CARDS: dict[str, TaskCard] = {
    card.name: card
    for card in (
        TaskCard("xquad-r", "QA retrieval: mono / cross / multi mAP, bias", "1190 questions x 11 languages", 1190,
                 LAREQA_LANGUAGES["xquad-r"], "xquad-r"),
        TaskCard("mlqa-r", "QA retrieval: mono / cross / multi mAP, bias", "1148 questions in 2-4 of 7 languages",
                 1148, LAREQA_LANGUAGES["mlqa-r"], "mlqa-r"),
        _clsd(2019, False, 1473),
        _clsd(2019, True, 1473),
        TaskCard("ntrex128", "bitext P@1, pooled mAP, bias (news)", "1997 sentences x 8 languages", 1997,
                 NTREX_LANGUAGES, "ntrex128",
                 ("DOCUMENT_IDS.tsv", *(ntrex_files()[lang] for lang in NTREX_LANGUAGES))),
        TaskCard("tico19", "bitext P@1, pooled mAP, bias (medical)", "3071 sentences x 7 languages", 3071,
                 TICO_LANGUAGES, "tico19"),
        TaskCard("tatoeba", "bitext P@1, X-English (everyday)", "548-1000 pairs x 11 languages", 1000,
                 ("en", *TATOEBA_LANGUAGES), "tatoeba-laser",
                 tuple(f"tatoeba.{tatoeba_languages()[lang]}-eng.*" for lang in TATOEBA_LANGUAGES)),
        _clsd(2021, False, 893),
        _clsd(2021, True, 893),
    )
}
