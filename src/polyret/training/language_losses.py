"""Loss terms against language bias that wrap an in-batch ranking loss: language erasure and parallel-query alignment.

Both wrap the arm's ranking loss (:class:`MultipleNegativesRankingLoss` or
:class:`~polyret.training.losses.MultiPositiveRankingLoss`) and add a weighted term to it; the ranking loss sees the
same embeddings and labels as without the wrapper. :func:`language_cross_covariance` is the erasure penalty itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from sentence_transformers.base.losses.merged_forward import embed_columns
from sentence_transformers.util import all_gather, all_gather_with_grad
from torch import Tensor, nn

LANGUAGE_LABEL_COLUMNS = 2
"""The erasure wrapper reads the last two label columns: the query's and the passage's language index."""


def language_cross_covariance(embeddings: Tensor, languages: Tensor) -> Tensor:
    """Squared Frobenius norm of the centred cross-covariance between embeddings and their language one-hot.

    With ``n`` embeddings ``x_i`` (rows of ``embeddings``) and the one-hot ``y_i`` of their languages (``L``
    columns, one per language index up to the largest present)::

        C = 1/n * sum_i (x_i - mean(x)) (y_i - mean(y))^T        # d x L
        penalty = ||C||_F^2 = sum_l p_l^2 * ||mean_l(x) - mean(x)||^2

    where ``p_l`` is the share of language ``l`` and ``mean_l(x)`` its mean embedding. It is zero exactly when
    every language's mean embedding equals the overall mean, i.e. when no linear function of the embeddings is
    correlated with the language (the condition under which LEACE's linear erasure holds). With one language the
    centred one-hot is zero, and so is the penalty (and its gradient).

    Args:
        embeddings: ``(n, d)`` float tensor.
        languages: ``(n,)`` integer language indices.
    """
    one_hot = nn.functional.one_hot(languages.long(), int(languages.max()) + 1).to(embeddings.dtype)
    centred_one_hot = one_hot - one_hot.mean(dim=0, keepdim=True)
    centred = embeddings - embeddings.mean(dim=0, keepdim=True)
    cross_covariance = centred.T @ centred_one_hot / embeddings.size(0)
    return cross_covariance.square().sum()


class _WrappedRankingLoss(nn.Module):
    """A ranking loss plus a weighted term computed from the same embeddings (shared by the two wrappers)."""

    def __init__(self, loss: nn.Module, weight: float, gather_across_devices: bool) -> None:
        super().__init__()
        self.loss = loss
        self.model = loss.model
        self.weight = weight
        self.gather_across_devices = gather_across_devices

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None) -> Tensor:
        features = list(sentence_features)
        # one forward per column: a short query column is not padded to the width of the passages
        embeddings = [embed_columns(self.model, [column])[0] for column in features]
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None) -> Tensor:
        raise NotImplementedError

    @property
    def scale(self) -> float:
        """The wrapped ranking loss's scale (so wrappers nest)."""
        return self.loss.scale

    @property
    def similarity_fct(self) -> Callable[[Tensor, Tensor], Tensor]:
        """The wrapped ranking loss's similarity function."""
        return self.loss.similarity_fct

    def get_config_dict(self) -> dict[str, Any]:
        return {"loss": type(self.loss).__name__, **self.loss.get_config_dict(), "weight": self.weight,
                "gather_across_devices": self.gather_across_devices}


class LanguageErasureLoss(_WrappedRankingLoss):
    def __init__(self, loss: nn.Module, weight: float = 1.0, gather_across_devices: bool = False) -> None:
        """A ranking loss plus a penalty on the linear trace of the language in the embeddings (after LANCER).

        The loss is ``loss(embeddings, labels) + weight * penalty``, where ``penalty`` is
        :func:`language_cross_covariance` of the batch's query and passage embeddings (all ``2B`` of them, each
        with its own language) against their language one-hot: the squared Frobenius norm of the centred
        cross-covariance. Driving it to zero makes every language's mean embedding equal to the batch mean, so no
        linear probe finds the language in the mean shift (LEACE's condition for linear erasure). It is a
        statistic of the batch: it needs several languages in a batch. Monolingual batches (one language for
        queries and passages: the ``monolingual`` and ``english`` designs, and the monolingual half of
        ``hybrid``) give zero and train the ranking loss alone; cross-lingual batches (X-Y: two languages),
        ``mixed``, ``st_default`` and ``multi_positive`` batches (many) are penalised.

        Args:
            loss: the ranking loss to wrap, e.g. :class:`MultipleNegativesRankingLoss` or
                :class:`~polyret.training.losses.MultiPositiveRankingLoss` (anything with
                ``compute_loss_from_embeddings``); it gets the embeddings and the labels without the language
                columns.
            weight: factor of the penalty. Its values are small (a sum of squared covariances of unit vectors,
                about 1e-3 for multilingual-e5-small), so useful weights are large (see ``docs/training.md``).
            gather_across_devices: compute the penalty over the embeddings and languages of every device (with
                gradients for this device's embeddings), so it is a statistic of the global batch.

        References:
            - Huang, Yu, Ravfogel, Allan. Language Concept Erasure for Language-invariant Dense Retrieval
              (LANCER), EMNLP 2024: https://aclanthology.org/2024.emnlp-main.736
            - Belrose et al. LEACE: Perfect linear concept erasure in closed form, NeurIPS 2023:
              https://arxiv.org/abs/2306.03819

        Requirements:
            1. (query, passage) pairs whose label row ends with the query's and the passage's language index
               (integers, any fixed numbering of the languages).

        Inputs:
            +-------------------------------------+----------------------------------------------------------+
            | Inputs                              | Labels                                                   |
            +=====================================+==========================================================+
            | (query, passage) pairs              | ``[*labels of the wrapped loss, query lang, passage lang]`` |
            +-------------------------------------+----------------------------------------------------------+

        Relations:
            - Post-hoc ``center`` / ``lsar`` (:mod:`polyret.debias`) remove language directions from stored
              embeddings after training; this penalty teaches the encoder not to produce them.
            - :class:`ParallelQueryAlignmentLoss` aligns the score distributions of a query and its translation
              instead of embedding statistics; the two can be combined.

        Example:
            ::

                from datasets import Dataset
                from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
                from sentence_transformers.losses import MultipleNegativesRankingLoss

                model = SentenceTransformer("intfloat/multilingual-e5-small")
                train_dataset = Dataset.from_dict({
                    "query": ["Who wrote Faust?", "Wo liegt Rom?"],
                    "passage": ["Goethe schrieb Faust.", "Rome is in Italy."],
                    "label": [[0, 1], [1, 0]],  # (query, passage) language: 0 = en, 1 = de
                })
                loss = LanguageErasureLoss(MultipleNegativesRankingLoss(model), weight=100.0)

                trainer = SentenceTransformerTrainer(model=model, train_dataset=train_dataset, loss=loss)
                trainer.train()
        """
        super().__init__(loss, weight, gather_across_devices)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None) -> Tensor:
        if labels is None or labels.dim() != 2 or labels.size(1) < LANGUAGE_LABEL_COLUMNS:
            raise ValueError("LanguageErasureLoss needs labels whose last two columns are the query's and the "
                             "passage's language index")
        inner_labels = labels[:, :-LANGUAGE_LABEL_COLUMNS]
        inner_labels = inner_labels[:, 0] if inner_labels.size(1) == 1 else None
        ranking = self.loss.compute_loss_from_embeddings(embeddings, inner_labels)
        queries, passages = embeddings[0], embeddings[1]
        languages = labels[:, -LANGUAGE_LABEL_COLUMNS:].to(queries.device)
        if self.gather_across_devices:
            queries, passages = all_gather_with_grad(queries), all_gather_with_grad(passages)
            languages = all_gather(languages)
        penalty = language_cross_covariance(torch.cat([queries, passages]), torch.cat([languages[:, 0],
                                                                                       languages[:, 1]]))
        return ranking + self.weight * penalty

    @property
    def citation(self) -> str:
        return """
@inproceedings{huang-etal-2024-language,
    title={Language Concept Erasure for Language-invariant Dense Retrieval},
    author={Huang, Zhiqi and Yu, Puxuan and Ravfogel, Shauli and Allan, James},
    booktitle={Proceedings of the 2024 Conference on Empirical Methods in Natural Language Processing},
    pages={13261--13273},
    year={2024},
}
"""


