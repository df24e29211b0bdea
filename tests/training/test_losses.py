"""MultiPositiveRankingLoss: a hand-computed case, the reduction to MNRL, and its gradient on translations."""

from __future__ import annotations

import math

import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from polyret.training.losses import MultiPositiveRankingLoss


@pytest.fixture(scope="module")
def model(tiny_model_dir) -> SentenceTransformer:
    return SentenceTransformer(str(tiny_model_dir), device="cpu")


def test_hand_computed_case_with_two_translations_of_one_answer(model):
    # rows 0 and 1: one query (q) with its answer in two languages (p0, p1); row 2: another query q2 with p2
    q, q2 = [1.0, 0.0], [0.0, 1.0]
    queries = torch.tensor([q, q, q2])
    passages = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    loss = MultiPositiveRankingLoss(model, scale=1.0)
    value = loss.compute_loss_from_embeddings([queries, passages], torch.tensor([7, 7, 3]))
    # cosine scores: q -> (1, 0.6, 0), q2 -> (0, 0.8, 1); the first two anchors average log-softmax over p0 and p1
    lse_q = math.log(math.e ** 1 + math.e ** 0.6 + math.e ** 0)
    lse_q2 = math.log(math.e ** 0 + math.e ** 0.8 + math.e ** 1)
    per_anchor = [lse_q - (1 + 0.6) / 2, lse_q - (1 + 0.6) / 2, lse_q2 - 1]
    assert float(value) == pytest.approx(sum(per_anchor) / 3, rel=1e-6)


def test_one_positive_per_query_equals_multiple_negatives_ranking_loss(model):
    generator = torch.Generator().manual_seed(0)
    queries, passages = torch.randn(6, 8, generator=generator), torch.randn(6, 8, generator=generator)
    expected = MultipleNegativesRankingLoss(model, scale=20.0).compute_loss_from_embeddings([queries, passages], None)
    value = MultiPositiveRankingLoss(model, scale=20.0).compute_loss_from_embeddings(
        [queries, passages], torch.tensor([5, 0, 3, 1, 4, 2])
    )
    assert float(value) == pytest.approx(float(expected), rel=1e-6)


def test_a_translation_is_pulled_towards_the_query_where_mnrl_pushes_it_away(model):
    queries = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    passages = torch.tensor([[1.0, 0.1], [0.9, 0.3], [0.1, 1.0]], requires_grad=True)
    gradient = torch.autograd.grad(  # p1 is a translation of p0, the answer of queries 0 and 1
        MultiPositiveRankingLoss(model).compute_loss_from_embeddings([queries, passages], torch.tensor([0, 0, 1])),
        passages,
    )[0]
    toward_query = -(gradient[1] @ queries[0])  # descent moves p1 along -gradient
    assert toward_query > 0
    mnrl_gradient = torch.autograd.grad(
        MultipleNegativesRankingLoss(model).compute_loss_from_embeddings([queries[:1], passages[[0, 1]]], None),
        passages,
    )[0]
    assert -(mnrl_gradient[1] @ queries[0]) < 0


def test_missing_labels_or_extra_columns_are_refused(model):
    loss = MultiPositiveRankingLoss(model)
    pair = [torch.ones(2, 4), torch.ones(2, 4)]
    with pytest.raises(ValueError, match="label column"):
        loss.compute_loss_from_embeddings(pair, None)
    with pytest.raises(ValueError, match="2 embeddings|3 columns"):
        loss.compute_loss_from_embeddings([*pair, torch.ones(2, 4)], torch.tensor([0, 1]))
