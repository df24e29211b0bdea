"""compare_paired with one run per side, randomisation and bootstrap p-values: identical runs, clearly different
runs, reproducibility, scipy's sign-flip test."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.errors import UsageError
from polyret.evaluation.significance import compare_paired

METHODS = ["randomization", "bootstrap"]


def _run(values: np.ndarray) -> dict[str, float]:
    return {f"q{i}": float(v) for i, v in enumerate(values)}


def paired_test(a: dict[str, float], b: dict[str, float], **options):
    return compare_paired([a], [b], **options)


@pytest.fixture
def base() -> np.ndarray:
    return np.random.default_rng(0).uniform(size=300)


@pytest.mark.parametrize("method", METHODS)
def test_identical_runs(method, base):
    result = paired_test(_run(base), _run(base), method=method, n_resamples=2000)
    assert result.p_value == pytest.approx(1.0)
    assert result.difference == 0.0 and result.ci_low == 0.0 and result.ci_high == 0.0


@pytest.mark.parametrize("method", METHODS)
def test_shifted_runs(method, base):
    noise = np.random.default_rng(1).normal(scale=0.1, size=base.size)
    noise -= noise.mean()  # the observed mean difference is exactly the shift
    result = paired_test(_run(base + 0.05 + noise), _run(base), method=method, n_resamples=2000)
    assert result.p_value < 0.01
    assert result.difference == pytest.approx(0.05)
    assert 0 < result.ci_low < 0.05 < result.ci_high
    assert result.n_items == 300


@pytest.mark.parametrize("method", METHODS)
def test_noise_alone_is_not_significant(method, base):
    noise = np.random.default_rng(2).normal(scale=0.1, size=base.size)
    noise -= noise.mean()
    assert paired_test(_run(base + noise), _run(base), method=method, n_resamples=2000).p_value > 0.5


@pytest.mark.parametrize("method", METHODS)
def test_seeded(method, base):
    a, b = _run(base + np.random.default_rng(3).normal(scale=0.2, size=base.size)), _run(base)
    assert paired_test(a, b, method=method, seed=5, n_resamples=500) == paired_test(
        a, b, method=method, seed=5, n_resamples=500
    )
    assert paired_test(a, b, method=method, seed=5, n_resamples=500).method == method


@pytest.mark.parametrize("method", METHODS)
def test_runs_are_paired_on_the_query_ids_they_share(method):
    shared = paired_test({"q1": 1.0, "q2": 0.0, "q3": 1.0}, {"q1": 0.5, "q2": 0.0, "q4": 0.0}, method=method)
    assert shared.n_items == 2 and shared.difference == pytest.approx(0.25)
    with pytest.raises(UsageError, match="at least two items"):
        paired_test({"q1": 1.0, "q2": 1.0}, {"q1": 0.0, "q3": 0.0}, method=method)
    with pytest.raises(UsageError):
        paired_test({}, {}, method=method)


def test_unknown_method():
    with pytest.raises(UsageError, match="unknown paired test"):
        paired_test({"q": 1.0}, {"q": 0.0}, method="t-test")  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [4, 9, 13])
def test_randomization_p_value_is_scipys_exact_sign_flip_test_on_small_sets(n):
    from scipy import stats

    diffs = np.random.default_rng(n).normal(0.3, 1.0, size=n)
    expected = stats.permutation_test((diffs,), np.mean, permutation_type="samples", n_resamples=10_000).pvalue
    assert paired_test(_run(diffs), _run(np.zeros(n)), n_resamples=10_000).p_value == pytest.approx(expected)


@pytest.mark.parametrize("shift", [0.0, 0.04])
def test_randomization_p_value_agrees_with_scipys_random_sign_flips(shift):
    from scipy import stats

    diffs = np.random.default_rng(7).normal(shift, 0.5, size=400)
    expected = stats.permutation_test(
        (diffs,), np.mean, permutation_type="samples", n_resamples=20_000, rng=np.random.default_rng(1)
    ).pvalue
    got = paired_test(_run(diffs), _run(np.zeros(diffs.size)), n_resamples=20_000).p_value
    assert abs(got - expected) < 0.02  # two Monte Carlo estimates of one p-value (standard error below 0.004)
