"""Evaluation report: results.json round trip, markdown numbers equal to the JSON, figures, markdown helpers."""

from __future__ import annotations

import re

import pytest

from polyret.errors import DataError
from polyret.evaluation.markdown import markdown_table, matrix_table
from polyret.evaluation.report import read_evaluation_results, write_evaluation_report
from polyret.evaluation.result import TaskResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _results() -> dict[str, TaskResult]:
    lareqa = TaskResult(
        "xquad-r", "multi.map", {"multi.map": 0.41234, "mono.map": 0.6, "cross.map": 0.35, "multi.bias": 123.5},
        matrices={"map": {"de": {"de": 0.7, "en": 0.3}, "en": {"de": 0.4, "en": 0.5}}},
        per_query={"multi.ap": {"q1|de": 0.5, "q1|en": 0.25}},
        details={"multi_by_lang": {"de": {"map": 0.45, "bias": 100.0}, "en": {"map": 0.37, "bias": 147.0}}},
    )
    clsd = TaskResult(
        "clsd-wmt19", "acc", {"de-fr.acc": 0.9, "fr-de.acc": 0.8, "acc": 0.85},
        per_query={"acc": {"1|de-fr": 1.0, "1|fr-de": 0.0}},
        details={"swaps": {"operation": {"Swap": {"n": 3.0, "acc": 2 / 3}}, "entity_type": {}, "pos_tag": {}}},
    )
    return {"xquad-r": lareqa, "clsd-wmt19": clsd}


def test_report_files_and_numbers_agree(tmp_path):
    files = write_evaluation_report(_results(), tmp_path / "out", model_name="m", meta={"suite": "quick", "n": 3})
    model, meta, loaded = read_evaluation_results(files.results.parent)
    assert model == "m" and meta == {"suite": "quick", "n": 3}
    assert loaded == _results()
    text = files.markdown.read_text(encoding="utf-8")
    summary = dict(re.findall(r"^\| (\S+) \| \S+ \| ([0-9.]+) \|$", text.split("## Summary")[1].split("##")[0], re.M))
    assert {task: float(v) for task, v in summary.items()} == pytest.approx(
        {task: r.main_score for task, r in loaded.items()}, abs=5e-5
    )
    assert "| de | 0.7000 | 0.3000 | 0.4500 |" in text  # per-language: mono, cross, pooled map
    assert "| operation | Swap | 3 | 0.6667 |" in text
    names = sorted(p.name for p in files.figures)
    assert names == ["xquad-r-bias.png", "xquad-r-map.png"]
    assert all(p.read_bytes().startswith(PNG_MAGIC) and f"]({p.name})" in text for p in files.figures)


def test_reading_something_else_is_a_data_error(tmp_path):
    (tmp_path / "results.json").write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(DataError, match="not an evaluation results file"):
        read_evaluation_results(tmp_path)


def test_markdown_tables_align_numbers_and_show_gaps():
    table = markdown_table(["lang", "score"], [["de", 0.5], ["en|x", None]], digits=2)
    assert table.splitlines() == ["| lang | score |", "|---|---:|", "| de | 0.50 |", "| en\\|x | – |"]
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        markdown_table(["a", "b"], [["x"]])
    assert matrix_table({"de": {"en": 1.0}, "en": {"de": 0.5, "en": 1.0}}).splitlines()[2] == "| de | – | 1.0000 |"


def test_bias_table_shows_the_fields_measures(tmp_path):
    result = _results()["xquad-r"]
    result.details["multi_by_lang"]["de"] |= {"peer@10": 0.25, "pref_gap@10": 0.5, "own_r@10": 0.9}
    result.matrices["target_r@10"] = {"de": {"de": 0.9, "en": 0.2}, "en": {"de": 0.3, "en": 0.8}}
    text = write_evaluation_report({"xquad-r": result}, tmp_path, model_name="m").markdown.read_text("utf-8")
    bias = text.split("### Language bias per query language")[1]
    assert "| query language | bias | peer@10 | pref_gap@10 | own_r@10 |" in bias
    assert "| de | 100.0000 | 0.2500 | 0.5000 | 0.9000 |" in bias
    assert "| en | 147.0000 | – | – | – |" in bias
    assert "peer@10: PEER" in bias  # each measure is explained where it is shown
    assert "### target_r@10 (rows: query language" in text and "| de | 0.9000 | 0.2000 |" in text
