"""The kinds of evaluation task, each declared once with the scores its evaluator reports first.

A kind names an evaluator (QA retrieval, discrimination, bitext, BEIR retrieval), its main score (the one reports,
comparisons and the study's domain-shift columns use) and its headline scores (shown beside the main score in the
terminal summary). The evaluators read their main score from here, and every registered task
(:mod:`polyret.evaluation.catalog`) and user task file (:mod:`polyret.evaluation.user_tasks`) names its kind.

Example::

    KINDS["qa"].main_score          # "multi.map"
    HEADLINE_SCORES                 # every kind's headline scores, in kind order

Relations: :class:`polyret.evaluation.catalog.TaskMetadata` refers to a kind; :class:`polyret.evaluation.result.
TaskResult.main` holds the main score's key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TaskKind:
    """One kind of evaluation task.

    Attributes:
        name: ``qa``, ``discrimination``, ``bitext`` or ``retrieval``.
        evaluator: the function that scores it (for the docs and ``--list-tasks``).
        main_score: the key of its main score in :attr:`TaskResult.scores`.
        headline_scores: further keys shown beside the main score, when a result has them.
    """

    name: str
    evaluator: str
    main_score: str
    headline_scores: tuple[str, ...]


QA = TaskKind("qa", "polyret.evaluation.lareqa.evaluate_lareqa", "multi.map",
              ("mono.map", "cross.map", "multi.map", "multi.bias"))
DISCRIMINATION = TaskKind("discrimination", "polyret.evaluation.clsd.evaluate_clsd", "acc", ("de-fr.acc", "fr-de.acc"))
BITEXT = TaskKind("bitext", "polyret.evaluation.bitext.evaluate_bitext", "p@1",
                  ("multi.map", "multi.bias", "xsim_error"))
RETRIEVAL = TaskKind("retrieval", "polyret.evaluation.beir.evaluate_beir", "ndcg@10", ("recall@100",))

KINDS: dict[str, TaskKind] = {kind.name: kind for kind in (QA, DISCRIMINATION, BITEXT, RETRIEVAL)}
"""Every kind by name."""

HEADLINE_SCORES: tuple[str, ...] = tuple(dict.fromkeys(key for kind in KINDS.values() for key in kind.headline_scores))
"""Every kind's headline scores, in kind order (for results whose kind is not known, e.g. a debiased row)."""
