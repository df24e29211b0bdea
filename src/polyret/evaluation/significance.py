"""Paired significance tests over per-query scores of two runs (e.g. ``TaskResult.per_query["multi.ap"]``).

:func:`paired_test` works on the per-query differences ``d = a - b`` of the same query ids and is seeded, so a
report can be reproduced exactly. Two methods:

- ``randomization``: under the null hypothesis the two runs are exchangeable per query, so each
  difference's sign is flipped at random; p = share of resampled mean differences at least as far from 0 as the
  observed one (two-sided, defined as scipy's ``permutation_test``, computed in blocks of matrix products).
- ``bootstrap``: queries are resampled with replacement; p = share of resampled means, shifted to the
  null (mean 0), at least as far from 0 as the observed mean (two-sided).

Both report the percentile bootstrap confidence interval of the mean difference.

:func:`compare_paired` is the one comparison every report uses (``polyret evaluate compare`` through
:func:`compare_results`, the study through :mod:`polyret.experiments.analysis`): both scores, the difference with
its interval, the p-value, the minimum detectable effect (:func:`detectable_effect`), the equivalence test
(:func:`equivalence_test`, TOST) and the four-way :func:`outcome`. With two or more paired runs (training seeds) it
resamples both levels (:func:`hierarchical_bootstrap`). :func:`holm` adjusts the p-values of a family of tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy import stats

from polyret.errors import UsageError
from polyret.evaluation.result import TaskResult

DEFAULT_RESAMPLES = 10_000
POWER = 0.8
"""Power at which :func:`detectable_effect` sizes the smallest detectable difference."""
Outcome = Literal["better", "worse", "equivalent", "inconclusive"]
_BATCH = 256  # resamples computed at once (bounds memory for large query sets)

TestMethod = Literal["randomization", "bootstrap"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Run(s) ``a`` against run(s) ``b`` over the items (queries) both share.

    Attributes:
        score_a / score_b: mean per-item value of each side (averaged over its runs).
        difference: ``score_a - score_b``.
        ci_low / ci_high: ``1 - level`` confidence interval of the difference.
        p_value: two-sided p-value (randomisation test with one run per side; hierarchical bootstrap with several).
        n_items / n_runs: paired items and paired runs (seeds).
        sd_difference: standard deviation of the per-item differences (averaged over runs).
        standard_error: standard deviation of the resampled mean differences.
        mde: smallest true difference found with :data:`POWER` power at ``level`` (:func:`detectable_effect`).
        margin: the equivalence margin (``None``: no equivalence test).
        equivalent: the ``1 - 2·level`` interval lies inside ``[-margin, +margin]`` (TOST).
        method: ``"randomization"``, ``"bootstrap"`` or ``"hierarchical bootstrap"``.
        task / score: what was compared (set by :func:`compare_results`; ``None`` otherwise).
        p_holm: the p-value after Holm's adjustment over the family it was tested in (``None``: not adjusted).
    """

    score_a: float
    score_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n_items: int
    n_runs: int
    sd_difference: float
    standard_error: float
    mde: float
    margin: float | None
    equivalent: bool | None
    method: str
    task: str | None = None
    score: str | None = None
    p_holm: float | None = None

    def to_dict(self) -> dict[str, float | int | str | bool | None]:
        return {name: getattr(self, name) for name in self.__slots__}


