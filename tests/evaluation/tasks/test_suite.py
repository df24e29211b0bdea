"""Suite definitions and task specs on the real data with the tiny model."""

from __future__ import annotations

import pytest

from polyret.errors import UsageError
from polyret.evaluation.catalog import SUITES, get_suite, select_tasks
from polyret.evaluation.store import EmbeddingStore
from polyret.evaluation.suite import ClsdSpec, LareqaSpec, RunContext, TaskData, run_suite
from polyret.models.encoders import get_encoder


@pytest.fixture(scope="module")
def tiny_encoder(tiny_model_dir):
    return get_encoder(tiny_model_dir)


def _context(encoder, data_dir) -> RunContext:
    return RunContext(EmbeddingStore(encoder), TaskData(data_dir), None, with_context=True, batch_size=32)


def test_named_suites_cover_the_documented_tasks():
    full = ["xquad-r", "mlqa-r", "clsd-wmt19", "clsd-wmt19-mt", "ntrex128", "tico19", "tatoeba"]
    assert SUITES["full"].task_names == full
    assert SUITES["quick"].task_names == full
    assert SUITES["lareqa"].task_names == ["xquad-r", "mlqa-r"]
    assert SUITES["domain-shift"].task_names == full[2:]
    assert select_tasks(get_suite("full"), ["tatoeba", "xquad-r"]).task_names == ["xquad-r", "tatoeba"]
    with pytest.raises(UsageError, match="no task 'nope'|no task nope"):
        select_tasks(get_suite("full"), ["nope"])
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
    suite = select_tasks(get_suite("quick"), ["clsd-wmt19"]).with_tasks(ClsdSpec(machine_translated=True, limit=3))
    seen = []
    results = run_suite(tiny_encoder, suite, data_dir=data_dir, progress=lambda *args: seen.append(args))
    assert list(results) == ["clsd-wmt19", "clsd-wmt19-mt"]
    assert seen == [("clsd-wmt19", 0, 2), ("clsd-wmt19-mt", 1, 2), ("", 2, 2)]
    with pytest.raises(UsageError, match="twice"):
        run_suite(tiny_encoder, suite.with_tasks(ClsdSpec(limit=2)), data_dir=data_dir)


def _counting_load(real_load, reads: list):
    def load(self, data_dir):
        reads.append(self)
        return real_load(self, data_dir)

    return load


def test_task_data_reads_each_task_once_and_runs_score_as_with_fresh_data(tiny_encoder, data_dir, monkeypatch):
    suite = select_tasks(get_suite("quick"), ["xquad-r", "clsd-wmt19", "tatoeba"])
    fresh = run_suite(tiny_encoder, suite, data_dir=data_dir)
    task_data, reads = TaskData(data_dir), []
    for spec in suite.tasks:
        monkeypatch.setattr(type(spec), "load", _counting_load(type(spec).load, reads))
    runs = [run_suite(tiny_encoder, suite, data_dir=data_dir, task_data=task_data) for _ in range(2)]
    assert reads == list(suite.tasks)  # read in the first run only
    for results in runs:
        assert {name: r.per_query for name, r in results.items()} == {name: r.per_query for name, r in fresh.items()}
    with pytest.raises(UsageError, match="cannot serve"):
        run_suite(tiny_encoder, suite, data_dir=data_dir / "elsewhere", task_data=task_data)
