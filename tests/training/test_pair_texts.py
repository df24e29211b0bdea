"""PairTexts: the texts of a batch of pair codes, read from the question columns only when asked for."""

from __future__ import annotations

from polyret.data.columns import InMemoryColumns
from polyret.data.records import ParallelQA
from polyret.sampling import LanguageBatchSampler, PairTable
from polyret.training.dataset import PairTexts

RECORDS = [
    ParallelQA(f"q{i}", {lang: f"question {i} {lang}" for lang in ("de", "en", "zh")},
               {lang: f"answer {i} {lang}" for lang in ("de", "en")}, {"de": f"paragraph {i} de"})
    for i in range(6)
]


def test_each_code_reads_its_question_and_answer_with_the_passage_context_and_label():
    table = PairTable(RECORDS)
    texts = PairTexts(table, with_context=True, group_labels=True)
    codes = table.pair_codes()
    assert len(texts) == len(codes) == 6 * 3 * 2
    for code, item in zip(codes.tolist(), texts.__getitems__(codes.tolist()), strict=True):
        ref = table.pair(code)
        context = f"\n\nparagraph {ref.example_index} de" if ref.passage_lang == "de" else ""
        assert item == {"query": f"question {ref.example_index} {ref.query_lang}",
                        "passage": f"answer {ref.example_index} {ref.passage_lang}{context}",
                        "label": ref.example_index}
        assert texts[code] == item


def test_a_sampled_batch_reads_the_same_texts_from_records_and_from_their_columns():
    batch = next(LanguageBatchSampler(PairTable(RECORDS), 4, kind="mixed", seed=3).row_batches())
    from_records = PairTexts(PairTable(RECORDS), with_context=False).__getitems__(batch)
    from_columns = PairTexts(PairTable(InMemoryColumns(RECORDS)), with_context=False).__getitems__(batch)
    assert from_records == from_columns and len({item["query"].split()[1] for item in from_records}) == 4
    assert list(from_records[0]) == ["query", "passage"]


def test_the_preview_holds_the_first_pairs_as_a_datasets_dataset():
    texts = PairTexts(PairTable(RECORDS), with_context=False)
    preview = texts.preview(5)
    assert preview.column_names == ["query", "passage"] and len(preview) == 5
    assert preview[0] == {"query": "question 0 de", "passage": "answer 0 de"}
    assert preview[2] == {"query": "question 0 en", "passage": "answer 0 de"}
