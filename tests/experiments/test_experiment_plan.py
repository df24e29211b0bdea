"""``polyret experiment --dry-run``: every preset's plan on the real data, and a plan that reads measured costs."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from polyret.experiments import runner
from polyret.experiments.config import PRESETS


def forbid(*_args, **_kwargs):
    raise AssertionError("a dry run must not train or load a model")


@pytest.fixture(autouse=True)
def _no_model(monkeypatch) -> None:
    monkeypatch.setattr(runner, "train", forbid)
    monkeypatch.setattr(runner, "get_encoder", forbid)


@pytest.mark.skipif(not os.environ.get("POLYRET_DATA_DIR"), reason="needs the real data (POLYRET_DATA_DIR)")
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_plans_on_the_real_data(preset: str, tmp_path: Path, cli) -> None:
    result = cli("experiment", "--preset", preset, "--dry-run", "-o", tmp_path / preset)
    assert result.code == 0, result.err
    out = result.out
    assert f"Plan of study {preset!r}" in out and "Estimated time:" in out
    for task in (*PRESETS[preset].get("evaluation", {}).get("in_domain", ["xquad-r", "mlqa-r"]), "clsd-wmt19"):
        assert re.search(rf"{task}: \d+ items, \d+ texts, \S+: MDE 0\.\d{{4}}", out), task
    assert not (tmp_path / preset).exists()  # nothing written
    lacking = {"quick": {"ntrex128": "el, vi", "tico19": "de, el, vi"},
               "standard": {"ntrex128": "el", "tico19": "de, el"}}
    for task, languages in lacking.get(preset, {}).items():  # one line per task naming the languages left out
        assert f"\n    {task}: its corpus has no {languages}, so it is evaluated without" in out, out
    assert out.count("its corpus has no") == len(lacking.get(preset, {}))


def test_plan_counts_finished_arms_and_estimates_time_from_them(
    finished_study: Path, tiny_study_config: Path, tmp_path: Path, cli
) -> None:
    study = Path(shutil.copytree(finished_study, tmp_path / "tiny"))
    result = cli("experiment", "--config", tiny_study_config, "--dry-run", "-o", study)
    assert result.code == 0, result.err
    out = result.out
    assert "finished already: 3." in out and "Estimated time: training 0 min" in out
    assert "measured from 2 trained and 3 evaluated arms of tiny" in out
    stored = json.loads((study / "results.json").read_text(encoding="utf-8"))
    assert "sd(d)" in out and ("comparisons of study tiny" in out) == any(
        cell.get("sd_difference") is not None for cells in stored["comparisons"].values() for cell in cells.values())


def test_encoding_costs_come_from_arms_on_the_same_backend(tmp_path: Path) -> None:
    from polyret.experiments.plan import measured_costs

    for name, backend, seconds in (("a", "torch-fp32", 400.0), ("b", "openvino-bf16", 200.0), ("c", None, 300.0)):
        info = {"eval_texts": 1000, "eval_wall_s": seconds} | ({"backend": backend} if backend else {})
        arm = tmp_path / "study" / "arms" / name
        arm.mkdir(parents=True)
        (arm / "results.json").write_text(json.dumps({"config": {"base_model": "m"}, "info": info}))
    fp32 = measured_costs(tmp_path / "study", "m", None)  # an arm without a backend (older) ran torch fp32
    bf16 = measured_costs(tmp_path / "study", "m", None, backend="openvino-bf16")
    assert (fp32["eval_s_per_text"], fp32["measured_runs"]["evaluate"]) == (0.35, 2)
    assert (bf16["eval_s_per_text"], bf16["measured_runs"]["evaluate"]) == (0.2, 1)
