"""A user's task files: what each reader returns, and one clear error (or a counted skip) per kind of bad input."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from polyret.data.check import check_file
from polyret.data.user_tasks import (
    DISTRACTOR_IS_TRUE,
    FEWER_THAN_TWO,
    guess_format,
    read_aligned_files,
    read_beir_folder,
    read_discrimination,
    read_multiway,
    read_parallel_tsv,
    read_qa_task,
)
from polyret.errors import DataError, UsageError


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


GOOD = {"id": "a", "text": {"en": "Hello", "de": "Hallo", "fr": "Bonjour"}}


def test_multiway_keeps_rows_missing_languages_as_none_and_counts_single_language_rows(tmp_path):
    path = _jsonl(tmp_path / "shop.jsonl", [
        GOOD,
        {"id": 2, "text": {"en": "Cart", "de": "Warenkorb"}, "group": "g1"},
        {"id": "c", "text": {"en": "Only English", "fr": None}},
        {"id": "d", "text": {"deu": "Kasse", "fra": "Caisse"}},
    ])
    skipped = Counter()
    corpus = read_multiway(path, skipped=skipped)
    assert corpus.name == "shop" and corpus.ids == ["a", "2", "d"] and corpus.languages == ["de", "en", "fr"]
    assert corpus.texts["fr"] == ["Bonjour", None, "Caisse"] and corpus.texts["en"] == ["Hello", "Cart", None]
    assert corpus.groups == ["a", "g1", "d"]
    assert skipped == {FEWER_THAN_TWO: 1}
    restricted = read_multiway(path, languages=["en", "fr"], skipped=(again := Counter()))
    assert restricted.ids == ["a"] and again == {FEWER_THAN_TWO: 3}
    with pytest.raises(UsageError, match="no text in ja"):
        read_multiway(path, languages=["en", "ja"])


BAD_MULTIWAY = [
    ([{"text": {"en": "a", "de": "b"}}], "line 1: missing field 'id'"),
    ([GOOD, GOOD], "line 2: duplicate id 'a'"),
    ([{"id": "x", "text": {"../etc": "a", "de": "b"}}], "line 1: language key '../etc' is not a language code"),
    ([{"id": "x", "text": {"de-../../x": "a", "en": "b"}}], "is not a language code"),
    ([{"id": "x", "text": {"zz": "a", "de": "b"}}], "unknown language code 'zz'"),
    ([{"id": "x", "text": {"en": " ", "de": "b"}}], "line 1: text['en'] is empty"),
    ([{"id": "x", "text": {"de": "a", "deu": "b"}}], "two texts in language 'de'"),
    ([{"id": "x", "text": "hello"}], "field 'text' is a str"),
    ([{"id": "x", "text": {"en": "a", "de": "b"}, "lang": "en"}], "unexpected field(s) lang"),
    (["{not json"], "line 1: malformed JSON"),
    ([{"id": "x", "text": {"en": "only"}}], "no usable rows"),
    ([], "no usable rows"),
]


@pytest.mark.parametrize(("rows", "message"), BAD_MULTIWAY)
def test_bad_multiway_input_is_one_clear_error(tmp_path, rows, message):
    path = _jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DataError) as caught:
        read_multiway(path)
    assert str(path) in str(caught.value) and message in str(caught.value)
    report = check_file(path, "multiway")
    assert not report.ok and message in str(report.problems[0])


def test_parallel_tsv_reads_a_header_of_languages(tmp_path):
    path = tmp_path / "ui.tsv"
    path.write_text("en\tdeu\tfr\nSave\tSpeichern\tEnregistrer\n\nOpen\tÖffnen\tOuvrir\n", encoding="utf-8")
    corpus = read_parallel_tsv(path)
    assert corpus.languages == ["de", "en", "fr"] and corpus.ids == ["2", "4"] and corpus.texts["de"][1] == "Öffnen"
    assert guess_format(path) == "tsv"


BAD_TSV = [
    ("en\tde\nSave\tSpeichern\tExtra\n", "line 2: 3 cell(s)"),
    ("en\tde\nSave\n", "line 2: 1 cell(s)"),
    ("en\tde\nSave\t \n", "line 2: the de cell is empty"),
    ("en\ten/x\nSave\tSpeichern\n", "line 1: language key 'en/x' is not a language code"),
    ("en\ten\nSave\tSave\n", "two or more distinct language codes"),
    ("en\tde\n", "no usable rows"),
    ("", "no header"),
]


@pytest.mark.parametrize(("text", "message"), BAD_TSV)
def test_bad_tsv_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=None) as caught:
        read_parallel_tsv(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_aligned_files_are_found_beside_each_other(tmp_path):
    (tmp_path / "legal.en.txt").write_text("Article 1\nArticle 2\n", encoding="utf-8")
    (tmp_path / "legal.de.txt").write_text("Artikel 1\nArtikel 2\n", encoding="utf-8")
    corpus = read_aligned_files(tmp_path / "legal.en.txt")
    assert corpus.name == "legal" and corpus.languages == ["de", "en"] and corpus.texts["de"] == ["Artikel 1",
                                                                                                   "Artikel 2"]
    assert guess_format(tmp_path / "legal.de.txt") == "parallel"
    (tmp_path / "legal.de.txt").write_text("Artikel 1\n", encoding="utf-8")
    with pytest.raises(DataError, match="2 lines, but .*legal.de.txt has 1"):
        read_aligned_files(tmp_path / "legal.en.txt")
    with pytest.raises(DataError, match="1 aligned file"):
        read_aligned_files(tmp_path / "legal.en.txt", languages=["en"])


DISCRIMINATION = "id,query,translation,distractor1,distractor2\n1,Hallo Welt,Bonjour le monde,Bonjour la lune,\n"


def test_discrimination_csv_guesses_columns_and_counts_unanswerable_items(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(DISCRIMINATION + "2,Guten Tag,Bonjour,Bonjour,Bonsoir\n", encoding="utf-8")
    skipped = Counter()
    (item,) = read_discrimination(path, languages=["de", "fr"], skipped=skipped)
    assert (item.id, item.query_lang, item.candidate_lang) == ("1", "de", "fr")
    assert item.candidates == ("Bonjour le monde", "Bonjour la lune") and skipped == {DISTRACTOR_IS_TRUE: 1}
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("src,ql,cl,good,bad\nHallo,de,fr,Salut,Adieu\n", encoding="utf-8")
    columns = {"query": "src", "translation": "good", "distractors": ["bad"], "query_lang": "ql",
               "candidate_lang": "cl"}
    (item,) = read_discrimination(renamed, columns=columns)
    assert (item.query, item.candidates, item.query_lang) == ("Hallo", ("Salut", "Adieu"), "de")


def test_clsd_layout_is_read_in_both_directions(data_dir):
    items = read_discrimination(data_dir / "clsd" / "CLSD_wmt2019_adversarial_dataset.csv.gz")
    assert {(it.query_lang, it.candidate_lang) for it in items} == {("de", "fr"), ("fr", "de")}


BAD_DISCRIMINATION = [
    ("query,translation\nHallo,Salut\n", "missing column for the distractors"),
    ("text,translation,distractor1\nHallo,Salut,Adieu\n", "missing column for the query"),
    ("query,translation,distractor1\nHallo,Salut\n", "line 2: 2 cells"),
    ("query,translation,distractor1\nHallo, ,Adieu\n", "empty cell(s) translation"),
    ("query,translation,distractor1\nHallo,Salut, \n", "line 2: no distractor"),
    ("id,query,translation,distractor1\n1,Hallo,Salut,Adieu\n1,Tag,Jour,Nuit\n", "line 3: duplicate id '1'"),
    ("query,translation,distractor1\nHallo,Salut,Salut\n", "no usable items"),
    ("query,translation,distractor1\n", "no usable items"),
    ("query,query_lang,candidate_lang,translation,distractor1\nHallo,d/e,fr,Salut,Adieu\n", "is not a language code"),
]


@pytest.mark.parametrize(("text", "message"), BAD_DISCRIMINATION)
def test_bad_discrimination_csv_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_discrimination(path, languages=None if "query_lang" in text else ["de", "fr"])
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_discrimination_without_languages_names_the_fix(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(DISCRIMINATION, encoding="utf-8")
    with pytest.raises(DataError, match="query_lang / candidate_lang"):
        read_discrimination(path)
    assert check_file(path).ok  # the format check does not need the languages


def test_qa_task_relates_every_language_of_a_question(tmp_path):
    path = _jsonl(tmp_path / "faq.jsonl", [
        {"id": "q1", "questions": {"en": "Price?", "de": "Preis?"},
         "answers": {"en": "Ten euros.", "de": "Zehn Euro."}},
        {"id": "q2", "questions": {"en": "Size?"}, "answers": {"en": "Large."}},
    ])
    task = read_qa_task(path)
    assert task.name == "faq" and len(task.queries) == 3 and len(task.passages) == 3
    assert task.qrels["q1|de"] == {"q1|de": 1, "q1|en": 1} and task.qrels["q2|en"] == {"q2|en": 1}
    assert len(read_qa_task(path, languages=["de"]).queries) == 1
    assert guess_format(path) == "qa"


def test_beir_folder_keeps_graded_qrels(tmp_path):
    _jsonl(tmp_path / "corpus.jsonl", [{"_id": "d1", "text": "one"}, {"_id": "d2", "text": "two"}])
    _jsonl(tmp_path / "queries.jsonl", [{"_id": "q1", "text": "first"}])
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1\n")
    task = read_beir_folder(tmp_path, name="mine")
    assert task.qrels == {"q1": {"d1": 2, "d2": 1}} and guess_format(tmp_path) == "beir"
    assert check_file(tmp_path).records == 2 + 1 + 2
    (tmp_path / "qrels" / "test.tsv").unlink()
    with pytest.raises(DataError, match="no qrels file"):
        read_beir_folder(tmp_path, name="mine")
