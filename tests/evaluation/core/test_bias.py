"""Language-bias formulas on hand-computed cases."""

from __future__ import annotations

import pytest

from polyret.evaluation.bias import normalised_rank_spread, own_language_share, rank_spread


def test_rank_spread_is_max_minus_min():
    assert rank_spread([12, 3, 40, 7]) == 37
    assert rank_spread([2, 1]) == 1  # adjacent: the best possible spread for two items
    assert normalised_rank_spread([12, 3, 40, 7], pool_size=100) == pytest.approx(0.37)


def test_rank_spread_needs_two_items():
    with pytest.raises(ValueError):
        rank_spread([5])


def test_own_language_share():
    top = ["de", "de", "en", "de", "zh"]
    assert own_language_share(top, "de") == pytest.approx(3 / 5)
    assert own_language_share(top, "ar") == 0.0
    with pytest.raises(ValueError):
        own_language_share([], "de")
