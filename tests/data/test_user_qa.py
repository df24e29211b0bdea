"""The user's parallel QA JSON lines and HF datasets."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from polyret.data.user_qa import load_qa_jsonl, qa_from_dataset
from polyret.errors import DataError

GOOD = {
    "id": "q1",
    "group": "art-1",
    "questions": {"en": "Who wrote Faust?", "deu": "Wer schrieb Faust?"},
    "answers": {"en": "Goethe wrote Faust.", "de": "Goethe schrieb den Faust."},
    "contexts": {"en": "Goethe wrote Faust. He lived in Weimar."},
}


def _jsonl(path: Path, records: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", "utf-8")
    return path


def test_load_qa_jsonl(tmp_path: Path) -> None:
    second = {"id": 2, "questions": {"de": "Wo?"}, "answers": {"en": "There."}}
    items = load_qa_jsonl(_jsonl(tmp_path / "qa.jsonl", [GOOD, "", second]))
    assert [i.id for i in items] == ["q1", "2"]
    assert items[0].languages == ["de", "en"] and items[0].group == "art-1"
    assert items[0].contexts == {"en": GOOD["contexts"]["en"]}
    assert items[1].languages == [] and items[1].group is None  # cross-lingual only: de question, en answer


def test_qa_from_dataset_treats_missing_struct_fields_as_absent() -> None:
    other = {"id": "q2", "group": None, "questions": {"en": "Why?"}, "answers": {"en": "Because."}, "contexts": None}
    ds = datasets.Dataset.from_list([{**GOOD, "questions": {"en": "Who?", "de": "Wer?"}}, other])
    items = qa_from_dataset(ds)
    assert items[1].questions == {"en": "Why?"} and items[1].contexts == {}
    assert items[0].questions == {"en": "Who?", "de": "Wer?"}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ('{"id": "q1", ', "line 2: malformed JSON"),
        ({**GOOD, "answer": "x"}, "line 2: unexpected field.*answer"),
        ({k: v for k, v in GOOD.items() if k != "answers"}, "line 2: missing field 'answers'"),
        ({**GOOD, "id": "q1"}, "line 2: duplicate id 'q1'"),
        ({**GOOD, "id": "q2", "questions": {"en": " "}}, r"line 2: questions\['en'\] is empty"),
        ({**GOOD, "id": "q2", "questions": {}}, "line 2: no questions"),
        ({**GOOD, "id": "q2", "questions": {"xx": "?"}}, "line 2: unknown language code 'xx'"),
        ({**GOOD, "id": "q2", "contexts": {"fr": "c"}}, "line 2: contexts without an answer in fr"),
        ({**GOOD, "id": "q2", "group": 5}, "line 2: group 5"),
    ],
)
def test_broken_records_name_the_line(tmp_path: Path, record, message: str) -> None:
    path = _jsonl(tmp_path / "qa.jsonl", [GOOD, record])
    with pytest.raises(DataError, match=message) as info:
        load_qa_jsonl(path)
    assert str(path) in str(info.value)


def test_unknown_languages_kept_when_allowed(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "qa.jsonl", [{"id": "k", "questions": {"tlh": "nuq?"}, "answers": {"tlh": "ghobe'"}}])
    with pytest.raises(DataError):
        load_qa_jsonl(path)
    assert load_qa_jsonl(path, allow_unknown_languages=True)[0].languages == ["tlh"]
