"""The samplers draw exactly the batches they drew when the training pairs were still materialised.

``fixtures/recorded_draws.json`` holds, per case, every batch of epochs 0 and 1 (hashed, the first ones in clear),
the epoch length, the usable and unused pair counts and the fingerprint, recorded with the samplers that held one
object per pair (:mod:`tests.sampling.recorded_draws`). The quick and standard studies' training folds are among
the cases, so their committed results stay the results of these batches.
"""

from __future__ import annotations

import json

import pytest

from .recorded_draws import FIXTURE, cases, describe_pairs, record, sampler_of

RECORDED = json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def drawn(data_dir) -> dict[str, dict]:
    out = {}
    for name, records, options in cases(str(data_dir)):
        sampler = sampler_of(records, options)
        out[name] = record(sampler, describe_pairs(sampler.table))
    return out


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_the_draw_equals_the_recorded_one(drawn, name):
    assert drawn[name] == RECORDED[name]
