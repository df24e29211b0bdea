"""In-batch losses beyond sentence-transformers' own: several positives per query."""

from __future__ import annotations

from collections.abc import Callable

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
from sentence_transformers.util import all_gather, all_gather_with_grad, cos_sim, similarity_fct_name
from torch import Tensor


class MultiPositiveRankingLoss(MultipleNegativesRankingLoss):
    def __init__(
        self,
        model: SentenceTransformer,
        scale: float = 20.0,
        similarity_fct: Callable[[Tensor, Tensor], Tensor] = cos_sim,
        gather_across_devices: bool = False,
    ) -> None:
        """In-batch InfoNCE with several positives per anchor (supervised-contrastive style, Khosla et al. 2020).

        Rows with the same label are positives of each other: for a query whose gold answer appears in the batch in
        several languages, every translation is a positive and none is a negative. The loss of anchor ``i`` is
        the mean, over its positives ``P(i)`` (the passages whose label equals ``i``'s), of the negative log-softmax
        of the positive's score among all passages of the batch (Khosla et al.'s ``L_out``)::

            loss_i = -1/|P(i)| * sum_{p in P(i)} log( exp(scale * sim(q_i, d_p)) / sum_a exp(scale * sim(q_i, d_a)) )

        Its gradient pushes every passage of another label down and pulls the positives up until they share the
        probability evenly, so a translation is never pushed away as a negative. With one positive per anchor (all
        labels distinct) it equals :class:`MultipleNegativesRankingLoss`.

        Args:
            model: SentenceTransformer model
            scale: Output of the similarity function is multiplied by scale value (``scale = 1 / temperature``).
            similarity_fct: similarity function between embeddings. By default, cos_sim.
            gather_across_devices: If True, gather the embeddings and labels across all devices before computing
                the loss, so the passages of every rank are candidates of every anchor.

        Requirements:
            1. (anchor, positive) pairs with a label column: equal labels mark rows whose positives are
               interchangeable (e.g. the alignment id of a question's answer in several languages).

        Inputs:
            +---------------------------+------------------------------+
            | Inputs                    | Labels                       |
            +===========================+==============================+
            | (anchor, positive) pairs  | group id (int) of each pair  |
            +---------------------------+------------------------------+

        Recommendations:
            - Draw batches with :class:`~polyret.sampling.LanguageBatchSampler` ``kind="multi_positive"``: each
              question with its answer in several languages, no alignment id in two questions of a batch.

        Relations:
            - :class:`MultipleNegativesRankingLoss` is this loss with one positive per anchor; it treats a second
              translation of the anchor's answer as a (false) negative.
            - ``SupConLoss`` (Khosla et al. 2020) is the symmetric, single-tower form; here anchors are queries and
              candidates are passages, as in retrieval.

        Example:
            ::

                from datasets import Dataset
                from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer

                model = SentenceTransformer("intfloat/multilingual-e5-small")
                train_dataset = Dataset.from_dict({
                    "query": ["Who wrote Faust?", "Who wrote Faust?", "Where is Rome?", "Where is Rome?"],
                    "passage": ["Goethe wrote Faust.", "Goethe schrieb Faust.", "Rome is in Italy.", "Rom: Italien."],
                    "label": [0, 0, 1, 1],  # rows 0 and 1 are positives of each other, as are rows 2 and 3
                })
                loss = MultiPositiveRankingLoss(model)

                trainer = SentenceTransformerTrainer(model=model, train_dataset=train_dataset, loss=loss)
                trainer.train()
        """
        super().__init__(model, scale=scale, similarity_fct=similarity_fct,
                         gather_across_devices=gather_across_devices)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None) -> Tensor:
        if len(embeddings) != 2:
            raise ValueError(f"Expected (anchor, positive) embeddings, got {len(embeddings)} columns")
        if labels is None:
            raise ValueError("MultiPositiveRankingLoss needs a label column: the group id of each (anchor, positive)")
        queries, docs = embeddings
        labels = labels.to(queries.device)
        all_labels = labels
        if self.gather_across_devices:  # this rank's anchors against every rank's passages
            docs = all_gather_with_grad(docs)
            all_labels = all_gather(labels)
        scores = self.similarity_fct(queries, docs) * self.scale
        positives = (labels[:, None] == all_labels[None, :]).to(scores.dtype)
        log_probs = scores - torch.logsumexp(scores, dim=1, keepdim=True)
        return -((log_probs * positives).sum(dim=1) / positives.sum(dim=1)).mean()

    def get_config_dict(self) -> dict[str, object]:
        return {"scale": self.scale, "similarity_fct": similarity_fct_name(self.similarity_fct),
                "gather_across_devices": self.gather_across_devices}

    @property
    def citation(self) -> str:
        return """
@inproceedings{khosla2020supervised,
    title={Supervised Contrastive Learning},
    author={Khosla, Prannay and Teterwak, Piotr and Wang, Chen and Sarna, Aaron and Tian, Yonglong and Isola, Phillip
            and Maschinot, Aaron and Liu, Ce and Krishnan, Dilip},
    booktitle={Advances in Neural Information Processing Systems},
    year={2020},
}
"""
