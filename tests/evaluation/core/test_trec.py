"""TREC run and qrels files: format, ordering, round trip through pytrec_eval's parsers, errors, atomicity."""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

from polyret.errors import DataError, UsageError
from polyret.evaluation.trec import read_qrels, read_run, run_from_top_k, write_qrels, write_run

RUN = {"q1": {"d2": 0.5, "d1": 0.9, "d3": 0.5}, "q2": {"d3": -0.25}}
QRELS = {"q1": {"d1": 1, "d3": 0}, "q2": {"d3": 2}}


def test_run_file_layout(tmp_path):
    path = tmp_path / "run.trec"
    write_run(path, RUN, tag="mine")
    assert path.read_text().splitlines() == [
        "q1 Q0 d1 1 0.9 mine",
        "q1 Q0 d2 2 0.5 mine",
        "q1 Q0 d3 3 0.5 mine",
        "q2 Q0 d3 1 -0.25 mine",
    ]


def test_round_trip_and_pytrec_eval_parsers(tmp_path):
    write_run(tmp_path / "run", RUN)
    write_qrels(tmp_path / "qrels", QRELS)
    assert read_run(tmp_path / "run") == RUN and read_qrels(tmp_path / "qrels") == QRELS
    with open(tmp_path / "run") as run, open(tmp_path / "qrels") as qrels:
        assert pytrec_eval.parse_run(run) == RUN and pytrec_eval.parse_qrel(qrels) == QRELS


def test_run_from_top_k():
    scores = np.array([[0.9, 0.1], [0.7, 0.0]], dtype=np.float32)
    indices = np.array([[2, 0], [1, -1]])
    run = run_from_top_k(["qa", "qb"], ["p0", "p1", "p2"], scores, indices)
    assert run == {"qa": {"p2": pytest.approx(0.9), "p0": pytest.approx(0.1)}, "qb": {"p1": pytest.approx(0.7)}}


def test_bad_id_leaves_the_old_file(tmp_path):
    path = tmp_path / "run"
    write_run(path, RUN)
    before = path.read_text()
    with pytest.raises(UsageError, match="whitespace"):
        write_run(path, {"q1": {"d1": 1.0}, "q 2": {"d1": 1.0}})
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


@pytest.mark.parametrize(
    ("reader", "text", "line"),
    [(read_run, "q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 high t\n", "line 2"), (read_qrels, "q1 0 d1 1\nq1 d2 1\n", "line 2")],
)
def test_malformed_files(tmp_path, reader, text, line):
    path = tmp_path / "file"
    path.write_text(text)
    with pytest.raises(DataError, match=line):
        reader(path)
