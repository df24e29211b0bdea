"""Language erasure and parallel-query alignment: values by hand, the probe they should defeat, training with them."""

from __future__ import annotations

import json
import math

import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from polyret.data.lareqa import load_parallel_qa
from polyret.data.records import ParallelQA
from polyret.errors import UsageError
from polyret.sampling import PairTable
from polyret.training import TrainConfig, train
from polyret.training.dataset import PairTexts
from polyret.training.language_losses import (
    LanguageErasureLoss,
    ParallelQueryAlignmentLoss,
    language_cross_covariance,
)
from polyret.training.losses import MultiPositiveRankingLoss


@pytest.fixture(scope="module")
def model(tiny_model_dir) -> SentenceTransformer:
    return SentenceTransformer(str(tiny_model_dir), device="cpu")


def _random(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_one_language_gives_zero_penalty_and_zero_gradient():
    embeddings = _random(10, 6).requires_grad_()
    penalty = language_cross_covariance(embeddings, torch.full((10,), 3))
    penalty.backward()
    assert penalty.item() == 0.0 and float(embeddings.grad.abs().sum()) == 0.0


def test_penalty_matches_a_hand_computation():
    # two languages, 2 and 1 embeddings: means (1, 0) and (0, 3); overall mean (2/3, 1)
    embeddings = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    languages = torch.tensor([0, 0, 1])
    # C[:, l] = p_l * (mean_l - mean): p = (2/3, 1/3) -> columns (2/9, -2/3) and (-2/9, 2/3)
    expected = 2 * ((2 / 9) ** 2 + (2 / 3) ** 2)
    assert float(language_cross_covariance(embeddings, languages)) == pytest.approx(expected, rel=1e-6)
    assert float(language_cross_covariance(embeddings + 5.0, languages)) == pytest.approx(expected, rel=1e-5)


def test_penalty_vanishes_when_languages_share_their_mean_and_not_otherwise():
    shared = _random(8, 4)
    embeddings = torch.cat([shared, shared[torch.randperm(8, generator=torch.Generator().manual_seed(1))]])
    languages = torch.tensor([0] * 8 + [1] * 8)
    assert float(language_cross_covariance(embeddings, languages)) == pytest.approx(0.0, abs=1e-10)
    assert float(language_cross_covariance(embeddings + torch.tensor([1.0, 0, 0, 0]) * languages[:, None],
                                           languages)) > 0.1


def _probe_accuracy(embeddings: torch.Tensor, languages: torch.Tensor) -> float:
    """Accuracy of a linear language probe (logistic regression, fitted on half the points, scored on the rest)."""
    order = torch.randperm(len(languages), generator=torch.Generator().manual_seed(0))
    train_rows, test_rows = order[: len(order) // 2], order[len(order) // 2:]
    probe = torch.nn.Linear(embeddings.size(1), int(languages.max()) + 1)
    optimizer = torch.optim.Adam(probe.parameters(), lr=0.05)
    features = embeddings.detach()
    for _ in range(300):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(probe(features[train_rows]), languages[train_rows]).backward()
        optimizer.step()
    return float((probe(features[test_rows]).argmax(dim=1) == languages[test_rows]).float().mean())


def test_minimising_the_penalty_defeats_a_linear_language_probe():
    # three languages, each a fixed offset from shared content: a linear probe reads the language off
    languages = torch.arange(3).repeat_interleave(200)
    start = _random(600, 16, seed=3) + (_random(3, 16, seed=2) * 1.5)[languages]
    embeddings = start.clone().requires_grad_()  # trained directly, on batches of 64
    assert _probe_accuracy(embeddings, languages) > 0.95
    optimizer = torch.optim.Adam([embeddings], lr=0.05)
    for step in range(200):
        batch = torch.randint(0, 600, (64,), generator=torch.Generator().manual_seed(step))
        fidelity = (embeddings[batch] - start[batch]).square().sum(dim=1).mean()  # stands in for the ranking loss
        optimizer.zero_grad()
        (100 * language_cross_covariance(embeddings[batch], languages[batch]) + 0.01 * fidelity).backward()
        optimizer.step()
    assert _probe_accuracy(embeddings, languages) < 0.45  # chance is 1/3


def test_erasure_wrapper_adds_the_weighted_penalty_of_queries_and_passages(model):
    queries, passages = _random(4, 8, seed=4), _random(4, 8, seed=5)
    languages = torch.tensor([[0, 1], [1, 1], [2, 0], [0, 2]])  # (query, passage) language per row
    ranking = MultipleNegativesRankingLoss(model)
    loss = LanguageErasureLoss(ranking, weight=3.0)
    value = loss.compute_loss_from_embeddings([queries, passages], languages)
    penalty = language_cross_covariance(torch.cat([queries, passages]), torch.tensor([0, 1, 2, 0, 1, 1, 0, 2]))
    expected = ranking.compute_loss_from_embeddings([queries, passages], None) + 3.0 * penalty
    assert float(value) == pytest.approx(float(expected), rel=1e-6)


def test_erasure_wrapper_passes_the_group_label_to_the_multi_positive_loss(model):
    queries, passages = _random(4, 8, seed=6), _random(4, 8, seed=7)
    groups = torch.tensor([5, 5, 9, 9])
    monolingual = torch.tensor([[5, 0, 0], [5, 0, 0], [9, 0, 0], [9, 0, 0]])  # one language: no penalty
    ranking = MultiPositiveRankingLoss(model)
    value = LanguageErasureLoss(ranking, weight=10.0).compute_loss_from_embeddings([queries, passages], monolingual)
    assert float(value) == pytest.approx(float(ranking.compute_loss_from_embeddings([queries, passages], groups)))
    with pytest.raises(ValueError, match="language index"):
        LanguageErasureLoss(ranking).compute_loss_from_embeddings([queries, passages], groups)


def test_alignment_is_the_symmetric_kl_of_the_score_distributions(model):
    queries, passages, parallel = _random(3, 8, seed=8), _random(3, 8, seed=9), _random(3, 8, seed=10)
    ranking = MultipleNegativesRankingLoss(model, scale=5.0)
    loss = ParallelQueryAlignmentLoss(ranking, weight=2.0)
    value = loss.compute_loss_from_embeddings([queries, passages, parallel], None)

    def distribution(rows: torch.Tensor) -> list[list[float]]:
        scores = 5.0 * torch.nn.functional.normalize(rows, dim=1) @ torch.nn.functional.normalize(passages, dim=1).T
        return [[math.exp(s) / sum(math.exp(t) for t in row) for s in row] for row in scores.tolist()]

    kl = [sum(a * math.log(a / b) + b * math.log(b / a) for a, b in zip(p, q, strict=True)) / 2
          for p, q in zip(distribution(queries), distribution(parallel), strict=True)]
    expected = float(ranking.compute_loss_from_embeddings([queries, passages], None)) + 2.0 * sum(kl) / 3
    assert float(value) == pytest.approx(expected, rel=1e-5)
    same = loss.compute_loss_from_embeddings([queries, passages, queries.clone()], None)  # no translation: zero
    assert float(same) == pytest.approx(float(ranking.compute_loss_from_embeddings([queries, passages], None)))


def test_alignment_pulls_the_translation_towards_the_query_ranking(model):
    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    passages = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    parallel = torch.tensor([[0.6, 0.8], [0.0, 1.0]], requires_grad=True)  # row 0's translation ranks p1 first
    loss = ParallelQueryAlignmentLoss(MultipleNegativesRankingLoss(model), weight=1.0)
    gradient = torch.autograd.grad(loss.compute_loss_from_embeddings([queries, passages, parallel], None), parallel)[0]
    assert float(-gradient[0] @ (passages[0] - passages[1])) > 0  # descent moves it towards p0, away from p1


def test_dataset_columns_for_the_language_terms():
    records = [ParallelQA("a", {"en": "qa-en", "de": "qa-de"}, {"en": "sa-en", "de": "sa-de"}),
               ParallelQA("b", {"en": "qb-en"}, {"en": "sb-en", "de": "sb-de"})]
    table = PairTable(records)
    codes = table.pair_codes().tolist()
    dataset = PairTexts(table, with_context=False, group_labels=True, language_labels=True, parallel_queries=True)
    index = {"de": 0, "en": 1}
    for ref, row in zip(table.pairs(codes), dataset.__getitems__(codes), strict=True):
        assert row["label"] == [ref.example_index, index[ref.query_lang], index[ref.passage_lang]]
        question_langs = sorted(records[ref.example_index].questions)
        expected = ref.passage_lang if ref.passage_lang != ref.query_lang and ref.passage_lang in question_langs \
            else next(lang for lang in question_langs if lang != ref.query_lang) if len(question_langs) > 1 \
            else ref.query_lang
        assert row["parallel_query"] == records[ref.example_index].questions[expected]
    plain = PairTexts(table, with_context=False, group_labels=True).__getitems__(codes)
    assert [row["label"] for row in plain] == [0, 0, 0, 0, 1, 1]
    assert "label" not in PairTexts(table, with_context=False).__getitems__(codes)[0]


def test_weights_are_range_checked_and_refused_with_the_cached_loss():
    with pytest.raises(UsageError, match="erasure_weight"):
        TrainConfig.from_dict({"erasure_weight": -1.0})
    with pytest.raises(UsageError, match="alignment_weight.*cached"):
        TrainConfig.from_dict({"alignment_weight": 1.0, "cached": True})


def test_identity_leaves_out_the_language_terms_at_their_neutral_value():
    plain = TrainConfig(model="m")
    assert "erasure_weight" not in plain.identity() and "resume" not in plain.identity()
    assert plain.identity() == {k: v for k, v in plain.to_dict().items()
                                 if k not in ("resume", *TrainConfig.IDENTITY_NEUTRAL_DEFAULTS)}
    assert {"erasure_weight", "alignment_weight", "hard_negatives"} <= set(TrainConfig.IDENTITY_NEUTRAL_DEFAULTS)
    assert plain.replace(erasure_weight=5.0).identity()["erasure_weight"] == 5.0


@pytest.mark.parametrize("sampler", ["mixed", "multi_positive"])
def test_training_with_both_terms_runs_and_logs_finite_losses(tiny_model_dir, data_dir, tmp_path, sampler):
    records = load_parallel_qa("xquad-r", languages=["en", "de", "es", "ru"], groups=["0"], data_dir=data_dir)[:24]
    config = TrainConfig(model=str(tiny_model_dir), sampler=sampler, batch_size=8, max_steps=3, lr=2e-3,
                         warmup_ratio=0.0, with_context=False, save_steps=100, erasure_weight=100.0,
                         alignment_weight=1.0)
    outcome = train(config, records, output_dir=tmp_path / sampler)
    log = [json.loads(line) for line in (outcome.run_dir / "train_log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [1, 2, 3] and all(math.isfinite(row["loss"]) for row in log)
    assert json.loads((outcome.run_dir / "config.json").read_text())["erasure_weight"] == 100.0
