"""compare_paired, the four-way outcome, Holm's adjustment and the detectable effect, on synthetic per-item data
whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.errors import UsageError
from polyret.evaluation.significance import compare_paired, detectable_effect, holm, outcome


def hits(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return (rng.random(n) < rate).astype(float)


def table(values: np.ndarray) -> dict[str, float]:
    return {f"q{i}": float(v) for i, v in enumerate(values)}


def flipped(values: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """``values`` with ``share`` of the 0/1 items flipped, as many 1 -> 0 as 0 -> 1 (two arms of equal accuracy
    that disagree on that share of items)."""
    out = values.copy()
    each = int(share * len(values) / 2)
    for value in (0.0, 1.0):
        out[rng.choice(np.flatnonzero(values == value), size=each, replace=False)] = 1 - value
    return out


def test_a_clear_difference_is_better_and_its_mirror_worse() -> None:
    rng = np.random.default_rng(1)
    a, b = hits(rng, 2000, 0.8), hits(rng, 2000, 0.6)
    ahead = compare_paired([table(a)], [table(b)], margin=0.01, n_resamples=1000)
    assert ahead.difference == pytest.approx(a.mean() - b.mean())
    assert ahead.ci_low < ahead.difference < ahead.ci_high and ahead.p_value < 0.01
    assert outcome(ahead, ahead.p_value) == "better"
    behind = compare_paired([table(b)], [table(a)], margin=0.01, n_resamples=1000)
    assert outcome(behind, behind.p_value) == "worse"


def test_near_identical_arms_with_many_items_are_equivalent() -> None:
    rng = np.random.default_rng(2)
    a = hits(rng, 20_000, 0.8)
    result = compare_paired([table(a)], [table(flipped(a, 0.01, rng))], margin=0.01, n_resamples=1000)
    assert result.equivalent and outcome(result, result.p_value) == "equivalent"
    assert result.mde < 0.01


def test_few_items_are_inconclusive() -> None:
    rng = np.random.default_rng(3)
    a = hits(rng, 40, 0.8)
    result = compare_paired([table(a)], [table(flipped(a, 0.1, rng))], margin=0.01, n_resamples=1000)
    assert not result.equivalent and outcome(result, result.p_value) == "inconclusive"
    assert result.mde > 0.05


def test_one_run_mde_is_about_2_8_sd_over_root_n() -> None:
    rng = np.random.default_rng(4)
    a = rng.uniform(size=900)
    b = a + rng.normal(0, 0.2, size=900)
    result = compare_paired([table(a)], [table(b)], n_resamples=4000)
    assert detectable_effect(1.0) == pytest.approx(2.80, abs=0.01)
    assert result.mde == pytest.approx(2.8 * result.sd_difference / np.sqrt(900), rel=0.1)


def test_seed_noise_widens_the_hierarchical_interval() -> None:
    rng = np.random.default_rng(5)
    base = rng.uniform(size=500)
    steady = [table(base + 0.02) for _ in range(3)]
    noisy = [table(base + 0.02 + shift) for shift in (-0.05, 0.0, 0.05)]
    reference = [table(base)] * 3
    calm = compare_paired(steady, reference, n_resamples=2000)
    wide = compare_paired(noisy, reference, n_resamples=2000)
    assert calm.method == wide.method == "hierarchical bootstrap" and wide.n_runs == 3
    assert calm.difference == pytest.approx(wide.difference) == pytest.approx(0.02)
    assert calm.p_value < 0.01 < wide.p_value
    assert wide.ci_high - wide.ci_low > 10 * (calm.ci_high - calm.ci_low)


def test_holm_matches_the_step_down_procedure() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    rng = np.random.default_rng(6)
    for _ in range(50):
        p = list(rng.uniform(0, 0.08, size=8))
        order = sorted(range(8), key=p.__getitem__)
        rejected = set()
        for rank, index in enumerate(order):  # compare the i-th smallest with alpha / (m - i + 1); stop at a failure
            if p[index] >= 0.05 / (8 - rank):
                break
            rejected.add(index)
        assert {i for i, adjusted in enumerate(holm(p)) if adjusted < 0.05} == rejected


def test_runs_must_pair_up() -> None:
    with pytest.raises(UsageError, match="equally many runs"):
        compare_paired([{"q": 1.0}], [{"q": 1.0}, {"q": 0.0}])
    with pytest.raises(UsageError, match="at least two items"):
        compare_paired([{"q": 1.0}], [{"r": 1.0}])


def test_hierarchical_bootstrap_draws_runs_then_items_with_replacement() -> None:
    """Each resample is the mean over S drawn runs of each run's mean over N drawn items (the same items for every
    run), computed here by direct indexing from the same random stream."""
    from polyret.evaluation.significance import _BATCH, hierarchical_bootstrap

    diffs = np.random.default_rng(3).normal(size=(3, 50))
    count = _BATCH + 7  # two batches
    rng = np.random.default_rng(11)
    expected = []
    for start in range(0, count, _BATCH):
        size = min(_BATCH, count - start)
        items, runs = rng.integers(0, 50, size=(size, 50)), rng.integers(0, 3, size=(size, 3))
        expected += [diffs[runs[r]][:, items[r]].mean() for r in range(size)]
    assert np.allclose(hierarchical_bootstrap(diffs, count, np.random.default_rng(11)), expected, atol=1e-12)
