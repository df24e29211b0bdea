"""LAReQA loaders on the real XQuAD-R / MLQA-R files, and their errors on broken SQuAD files."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from polyret.data.lareqa import lareqa_task, load_lareqa, load_parallel_qa, load_xquad, parallel_qa, read_squad
from polyret.data.records import RetrievalTask
from polyret.errors import DataError, UsageError

XQUAD_R_CANDIDATES = {
    "ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244,
    "ru": 1219, "th": 852, "tr": 1167, "vi": 1209, "zh": 1196,
}  # fmt: skip
MLQA_R_CANDIDATES = {"ar": 2545, "de": 2362, "en": 6264, "es": 1787, "hi": 2426, "vi": 2828, "zh": 2322}


@pytest.fixture(scope="module")
def xquad_r(data_dir: Path) -> RetrievalTask:
    return load_lareqa("xquad-r", data_dir=data_dir)


@pytest.fixture(scope="module")
def mlqa_r(data_dir: Path) -> RetrievalTask:
    return load_lareqa("mlqa-r", data_dir=data_dir)


def test_xquad_r_sizes(xquad_r: RetrievalTask) -> None:
    assert Counter(q.lang for q in xquad_r.queries) == dict.fromkeys(XQUAD_R_CANDIDATES, 1190)
    assert len(xquad_r.passages) == 13_014
    assert Counter(p.lang for p in xquad_r.passages) == XQUAD_R_CANDIDATES
    assert len({p.id for p in xquad_r.passages}) == 13_014
    assert {len(rel) for rel in xquad_r.qrels.values()} == {11}


def test_xquad_r_relevant_set_is_one_gold_sentence_per_language(xquad_r: RetrievalTask) -> None:
    langs = {p.id: p.lang for p in xquad_r.passages}
    for query in xquad_r.queries[:200]:
        assert sorted(langs[pid] for pid in xquad_r.qrels[query.id]) == sorted(XQUAD_R_CANDIDATES)


def test_xquad_r_groups_are_articles_shared_across_languages(xquad_r: RetrievalTask) -> None:
    groups = {q.alignment_id: set() for q in xquad_r.queries}
    for q in xquad_r.queries:
        groups[q.alignment_id].add(q.group)
    assert all(len(g) == 1 for g in groups.values())
    assert len({q.group for q in xquad_r.queries}) == 48


def test_gold_sentence_is_the_span_holding_the_answer(xquad_r: RetrievalTask, data_dir: Path) -> None:
    raw = json.loads(gzip.decompress((data_dir / "xquad-r" / "de.json.gz").read_bytes()))
    texts = {p.id: p.text for p in xquad_r.passages}
    checked = 0
    for para in raw["data"][3]["paragraphs"]:
        for qa in para["qas"]:
            start = qa["answers"][0]["answer_start"]
            (expected,) = [
                s for s, (b, e) in zip(para["sentences"], para["sentence_breaks"], strict=True) if b <= start < e
            ]
            gold = [texts[pid] for pid in xquad_r.qrels[f"{qa['id']}|de"] if pid.startswith("de|")]
            assert gold == [expected]
            assert qa["answers"][0]["text"] in expected
            checked += 1
    assert checked > 0


def test_passage_context_is_the_paragraph_without_bom(xquad_r: RetrievalTask) -> None:
    tr = [p for p in xquad_r.passages if p.lang == "tr"]
    assert sum(p.text not in p.context for p in tr) <= 2  # the README's two off-by-one Turkish sentences
    assert not any(p.text.startswith("\ufeff") or p.context.startswith("\ufeff") for p in xquad_r.passages)


def test_mlqa_r_sizes(mlqa_r: RetrievalTask) -> None:
    assert len(mlqa_r.passages) == 20_534
    assert len(mlqa_r.queries) == 4_199
    assert Counter(p.lang for p in mlqa_r.passages) == MLQA_R_CANDIDATES
    assert Counter(len(rel) for rel in mlqa_r.qrels.values()).keys() == {2, 3, 4}


def test_mlqa_r_groups_agree_across_languages(mlqa_r: RetrievalTask) -> None:
    by_id: dict[str, set[str | None]] = {}
    for q in mlqa_r.queries:
        by_id.setdefault(q.alignment_id, set()).add(q.group)
    assert all(len(g) == 1 for g in by_id.values())


def test_language_subset_restricts_queries_pool_and_qrels(data_dir: Path) -> None:
    task = load_lareqa("mlqa-r", languages=["de", "deu", "es"], data_dir=data_dir)
    assert task.query_languages == task.passage_languages == ["de", "es"]
    assert all(pid.split("|")[0] in {"de", "es"} for rel in task.qrels.values() for pid in rel)
    assert task.queries[0].group.isdigit()  # English article key even without English loaded


def test_unknown_language_or_name_is_a_usage_error(data_dir: Path) -> None:
    with pytest.raises(UsageError, match="mlqa-r has no language el"):
        load_lareqa("mlqa-r", languages=["el"], data_dir=data_dir)
    with pytest.raises(UsageError, match="unknown LAReQA data set"):
        load_lareqa("squad", data_dir=data_dir)


def test_parallel_qa_from_xquad_r(data_dir: Path) -> None:
    items = load_parallel_qa("xquad-r", languages=["en", "de"], groups=["0", "1"], data_dir=data_dir)
    assert items and {item.group for item in items} <= {"0", "1"}
    first = items[0]
    assert first.languages == ["de", "en"]
    assert first.answers["en"] in first.contexts["en"]


def test_plain_xquad_answers_are_paragraphs(data_dir: Path) -> None:
    items = load_xquad(["ro", "en"], data_dir=data_dir)
    assert len(items) == 1190
    assert items[0].languages == ["en", "ro"] and not items[0].contexts


# --- small hand-written files -------------------------------------------------------------------------------------


def _paragraph(context: str, sentences: list[str], breaks: list[list[int]], qas: list[dict]) -> dict:
    return {"context": context, "sentences": sentences, "sentence_breaks": breaks, "qas": qas}


def _qa(qid: str, question: str, start: int) -> dict:
    return {"id": qid, "question": question, "answers": [{"text": "x", "answer_start": start}]}


def _write(path: Path, paragraphs: list[dict]) -> Path:
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}), "utf-8")
    return path


def test_tiny_task_links_gold_sentences_across_languages(tmp_path: Path) -> None:
    en = _write(
        tmp_path / "en.json", [_paragraph("A b. C d.", ["A b.", "C d."], [[0, 4], [5, 9]], [_qa("q", "C?", 6)])]
    )
    de = _write(tmp_path / "de.json", [_paragraph("\ufeffE f.", ["\ufeffE f."], [[0, 5]], [_qa("q", "E?", 1)])])
    task = lareqa_task({lang: read_squad(p, with_sentences=True) for lang, p in [("en", en), ("de", de)]}, name="t")
    assert task.qrels["q|de"] == task.qrels["q|en"] == {"en|0|0|1": 1, "de|0|0|0": 1}
    assert [p.text for p in task.passages] == ["A b.", "C d.", "E f."]
    items = parallel_qa({"en": read_squad(en, with_sentences=True)})
    assert items[0].answers == {"en": "C d."} and items[0].contexts == {"en": "A b. C d."}


@pytest.mark.parametrize(
    ("paragraph", "message"),
    [
        ({"context": "A.", "qas": []}, r"data\[0\]\.paragraphs\[0\]'?: missing field 'sentences'"),
        (_paragraph("A.", ["A."], [[0, 2], [2, 3]], []), "2 sentence_breaks for 1 sentences"),
        (_paragraph("A.", ["A."], [[0, 2]], [_qa("q", "A?", 9)]), "answer_start 9 lies in no sentence"),
        (_paragraph("A.", ["A."], [[0, 2]], [_qa("q", " ", 0)]), "field 'question' is empty"),
        (_paragraph("A.", [""], [[0, 2]], []), r"sentences\[0\] is empty"),
        (_paragraph("A.", ["A."], [[0, 2]], [{"id": "q", "question": "A?", "answers": []}]), "no answer"),
        (_paragraph("A.", ["A."], [[0, 2]], [_qa("q", "A?", 0), _qa("q", "A?", 1)]), "duplicate question id 'q'"),
    ],
)
def test_broken_paragraph_is_reported_with_file_and_record(tmp_path: Path, paragraph: dict, message: str) -> None:
    path = _write(tmp_path / "de.json", [paragraph])
    with pytest.raises(DataError, match=message) as info:
        read_squad(path, with_sentences=True)
    assert str(path) in str(info.value)


def test_malformed_json_names_line(tmp_path: Path) -> None:
    path = tmp_path / "de.json"
    path.write_text('{"data": [\n{"title": }]}', "utf-8")
    with pytest.raises(DataError, match=r"de\.json, line 2: malformed JSON"):
        read_squad(path, with_sentences=True)


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "de.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"data": []}).encode() * 50)[:30])
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        read_squad(path, with_sentences=True)
