"""CLSD items in both directions, the MT variant, swap annotations, and broken CSV files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from polyret.data.clsd import clsd_direction, load_clsd, load_swap_annotations, read_clsd
from polyret.errors import DataError, MissingDataError, UsageError

HEADER = "Index,French,German,de_adv1,de_adv2,de_adv3,de_adv4,fr_adv1,fr_adv2,fr_adv3,fr_adv4"


def test_wmt19_both_directions(data_dir: Path) -> None:
    items = load_clsd(2019, data_dir=data_dir)
    assert Counter(clsd_direction(i) for i in items) == {"de-fr": 1473, "fr-de": 1473}
    de_fr = next(i for i in items if clsd_direction(i) == "de-fr")
    assert (de_fr.query_lang, de_fr.candidate_lang) == ("de", "fr")
    assert de_fr.candidate_names == ("French", "fr_adv1", "fr_adv2", "fr_adv3", "fr_adv4")
    fr_de = next(i for i in items if clsd_direction(i) == "fr-de" and i.id == de_fr.id)
    assert fr_de.query == de_fr.candidates[0] and fr_de.candidates[0] == de_fr.query
    assert all(len(set(i.candidates)) == 5 for i in items)  # no distractor equals its original


def test_machine_translated_variant_is_english_with_same_rows(data_dir: Path) -> None:
    items = load_clsd(2019, machine_translated=True, data_dir=data_dir)
    assert len(items) == 2946
    assert {(i.query_lang, i.candidate_lang) for i in items} == {("en", "en")}
    assert [i.id for i in items[:3]] == ["0", "1", "2"]


def test_wmt21_is_absent_from_an_explicit_dir(data_dir: Path) -> None:
    with pytest.raises(MissingDataError, match="CLSD_wmt2021_adversarial_dataset.csv") as caught:
        load_clsd(2021, data_dir=data_dir)
    assert caught.value.dataset == "clsd-wmt2021"
    with pytest.raises(UsageError, match="2019 and 2021"):
        load_clsd(2020, data_dir=data_dir)


@pytest.mark.parametrize(("lang", "rows"), [("de", 631), ("fr", 364)])
def test_swap_annotations(data_dir: Path, lang: str, rows: int) -> None:
    notes = load_swap_annotations(lang, data_dir=data_dir)
    assert len(notes) == rows
    assert {n.dataset for n in notes} == {"wmt19", "wmt21"}  # BOMs inside the UTF-16 file are stripped
    assert {n.adversarial_column[:6] for n in notes} == {f"{lang}_adv"}
    assert all(n.row_index >= 0 and n.adversarial_text for n in notes)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Index,French,German\n0,a,b\n", "line 1: missing column.*de_adv1"),
        (HEADER + "\n0,a,b,c,d,e,f,g,h,i\n", "line 2: 10 cells"),
        (HEADER + "\n0,a,b,c,d,e,f,g,h,i,\n", "line 2: empty cell.*fr_adv4"),
        (HEADER + "\n0,a,b,c,d,e,f,g,h,i,j\n0,a,b,c,d,e,f,g,h,i,j\n", "line 3: duplicate Index '0'"),
        (HEADER + '\n0,"a,b,c,d,e,f,g,h,i,j\n', "malformed CSV|cells"),
    ],
)
def test_broken_clsd_csv(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(body, "utf-8")
    with pytest.raises(DataError, match=message):
        read_clsd(path)


def test_quoted_multiline_cell_is_one_row(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(HEADER + '\n7,"a\nstill a",b,c,d,e,f,g,h,i,j\n', "utf-8")
    items = read_clsd(path)
    assert items[0].id == "7" and items[0].candidates[0] == "a\nstill a"
