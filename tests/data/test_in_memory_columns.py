"""InMemoryColumns: the QuestionColumns view of a list of ParallelQA records."""

from __future__ import annotations

import pytest

from polyret.data.columns import InMemoryColumns, QuestionColumns, as_columns, shared_answer_keys
from polyret.data.records import ParallelQA
from polyret.errors import DataError

RECORDS = [
    ParallelQA("a", {"en": "q-a", "de": "q-a-de"}, {"en": "s", "de": "s-de"}, {"en": "ctx"}),
    ParallelQA("b", {"en": "q-b"}, {"es": "t"}),
    ParallelQA("c", {"zh": "q-c"}, {"de": "s-de", "zh": "u"}),
]


def test_it_reads_rows_by_number_and_reports_what_each_row_has():
    columns = InMemoryColumns(RECORDS, source="mine")
    assert isinstance(columns, QuestionColumns) and as_columns(columns) is columns
    assert len(columns) == 3 and columns.source == "mine" and columns.languages == ("de", "en", "es", "zh")
    assert columns.has("question", "en").tolist() == [True, True, False]
    assert columns.has("answer", "de").tolist() == [True, False, True]
    assert columns.has("context", "en").tolist() == [True, False, False]
    assert columns.has("answer", "fr").tolist() == [False, False, False]
    assert columns.ids([2, 0]) == ["c", "a"]
    assert columns.texts("answer", "de", [2, 1, 0]) == ["s-de", None, "s-de"]
    assert columns.negatives("en", [0, 1]) == [[], []]


def test_answer_keys_join_rows_whose_answers_share_a_text_in_any_language():
    assert InMemoryColumns(RECORDS).answer_keys().tolist() == [0, 1, 0]
    chain = [ParallelQA(str(i), {"en": "q"}, answers) for i, answers in enumerate(
        [{"en": "x"}, {"en": "y", "de": "z"}, {"de": "z", "es": "w"}, {"es": "w", "en": "x"}, {"en": "v"}])]
    assert shared_answer_keys(chain).tolist() == [0, 0, 0, 0, 4]  # 3 links 0 and 2, so 1-2 join them too


def test_duplicate_alignment_ids_are_a_data_error_naming_the_id():
    with pytest.raises(DataError, match="mine.*'b'|mine.*b"):
        InMemoryColumns([*RECORDS, RECORDS[1]], source="mine")