def compare_paired(
    runs_a: Sequence[Mapping[str, float]],
    runs_b: Sequence[Mapping[str, float]],
    *,
    margin: float | None = None,
    level: float = 0.05,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    method: TestMethod = "randomization",
) -> Comparison:
    """Compare per-item values of paired runs (``runs_a[i]`` with ``runs_b[i]``, e.g. the same training seed).

    One run per side: the randomisation test (or, with ``method="bootstrap"``, the null-shifted bootstrap) over
    items gives p, the bootstrap over items the interval. Several: the hierarchical bootstrap over runs and items
    (:func:`hierarchical_bootstrap`) gives both, so the spread between training runs widens the interval. The items
    are those every run of both sides has.

    Example:
        >>> c = compare_paired([{"q1": 1.0, "q2": 0.0}], [{"q1": 0.0, "q2": 0.0}], n_resamples=200)
        >>> c.difference
        0.5

    Raises:
        UsageError: different numbers of runs per side, no runs, fewer than two shared items, or an unknown method.
    """
    if method not in ("randomization", "bootstrap"):
        raise UsageError(f"unknown paired test {method!r} (expected randomization or bootstrap)")
    if not runs_a or len(runs_a) != len(runs_b):
        raise UsageError(f"paired comparison needs equally many runs per side, got {len(runs_a)} and {len(runs_b)}")
    items = sorted(set.intersection(*(set(run) for run in (*runs_a, *runs_b))))
    if len(items) < 2:
        raise UsageError(f"paired comparison needs at least two items that every run has, got {len(items)}")
    a = np.array([[run[i] for i in items] for run in runs_a], dtype=np.float64)
    b = np.array([[run[i] for i in items] for run in runs_b], dtype=np.float64)
    diffs = a - b
    rng = np.random.default_rng(seed)
    if len(diffs) > 1:
        distribution = hierarchical_bootstrap(diffs, n_resamples, rng)
        p_value = _shifted_p_value(distribution, float(diffs.mean()))
        return _comparison(a, b, diffs, distribution, p_value, margin=margin, level=level,
                           method="hierarchical bootstrap")
    distribution = _bootstrap(diffs[0], n_resamples, 1 - level, rng)[0]
    if method == "randomization":
        p_value = _randomization_p_value(diffs[0], n_resamples, rng)
    else:
        p_value = _shifted_p_value(distribution, float(diffs.mean()))
    return _comparison(a, b, diffs, distribution, p_value, margin=margin, level=level, method=method)


def _comparison(
    a: np.ndarray, b: np.ndarray, diffs: np.ndarray, distribution: np.ndarray, p_value: float, *,
    margin: float | None, level: float, method: str,
) -> Comparison:
    observed = float(diffs.mean())
    low, high = _percentiles(distribution, 1 - level)
    standard_error = float(np.std(distribution))
    equivalent = None if margin is None else equivalence_test(distribution, margin, level=level)
    return Comparison(
        score_a=float(a.mean()), score_b=float(b.mean()), difference=observed, ci_low=low, ci_high=high,
        p_value=float(p_value), n_items=diffs.shape[1], n_runs=diffs.shape[0],
        sd_difference=float(np.std(diffs.mean(axis=0), ddof=1)) if diffs.shape[1] > 1 else 0.0,
        standard_error=standard_error, mde=detectable_effect(standard_error, level=level), margin=margin,
        equivalent=equivalent, method=method,
    )


