"""NTREX-128, TICO-19 and Tatoeba loaders; alignment errors on broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyret.data.parallel import load_ntrex, load_tatoeba, load_tico, read_aligned
from polyret.errors import DataError, UsageError


def test_ntrex_is_line_aligned_and_grouped_by_document(data_dir: Path) -> None:
    corpus = load_ntrex(["en", "deu", "zho-CN", "ar"], data_dir=data_dir)
    assert corpus.languages == ["ar", "de", "en", "zh"]
    assert len(corpus) == 1997 and all(len(t) == 1997 for t in corpus.texts.values())
    assert corpus.texts["en"][0] == "Welsh AMs worried about 'looking like muppets'"
    assert corpus.texts["zh"][0].startswith("威尔士国民议会议员")
    assert len(set(corpus.groups)) == 123 and corpus.groups[0] == "bbc.381790"


def test_ntrex_all_languages(data_dir: Path) -> None:
    corpus = load_ntrex(data_dir=data_dir)
    assert len(corpus.languages) == 130
    assert {"en", "en-GB", "zh", "zh-TW", "pt", "pt-BR", "gsw-BE", "sr-Latn"} <= set(corpus.languages)


def test_tico_is_multiway_with_source_groups(data_dir: Path) -> None:
    corpus = load_tico(["en", "es-LA", "pt-BR", "zh"], data_dir=data_dir)
    assert corpus.languages == ["en", "es", "pt", "zh"]
    assert len(corpus) == 3071 and corpus.ids[0] == "CMU_1:1" and corpus.groups[0] == "CMU_1"
    assert corpus.texts["en"][0] == "about how long have these symptoms been going on?"


def test_tatoeba_one_corpus_per_pair(data_dir: Path) -> None:
    corpora = load_tatoeba(["deu", "cmn", "swh"], data_dir=data_dir)
    assert [c.name for c in corpora] == ["tatoeba:deu-eng", "tatoeba:cmn-eng", "tatoeba:swh-eng"]
    assert [c.languages for c in corpora] == [["de", "en"], ["en", "zh"], ["en", "sw"]]
    assert len(corpora[0]) == 1000 and corpora[0].groups is None
    assert len(load_tatoeba(data_dir=data_dir)) == 112


def test_missing_language_is_a_usage_error(data_dir: Path) -> None:
    with pytest.raises(UsageError, match="tatoeba-laser has no language en"):
        load_tatoeba(["en"], data_dir=data_dir)


def test_line_count_mismatch_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "a.de").write_text("eins\nzwei\n", "utf-8")
    (tmp_path / "a.en").write_text("one\n", "utf-8")
    with pytest.raises(DataError, match=r"a\.en: 1 lines, but .*a\.de has 2"):
        read_aligned({"de": tmp_path / "a.de", "en": tmp_path / "a.en"})


def test_empty_line_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.de").write_text("eins\n\ndrei\n", "utf-8")
    with pytest.raises(DataError, match=r"a\.de, line 2: the line is empty"):
        read_aligned({"de": tmp_path / "a.de"})


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "a.de").write_bytes(b"eins\nzwei\n" + "drei ü\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"a\.de, line 3: not valid utf-8"):
        read_aligned({"de": tmp_path / "a.de"})


def _tico_dir(tmp_path: Path, lines: list[str]) -> Path:
    (tmp_path / "tico19").mkdir()
    (tmp_path / "tico19" / "tico19_all_multiway.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"tuid": "a:1", "text": {"en": "x", "fr": "y"}', "line 2: malformed JSON"),
        ('{"tuid": "a:1", "text": {"en": "x", "fr": "y"}}', "line 2: duplicate tuid 'a:1'"),
        ('{"tuid": "a:2", "text": {"en": "x"}}', "record 'a:2': text of 'fr' is a NoneType"),
        ('{"tuid": "a:2", "text": {"en": "x", "fr": " "}}', "record 'a:2': text of 'fr' is empty"),
        ('{"tuid": "a:2", "text": {"en": "x", "fr": "y", "qq": "z"}}', "line 2: unknown language code 'qq'"),
        ('{"text": {"en": "x", "fr": "y"}}', "line 2: missing field 'tuid'"),
    ],
)
def test_broken_tico_records(tmp_path: Path, line: str, message: str) -> None:
    good = json.dumps({"tuid": "a:1", "text": {"en": "x", "fr": "y"}})
    root = _tico_dir(tmp_path, [good, line])
    with pytest.raises(DataError, match=message):
        load_tico(data_dir=root)
