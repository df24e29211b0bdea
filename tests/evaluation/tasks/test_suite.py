"""Suite definitions and task specs on the real data with the tiny model."""

from __future__ import annotations

import pytest

from polyret.errors import UsageError
from polyret.evaluation.store import EmbeddingStore
from polyret.evaluation.suite import SUITES, ClsdSpec, LareqaSpec, RunContext, get_suite, run_suite
from polyret.models.encoders import get_encoder


@pytest.fixture(scope="module")
def tiny_encoder(tiny_model_dir):
    return get_encoder(tiny_model_dir)


def _context(encoder, data_dir) -> RunContext:
    return RunContext(EmbeddingStore(encoder), data_dir, None, with_context=True, batch_size=32)


def test_named_suites_cover_the_documented_tasks():
    full = ["xquad-r", "mlqa-r", "clsd-wmt19", "clsd-wmt19-mt", "ntrex128", "tico19", "tatoeba"]
    assert SUITES["full"].task_names == full
    assert SUITES["quick"].task_names == full
    assert SUITES["lareqa"].task_names == ["xquad-r", "mlqa-r"]
    assert SUITES["domain-shift"].task_names == full[2:]
    assert get_suite("full").select(["tatoeba", "xquad-r"]).task_names == ["xquad-r", "tatoeba"]
    with pytest.raises(UsageError, match="no task 'nope'|no task nope"):
        get_suite("full").select(["nope"])
    with pytest.raises(UsageError, match="unknown suite"):
        get_suite("huge")


def test_clsd_on_a_slice_of_the_real_file_with_the_tiny_model(tiny_encoder, data_dir):
    spec = ClsdSpec(limit=12)
    result = spec.run(_context(tiny_encoder, data_dir))
    assert result.task == "clsd-wmt19"
    assert result.details["n_items"] == {"de-fr": 12, "fr-de": 12}
    assert len(result.per_query["acc"]) == 24 and set(result.per_query["acc"].values()) <= {0.0, 1.0}
    assert result.scores["acc"] == pytest.approx((result.scores["de-fr.acc"] + result.scores["fr-de.acc"]) / 2)
    swaps = result.details["swaps"]
    assert set(swaps) == {"operation", "entity_type", "pos_tag"}
    assert all(0.0 <= s["acc"] <= 1.0 and s["n"] >= 1 for values in swaps.values() for s in values.values())


def test_machine_translated_clsd_keeps_the_directions(tiny_encoder, data_dir):
    result = ClsdSpec(machine_translated=True, limit=5, swap_analysis=False).run(_context(tiny_encoder, data_dir))
    assert result.task == "clsd-wmt19-mt"
    assert set(result.scores) == {"de-fr.acc", "fr-de.acc", "acc"} and "swaps" not in result.details


def test_lareqa_spec_restricts_to_article_groups(data_dir):
    first = LareqaSpec("xquad-r", languages=("en", "de"), max_groups=1).load(data_dir)
    groups = {q.group for q in first.queries}
    assert len(groups) == 1 and {p.group for p in first.passages} == groups
    again = LareqaSpec("xquad-r", languages=("en", "de"), groups=tuple(groups)).load(data_dir)
    assert [q.id for q in again.queries] == [q.id for q in first.queries]
    with pytest.raises(UsageError, match="none of the article groups"):
        LareqaSpec("xquad-r", languages=("en",), groups=("no-such-article",)).load(data_dir)


def test_run_suite_reports_progress_and_rejects_duplicate_tasks(tiny_encoder, data_dir):
    suite = get_suite("quick").select(["clsd-wmt19"]).with_tasks(ClsdSpec(machine_translated=True, limit=3))
    seen = []
    results = run_suite(tiny_encoder, suite, data_dir=data_dir, progress=lambda *args: seen.append(args))
    assert list(results) == ["clsd-wmt19", "clsd-wmt19-mt"]
    assert seen == [("clsd-wmt19", 0, 2), ("clsd-wmt19-mt", 1, 2), ("", 2, 2)]
    with pytest.raises(UsageError, match="twice"):
        run_suite(tiny_encoder, suite.with_tasks(ClsdSpec(limit=2)), data_dir=data_dir)