def hierarchical_bootstrap(diffs: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Resampled mean differences over runs and items (two-level bootstrap).

    Each resample draws ``S`` runs with replacement from the rows of ``diffs`` (``S`` runs x ``N`` items, paired
    differences), then ``N`` items with replacement (the same items for every drawn run: the items are paired
    across runs), and averages. Its spread holds both sources of noise: training runs and test items.
    """
    n_runs, n_items = diffs.shape
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, _BATCH):
        count = min(_BATCH, n_resamples - start)
        items = rng.integers(0, n_items, size=(count, n_items))
        runs = rng.integers(0, n_runs, size=(count, n_runs))
        # how often each item was drawn in each resample, then each run's mean over the drawn items: (count, n_runs)
        drawn = np.bincount((items + (np.arange(count) * n_items)[:, None]).ravel(), minlength=count * n_items)
        per_run = drawn.reshape(count, n_items).astype(np.float64) @ diffs.T / n_items
        means[start : start + count] = np.take_along_axis(per_run, runs, axis=1).mean(axis=1)
    return means


def detectable_effect(standard_error: float, *, level: float = 0.05, power: float = POWER) -> float:
    """Smallest true difference a two-sided test at ``level`` finds with ``power``: ``(z₁₋α/₂ + z_power)·SE``.

    At level 0.05 and power 0.8 the factor is 2.80; for one run, ``SE = sd(d)/√n``, so ``MDE ≈ 2.8·sd(d)/√n``.
    """
    return float((stats.norm.ppf(1 - level / 2) + stats.norm.ppf(power)) * standard_error)


def equivalence_test(distribution: np.ndarray, margin: float, *, level: float = 0.05) -> bool:
    """TOST: both one-sided tests at ``level`` reject a difference beyond ``±margin``.

    Equivalent to the ``1 - 2·level`` percentile interval of the resampled mean differences lying inside
    ``[-margin, +margin]``.
    """
    low, high = _percentiles(distribution, 1 - 2 * level)
    return -margin < low and high < margin


def outcome(comparison: Comparison, adjusted_p: float, *, level: float = 0.05) -> Outcome:
    """``better`` / ``worse`` (adjusted p below ``level``), ``equivalent`` (TOST), else ``inconclusive``."""
    if adjusted_p < level and comparison.difference != 0:
        return "better" if comparison.difference > 0 else "worse"
    if comparison.equivalent:
        return "equivalent"
    return "inconclusive"


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given).

    The i-th smallest of m p-values is multiplied by ``m - i + 1`` (i from 1), made monotone and capped at 1; a
    test is significant at ``level`` exactly when Holm's step-down procedure rejects it.

    Example:
        >>> holm([0.01, 0.04, 0.03])
        [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(p_values)), key=p_values.__getitem__)
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def compare_results(
    results_a: Mapping[str, TaskResult], results_b: Mapping[str, TaskResult], *, method: TestMethod = "randomization",
    n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0, level: float = 0.05,
) -> list[Comparison]:
    """One :func:`compare_paired` per (task, per-query score) both evaluation runs have on two or more shared query
    ids, over the ids they share, with ``task``, ``score`` and ``p_holm`` set (Holm over all of them: one family).

    Example:
        >>> rows = compare_results(tuned.results, base.results)  # doctest: +SKIP
        >>> [(row.task, row.score, round(row.difference, 4), row.p_holm) for row in rows]  # doctest: +SKIP
    """
    rows: list[Comparison] = []
    for task in (t for t in results_a if t in results_b):
        for key in (k for k in results_a[task].per_query if k in results_b[task].per_query):
            a, b = results_a[task].per_query[key], results_b[task].per_query[key]
            if len(a.keys() & b.keys()) > 1:
                test = compare_paired([a], [b], level=level, n_resamples=n_resamples, seed=seed, method=method)
                rows.append(replace(test, task=task, score=key))
    adjusted = holm([row.p_value for row in rows])
    return [replace(row, p_holm=p) for row, p in zip(rows, adjusted, strict=True)]


def _shifted_p_value(distribution: np.ndarray, observed: float) -> float:
    """Two-sided p of ``observed`` against the resampled means moved to the null (mean 0)."""
    null = distribution - observed
    extreme = np.count_nonzero(np.abs(null) >= abs(observed) - 1e-12 * max(1.0, abs(observed)))
    return min(1.0, (extreme + 1) / (len(null) + 1))


def _percentiles(distribution: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(distribution, [tail, 100 - tail])
    return float(low), float(high)


def _randomization_p_value(diffs: np.ndarray, n_resamples: int, rng: np.random.Generator) -> float:
    """Two-sided sign-flip test of ``mean(diffs) == 0`` as scipy's ``permutation_test(permutation_type="samples")``
    defines it: twice the smaller one-sided share of null means at least as extreme as the observed one, each share
    with one added to numerator and denominator for random resamples; every sign pattern when there are no more
    than ``n_resamples`` of them. The null means are matrix products of blocks of random signs with ``diffs``
    (scipy builds each resample separately: about 0.6 s per test of 10,000 resamples on a 2-core CPU)."""
    n, total = diffs.size, diffs.sum()
    observed = diffs.mean()
    if 2**n <= n_resamples:  # exact: every sign pattern once
        flips = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        null, added = (total - 2 * flips @ diffs) / n, 0
    else:  # one block of _BATCH sign patterns in memory at a time
        null = np.concatenate([
            (total - 2 * (rng.integers(0, 2, size=(min(_BATCH, n_resamples - start), n), dtype=np.int8) @ diffs)) / n
            for start in range(0, n_resamples, _BATCH)
        ])
        added = 1
    tolerance = abs(observed) * np.finfo(float).eps * 100  # scipy's allowance for rounding in the null means
    less = (np.count_nonzero(null <= observed + tolerance) + added) / (null.size + added)
    greater = (np.count_nonzero(null >= observed - tolerance) + added) / (null.size + added)
    return min(1.0, 2 * min(less, greater))


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
