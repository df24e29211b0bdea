"""``check_file``: format guessing, summaries, and collecting every problem of a user's file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyret.data.check import check_file
from polyret.data.user_tasks import guess_format
from polyret.errors import DataError, UsageError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("de.json.gz", "lareqa"),
        ("qrels.miracl-v1.0-de-dev.tsv", "qrels"),
        ("topics.miracl-v1.0-de-dev.tsv", "topics"),
        ("queries.jsonl", "topics"),
        ("corpus.jsonl.gz", "corpus"),
        ("CLSD_wmt2019_adversarial_dataset.csv", "clsd"),
        ("tatoeba.deu-eng.deu", "parallel"),
    ],
)
def test_guess_format(name: str, expected: str) -> None:
    assert guess_format(name, task=False) == expected


def test_guess_format_peeks_into_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"id": "1", "questions": {}, "answers": {}}) + "\n")
    assert guess_format(path, task=False) == "qa"
    path.write_text(json.dumps({"id": "1", "text": {"en": "Hi", "de": "Hallo"}}) + "\n")
    assert guess_format(path, task=False) == "multiway"
    assert guess_format(tmp_path / "data.tsv", task=False) == "tsv"
    assert guess_format(tmp_path, task=False) == "beir"


def test_real_files_are_clean(data_dir: Path) -> None:
    report = check_file(data_dir / "xquad-r" / "th.json.gz")
    assert (report.ok, report.format, report.records, report.languages) == (True, "lareqa", 1190, ["th"])
    report = check_file(data_dir / "tatoeba-laser" / "tatoeba.deu-eng.eng.gz")
    assert report.ok and report.languages == ["de", "en"] and report.coverage == {"de": 1.0, "en": 1.0}


def test_every_problem_of_a_qa_file_is_collected(tmp_path: Path) -> None:
    good = {"id": "a", "questions": {"en": "q", "de": "f"}, "answers": {"en": "x"}}
    lines = [json.dumps(good), "{broken", json.dumps({**good, "id": "a"}), json.dumps({"id": "c", "questions": {}})]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = check_file(path)
    assert report.format == "qa" and report.records == 1 and report.problem_count == 3
    assert [p.record for p in report.problems] == [2, 3, 4]
    assert report.coverage == {"en": 1.0}
    with pytest.raises(DataError, match="line 2: malformed JSON"):
        check_file(path, collect=False)


def test_parallel_siblings_must_align(tmp_path: Path) -> None:
    (tmp_path / "news.de.txt").write_text("a\n\nc\n")
    (tmp_path / "news.en.txt").write_text("a\nb\n")
    report = check_file(tmp_path / "news.de.txt")
    assert report.languages == ["de", "en"] and report.problem_count == 2
    assert "line 2: the line is empty" in str(report.problems[0])
    assert "news.en.txt: 2 lines, but" in str(report.problems[1]) and "news.de.txt has 3" in str(report.problems[1])


def test_file_level_problem_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    report = check_file(path)
    assert report.problem_count == 1 and "missing column" in str(report.problems[0])
    with pytest.raises(UsageError, match="unknown format"):
        check_file(path, "xml")
