"""Paired significance tests over per-query scores of two runs (e.g. ``TaskResult.per_query["multi.ap"]``).

:func:`paired_test` works on the per-query differences ``d = a - b`` of the same query ids and is seeded, so a
report can be reproduced exactly. Two methods:

- ``randomization``: under the null hypothesis the two runs are exchangeable per query, so each
  difference's sign is flipped at random; p = share of resampled mean differences at least as far from 0 as the
  observed one (two-sided, scipy's ``permutation_test``).
- ``bootstrap``: queries are resampled with replacement; p = share of resampled means, shifted to the
  null (mean 0), at least as far from 0 as the observed mean (two-sided).

Both report the percentile bootstrap confidence interval of the mean difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from polyret.errors import UsageError

DEFAULT_RESAMPLES = 10_000
_BATCH = 256  # resamples computed at once (bounds memory for large query sets)

TestMethod = Literal["randomization", "bootstrap"]


@dataclass(frozen=True, slots=True)
class PairedTestResult:
    """Outcome of a paired test of run ``a`` against run ``b``.

    Attributes:
        mean_difference: mean over queries of ``a - b``.
        ci_low / ci_high: bootstrap confidence interval of the mean difference.
        p_value: two-sided p-value.
        n_queries: number of paired queries.
        method: ``"randomization"`` or ``"bootstrap"``.
    """

    mean_difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n_queries: int
    method: str


def paired_test(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    method: TestMethod = "randomization",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedTestResult:
    """Test ``mean(a - b) == 0`` over the queries both runs share, by randomisation or bootstrap.

    Args:
        a, b: per-query values of two runs (same query ids), e.g. ``TaskResult.per_query["multi.ap"]``.
        method: ``"randomization"`` (sign flips) or ``"bootstrap"`` (resampled queries).
        n_resamples: resamples for the p-value and the confidence interval.
        seed: seed of the random generator (equal seeds give equal results).
        confidence: level of the bootstrap confidence interval of the mean difference.

    Raises:
        UsageError: unknown method, or runs over different (or no) query ids.
    """
    if method not in ("randomization", "bootstrap"):
        raise UsageError(f"unknown paired test {method!r} (expected randomization or bootstrap)")
    diffs = paired_differences(a, b)
    rng = np.random.default_rng(seed)
    distribution, (low, high) = _bootstrap(diffs, n_resamples, confidence, rng)
    observed = float(diffs.mean())
    if method == "randomization":
        p_value = _randomization_p_value(diffs, n_resamples, rng)
    else:
        null = distribution - observed  # the bootstrap distribution moved to the null hypothesis
        extreme = np.count_nonzero(np.abs(null) >= abs(observed) - 1e-12 * max(1.0, abs(observed)))
        p_value = min(1.0, (extreme + 1) / (len(null) + 1))
    return PairedTestResult(observed, low, high, float(p_value), len(diffs), method)


def paired_differences(a: Mapping[str, float], b: Mapping[str, float]) -> np.ndarray:
    """``a[q] - b[q]`` for every query id, in sorted id order.

    Raises:
        UsageError: the runs do not cover the same query ids, or are empty.
    """
    if a.keys() != b.keys():
        only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
        raise UsageError(
            f"paired test needs the same query ids in both runs: {len(only_a)} only in the first "
            f"(e.g. {only_a[:3]}), {len(only_b)} only in the second (e.g. {only_b[:3]})"
        )
    if not a:
        raise UsageError("paired test needs at least one query")
    ids = sorted(a)
    return np.array([a[i] for i in ids], dtype=np.float64) - np.array([b[i] for i in ids], dtype=np.float64)


def _randomization_p_value(diffs: np.ndarray, n_resamples: int, rng: np.random.Generator) -> float:
    result = stats.permutation_test(
        (diffs,), _mean, permutation_type="samples", vectorized=True, n_resamples=n_resamples, batch=_BATCH, rng=rng
    )
    return float(result.pvalue)


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def _bootstrap(
    diffs: np.ndarray, n_resamples: int, confidence: float, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[float, float]]:
    """The bootstrap distribution of the mean difference and its percentile confidence interval."""
    result = stats.bootstrap(
        (diffs,),
        _mean,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        batch=_BATCH,
        rng=rng,
    )
    low, high = result.confidence_interval
    return result.bootstrap_distribution, (float(low), float(high))
