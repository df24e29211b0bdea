"""Hard negatives in training: columns in the passage's language, the loss gets them, rows lacking them refused."""

from __future__ import annotations

import json

import pytest
import torch
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from polyret.data.columns import InMemoryColumns
from polyret.data.corpus_sources import QAJsonlSource
from polyret.data.prepare import prepare_corpus
from polyret.data.records import ParallelQA
from polyret.errors import UsageError
from polyret.sampling import LanguageBatchSampler, PairTable
from polyret.training import TrainConfig, train
from polyret.training.dataset import PairTexts, missing_negatives
from polyret.training.language_losses import ParallelQueryAlignmentLoss

LANGS = ("de", "en", "fr")


def _records(count: int = 12, negatives: int = 3) -> list[ParallelQA]:
    return [ParallelQA(f"q{i}", {lang: f"question {i} {lang}" for lang in LANGS},
                       {lang: f"answer {i} {lang}" for lang in LANGS}, {"en": f"context {i} en"},
                       negatives={lang: tuple(f"wrong {i}.{n} {lang}" for n in range(negatives)) for lang in LANGS})
            for i in range(count)]


def test_each_pair_takes_its_negatives_in_the_passage_language():
    table = PairTable(_records())
    texts = PairTexts(table, with_context=True, hard_negatives=2, parallel_queries=True)
    assert texts.column_names == ["query", "passage", "negative_1", "negative_2", "parallel_query"]
    batch = next(LanguageBatchSampler(table, 6, kind="cross_lingual", seed=1).row_batches())
    items = texts.__getitems__(batch)
    for code, item in zip(batch, items, strict=True):
        ref = table.pair(code)
        assert ref.query_lang != ref.passage_lang
        assert list(item) == texts.column_names
        assert item["negative_1"] == f"wrong {ref.example_index}.0 {ref.passage_lang}"
        assert item["negative_2"] == f"wrong {ref.example_index}.1 {ref.passage_lang}"


def test_a_negative_that_is_another_pairs_positive_in_the_batch_is_passed_over():
    records = _records(4)
    records[0] = ParallelQA("q0", records[0].questions, records[0].answers,
                            negatives={"en": ("answer 1 en", "wrong 0.1 en", "wrong 0.2 en")})
    table = PairTable(records, languages=["en"])
    texts = PairTexts(table, with_context=False, hard_negatives=1)
    items = texts.__getitems__(table.pair_codes().tolist())
    assert items[0]["negative_1"] == "wrong 0.1 en"  # "answer 1 en" is the positive of the second pair
    alone = texts.__getitems__(table.pair_codes()[:1].tolist())
    assert alone[0]["negative_1"] == "answer 1 en"  # not in this batch: the hardest stays first


def test_rows_lacking_negatives_are_counted_per_language_and_training_refuses(tiny_model_dir, tmp_path):
    records = _records()
    records[3] = ParallelQA("q3", records[3].questions, records[3].answers, negatives={"en": ("x", "y")})
    records[5] = ParallelQA("q5", records[5].questions, records[5].answers, negatives={"en": ("x",)})
    table = PairTable(records)
    assert missing_negatives(table, 2) == {"de": (2, 3), "en": (1, 5), "fr": (2, 3)}
    assert missing_negatives(table, 1) == {"de": (2, 3), "fr": (2, 3)}
    assert missing_negatives(PairTable(records, languages=["en"]), 1) == {}
    assert missing_negatives(PairTable(records, languages=["en"]), 2) == {"en": (1, 5)}
    config = TrainConfig(model=str(tiny_model_dir), batch_size=4, max_steps=1, hard_negatives=2)
    message = r"fewer than 2 hard negatives .*: 2 in de, 1 in en, 2 in fr \(first: id 'q3' in de\)"
    with pytest.raises(UsageError, match=message):
        train(config, records, output_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_prepared_corpus_counts_negatives_like_its_records(tmp_path):
    records = _records(5)
    records[2] = ParallelQA("q2", records[2].questions, records[2].answers, negatives={"de": ("only",)})
    source = tmp_path / "train.jsonl"
    source.write_text("".join(json.dumps({"id": r.id, "questions": r.questions, "answers": r.answers,
                                          "negatives": {k: list(v) for k, v in r.negatives.items()}}) + "\n"
                              for r in records), encoding="utf-8")
    corpus = prepare_corpus([QAJsonlSource(source)], tmp_path / "corpus", batch_rows=2)
    columns = InMemoryColumns(records)
    for lang in LANGS:
        assert corpus.negative_counts(lang).tolist() == columns.negative_counts(lang).tolist()
        assert corpus.negatives(lang, [2, 0]) == columns.negatives(lang, [2, 0])
    assert corpus.negative_counts("fr").tolist() == [3, 3, 0, 3, 3]


def test_the_loss_gets_the_negative_columns_in_training(tiny_model_dir, tmp_path, monkeypatch):
    seen: list[int] = []
    original = MultipleNegativesRankingLoss.compute_loss_from_embeddings

    def spy(self, embeddings, labels):
        seen.append(len(embeddings))
        assert all(e.shape == embeddings[0].shape for e in embeddings)
        return original(self, embeddings, labels)

    monkeypatch.setattr(MultipleNegativesRankingLoss, "compute_loss_from_embeddings", spy)
    config = TrainConfig(model=str(tiny_model_dir), batch_size=4, max_steps=2, hard_negatives=2, lr=1e-3,
                         with_context=False, save_steps=100, alignment_weight=0.5, symmetric=True)
    outcome = train(config, _records(), output_dir=tmp_path / "run", final_checkpoint=False)
    assert seen == [4, 4]  # query, passage and two negatives, each step (the parallel query is the alignment's)
    assert outcome.steps == 2
    assert TrainConfig.from_run(outcome.run_dir).hard_negatives == 2


def test_the_alignment_term_passes_negative_columns_to_the_ranking_loss_as_candidates():
    torch.manual_seed(0)
    queries, passages, negatives = (torch.nn.functional.normalize(torch.randn(4, 8), dim=1) for _ in range(3))
    ranking = MultipleNegativesRankingLoss(None)
    wrapped = ParallelQueryAlignmentLoss(ranking, weight=0.0)
    plain = wrapped.compute_loss_from_embeddings([queries, passages, queries], None)
    harder = wrapped.compute_loss_from_embeddings([queries, passages, negatives, queries], None)
    assert harder > plain  # four more candidates in every softmax
    assert torch.isclose(harder, ranking.compute_loss_from_embeddings([queries, passages, negatives], None))


def test_config_keeps_old_identities_and_refuses_multi_positive_with_negatives():
    assert "hard_negatives" not in TrainConfig().identity()
    assert TrainConfig(hard_negatives=2).identity()["hard_negatives"] == 2
    with pytest.raises(UsageError, match="multi_positive has no symmetric, cached or hard-negative loss"):
        TrainConfig.from_dict({"sampler": "multi_positive", "batch_size": 8, "hard_negatives": 1})
    with pytest.raises(UsageError, match="hard_negatives"):
        TrainConfig.from_dict({"hard_negatives": -1})