class ParallelQueryAlignmentLoss(_WrappedRankingLoss):
    def __init__(self, loss: nn.Module, weight: float = 1.0, gather_across_devices: bool = False) -> None:
        """A ranking loss plus a symmetric KL between the score distributions of a query and its translation.

        Each row holds a third text, the row's question in another language (its *parallel query*). For row
        ``i`` with query ``q_i``, parallel query ``q'_i`` and the batch's passages ``d_1 .. d_N``::

            p_i  = softmax(scale * sim(q_i,  d_.))      p'_i = softmax(scale * sim(q'_i, d_.))
            term = 1/B * sum_i ( KL(p_i || p'_i) + KL(p'_i || p_i) ) / 2

        so a question ranks the batch's passages alike whatever its language (LaKDA's score-distribution
        alignment, here without a teacher: both sides get gradients). The wrapped loss sees the query and passage
        columns (and the hard-negative columns, which come between the passage and the parallel query); the
        parallel queries are never candidates. None of the batch designs puts two language
        versions of one question in a batch (their answers would be false negatives of each other), so the
        translation comes as a column of its own, which works with every design; a row whose question exists in
        no other language repeats its query and adds zero. Scale and similarity are the wrapped loss's.

        Args:
            loss: the ranking loss to wrap (with ``scale``, ``similarity_fct`` and ``compute_loss_from_embeddings``).
            weight: factor of the alignment term.
            gather_across_devices: score against the passages of every device (gathered with gradients), as
                the wrapped loss does with its negatives.

        References:
            - LaKDA, arXiv 2509.06195: a KL term between the score distributions of a query and its translation.

        Requirements:
            1. (query, passage, parallel query) triplets: the third column is the query's question in another
               language.

        Inputs:
            +-------------------------------------------+-------------------------------+
            | Inputs                                    | Labels                        |
            +===========================================+===============================+
            | (query, passage, parallel query) triplets | those of the wrapped loss     |
            +-------------------------------------------+-------------------------------+

        Relations:
            - :class:`LanguageErasureLoss` penalises embedding statistics rather than rankings; it can be wrapped
              inside this loss (the erasure labels pass through).
            - ``DistillKLDivLoss`` in sentence-transformers distils scores from a teacher; here the two language
              versions of a query teach each other.

        Example:
            ::

                from datasets import Dataset
                from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
                from sentence_transformers.losses import MultipleNegativesRankingLoss

                model = SentenceTransformer("intfloat/multilingual-e5-small")
                train_dataset = Dataset.from_dict({
                    "query": ["Who wrote Faust?", "Wo liegt Rom?"],
                    "passage": ["Goethe schrieb Faust.", "Rome is in Italy."],
                    "parallel_query": ["Wer schrieb Faust?", "Where is Rome?"],
                })
                loss = ParallelQueryAlignmentLoss(MultipleNegativesRankingLoss(model), weight=1.0)

                trainer = SentenceTransformerTrainer(model=model, train_dataset=train_dataset, loss=loss)
                trainer.train()
        """
        super().__init__(loss, weight, gather_across_devices)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None) -> Tensor:
        if len(embeddings) < 3:
            raise ValueError("Expected (query, passage, [hard negatives...,] parallel query) embeddings, got "
                             f"{len(embeddings)} columns")
        queries, passages, *negatives, parallel = embeddings
        ranking = self.loss.compute_loss_from_embeddings([queries, passages, *negatives], labels)
        if self.gather_across_devices:  # this device's queries against every device's passages
            passages = all_gather_with_grad(passages)
        log_p = torch.log_softmax(self.loss.similarity_fct(queries, passages) * self.loss.scale, dim=1)
        log_q = torch.log_softmax(self.loss.similarity_fct(parallel, passages) * self.loss.scale, dim=1)
        symmetric_kl = ((log_p.exp() - log_q.exp()) * (log_p - log_q)).sum(dim=1) / 2
        return ranking + self.weight * symmetric_kl.mean()
