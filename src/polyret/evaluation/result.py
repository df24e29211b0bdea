"""The result of one evaluation task: the contract between evaluators, the suite, reports and experiments.

Score keys are flat ``"<setting>.<metric>"`` strings, e.g. ``"mono.map"``, ``"cross.r@1"``, ``"multi.map"``,
``"multi.bias"``, ``"de-fr.acc"``, ``"p@1"``. ``per_query`` keeps the per-query values behind a score, keyed by
the per-query metric (``"multi.ap"`` behind ``"multi.map"``, ``"p@1"`` behind ``"p@1"``), so two runs can be
compared with a paired significance test; ``matrices`` holds language x language tables for
heatmaps (``matrices[metric][query_lang][passage_lang]``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from polyret.schema import MapOf, Nullable, Number, Ranged, Record, check_shape, finite

SHAPE = Record(
    {"task": str, "main": str, "scores": MapOf(Nullable(Number))},
    {"matrices": MapOf(MapOf(MapOf(Nullable(Number)))), "per_query": MapOf(MapOf(Ranged(Number, finite()))),
     "details": dict},
)
"""What a stored task result must look like (checked on load by :meth:`TaskResult.from_json`)."""


@dataclass(slots=True)
class TaskResult:
    """Scores of one model on one task."""

    task: str
    main: str
    scores: dict[str, float]
    matrices: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def main_score(self) -> float:
        return self.scores[self.main]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        return cls(**data)

    @classmethod
    def from_json(cls, data: Any, path: str | Path, where: str) -> TaskResult:
        """A result read from the file ``path`` at key ``where``, its shape checked first (:data:`SHAPE`).

        Raises:
            DataError: naming the file, the key and what was expected.
        """
        check_shape(data, SHAPE, path, where)
        return cls(**data)
