"""Names of the batch-sampling designs and the language plan labels they log."""

from __future__ import annotations

from enum import Enum

MIXED_PLAN = "mixed"
CROSS_MIXED_PLAN = "cross-mixed"
MULTI_POSITIVE_PLAN = "multi-positive"


class SamplerKind(str, Enum):
    """The batch designs of the hybrid-batch study (Elmahdy et al. 2024, after Roy et al. 2020).

    - ``monolingual`` (X-X-mono): every pair of a batch is X-X, X drawn per batch.
    - ``cross_lingual`` (X-Y): every pair of a batch is X-Y with X != Y, the pair drawn per batch (or per example
      with ``per_example_pairs=True``).
    - ``hybrid``: each batch is monolingual with probability ``alpha``, else cross-lingual; never mixed inside.
    - ``mixed``: every pair draws its own query and passage language (plain pooled fine-tuning), no alignment id
      twice in a batch.
    - ``english``: en-en pairs only.
    - ``st_default``: sentence-transformers' default batch sampler on the same rows (may repeat an id in a batch).
    - ``multi_positive``: each batch holds ``batch_size / positives_per_query`` questions, each in its own query
      language with its answer in ``positives_per_query`` languages, no alignment id in two questions of a batch;
      trained with :class:`~polyret.training.losses.MultiPositiveRankingLoss` (every translation is a positive).

    Where a kind is accepted, a :class:`~polyret.sampling.LanguageBatchSampler` subclass is accepted too.
    """

    MONOLINGUAL = "monolingual"
    CROSS_LINGUAL = "cross_lingual"
    HYBRID = "hybrid"
    MIXED = "mixed"
    ENGLISH = "english"
    ST_DEFAULT = "st_default"
    MULTI_POSITIVE = "multi_positive"


class Weighting(str, Enum):
    """How a batch's language (pair) is drawn among those with a full batch left."""

    UNIFORM = "uniform"
    PROPORTIONAL = "proportional"


def pair_plan(query_lang: str, passage_lang: str) -> str:
    """The plan label of a batch whose pairs are all ``query_lang``-``passage_lang`` (e.g. ``"de-en"``)."""
    return f"{query_lang}-{passage_lang}"

