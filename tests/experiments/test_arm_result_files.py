"""An arm's stored result: per-query values in a compressed file beside a small results.json, both checked."""

from __future__ import annotations

import json

import pytest

from polyret.errors import DataError
from polyret.experiments.arm_result import PER_QUERY_FILE, RESULTS_FILE, load_arm_result, save_arm_result

from .synthetic import arm_result

TASKS = ["xquad-r", "mlqa-r", "ntrex128", "tico19"]


def _saved(tmp_path):
    result = arm_result("hybrid", "hybrid", seed=13, in_domain=0.6, shift=0.7, alpha=0.5)
    save_arm_result(tmp_path, result)
    return result


def test_round_trip_keeps_every_value_and_results_json_holds_no_per_query_values(tmp_path):
    result = _saved(tmp_path)
    stored = json.loads((tmp_path / RESULTS_FILE).read_text())
    assert all("per_query" not in task for task in stored["tasks"].values())
    assert (tmp_path / PER_QUERY_FILE).read_bytes()[:2] == b"\x1f\x8b"  # gzip
    loaded = load_arm_result(tmp_path, config_hash=result.config_hash, tasks=TASKS)
    assert loaded.to_dict() == result.to_dict()


def test_writing_twice_gives_identical_bytes(tmp_path):
    _saved(tmp_path)
    first = (tmp_path / PER_QUERY_FILE).read_bytes(), (tmp_path / RESULTS_FILE).read_bytes()
    _saved(tmp_path)
    assert ((tmp_path / PER_QUERY_FILE).read_bytes(), (tmp_path / RESULTS_FILE).read_bytes()) == first


@pytest.mark.parametrize("damage", ["missing", "other values", "truncated"])
def test_a_missing_or_changed_values_file_makes_the_result_untrusted(tmp_path, damage):
    result = _saved(tmp_path)
    values = tmp_path / PER_QUERY_FILE
    if damage == "missing":
        values.unlink()
    elif damage == "other values":
        other = tmp_path / "other"
        other.mkdir()
        save_arm_result(other, arm_result("hybrid", "hybrid", seed=42, in_domain=0.6, shift=0.7, alpha=0.5))
        values.write_bytes((other / PER_QUERY_FILE).read_bytes())
    else:
        values.write_bytes(values.read_bytes()[:40])
    with pytest.raises(DataError, match=PER_QUERY_FILE.replace(".", r"\.")):
        load_arm_result(tmp_path, config_hash=result.config_hash, tasks=TASKS)


def test_results_of_the_older_layout_with_values_inside_are_read_as_they_are(tmp_path):
    result = arm_result("hybrid", "hybrid", seed=13, in_domain=0.6, shift=0.7, alpha=0.5)
    (tmp_path / RESULTS_FILE).write_text(json.dumps(result.to_dict()))
    loaded = load_arm_result(tmp_path, config_hash=result.config_hash, tasks=TASKS)
    assert loaded.tasks["xquad-r"].per_query == result.tasks["xquad-r"].per_query
