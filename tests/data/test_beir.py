"""BEIR-style corpus/topics/qrels and the MIRACL topics/qrels of the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyret.data.beir import load_beir, load_miracl_qrels, load_miracl_topics, read_corpus, read_qrels, read_topics
from polyret.errors import DataError


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


@pytest.fixture
def beir_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    corpus = _write(
        tmp_path / "corpus.jsonl",
        [
            json.dumps({"_id": "d1", "title": "Cats", "text": "Cats purr."}),
            json.dumps({"docid": "d2", "text": "Dogs."}),
        ],
    )
    topics = _write(tmp_path / "topics.tsv", ["q1\tdo cats purr?", "q2\tdogs?", "q3\tunjudged"])
    qrels = _write(tmp_path / "qrels.txt", ["q1 Q0 d1 1", "q1 Q0 d2 0", "q2 Q0 d1 0"])
    return corpus, topics, qrels


def test_load_beir_keeps_positives_only(beir_files: tuple[Path, Path, Path]) -> None:
    task = load_beir(*beir_files, name="toy")
    assert [q.id for q in task.queries] == ["q1"]  # q2 has only a judged negative, q3 no judgement
    assert task.qrels == {"q1": {"d1": 1}}
    assert [p.text for p in task.passages] == ["Cats Cats purr.", "Dogs."]
    assert read_qrels(beir_files[2]).negative_count == 2


def test_beir_queries_jsonl_and_qrels_tsv(tmp_path: Path) -> None:
    queries = _write(tmp_path / "queries.jsonl", [json.dumps({"_id": "1", "text": "why?"})])
    qrels = _write(tmp_path / "test.tsv", ["query-id\tcorpus-id\tscore", "1\td9\t2"])
    assert read_topics(queries) == {"1": "why?"}
    assert read_qrels(qrels).positive == {"1": {"d9": 2}}


def test_dangling_ids_are_errors(beir_files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    corpus, topics, _ = beir_files
    with pytest.raises(DataError, match="record 'q9'.*not in the topics"):
        load_beir(corpus, topics, _write(tmp_path / "q9.txt", ["q9 Q0 d1 1"]), name="toy")
    with pytest.raises(DataError, match="record 'q1'.*1 judged document.*missing from the corpus.*'d7'"):
        load_beir(corpus, topics, _write(tmp_path / "d7.txt", ["q1 Q0 d7 1"]), name="toy")


@pytest.mark.parametrize(
    ("name", "lines", "reader", "message"),
    [
        ("corpus.jsonl", ['{"_id": "d1", "text": "a"}', '{"_id": "d1", "text": "b"}'], read_corpus, "line 2: dup"),
        ("corpus.jsonl", ['{"_id": "d1"}'], read_corpus, "line 1: missing field 'text'"),
        ("corpus.jsonl", ['{"_id": "d1", "text": ""}'], read_corpus, "line 1: field 'text' is empty"),
        ("corpus.jsonl", ["[1, 2]"], read_corpus, "line 1: a JSON list"),
        ("topics.tsv", ["q1 no tab"], read_topics, "line 1: 1 column"),
        ("topics.tsv", ["q1\ta", "q1\tb"], read_topics, "line 2: duplicate query id 'q1'"),
        ("qrels.txt", ["q1 Q0 d1"], read_qrels, "line 1: 3 column.*qid Q0 docid relevance"),
        ("qrels.txt", ["q1 Q0 d1 x"], read_qrels, "line 1: relevance 'x'"),
        ("qrels.txt", ["q1 Q0 d1 1", "q1 Q0 d1 0"], read_qrels, r"line 2: pair \(q1, d1\) judged twice"),
    ],
)
def test_broken_files(tmp_path: Path, name: str, lines: list[str], reader, message: str) -> None:
    with pytest.raises(DataError, match=message):
        reader(_write(tmp_path / name, lines))


def test_miracl_counts_match_readme(data_dir: Path) -> None:
    topics = load_miracl_topics("de", data_dir=data_dir)
    qrels = load_miracl_qrels("de", data_dir=data_dir)
    assert len(topics) == 305
    assert sum(len(d) for d in qrels.positive.values()) == 811 and qrels.negative_count == 2333
    assert qrels.query_ids <= set(topics)
