"""``polyret experiment`` end to end on the tiny study: outputs, consistency, reuse, resume, redo, bad configs."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest

from polyret.experiments import runner
from polyret.experiments.report import render_markdown
from polyret.models.loading import model_fingerprint
from tests.conftest import run_polyret

from .conftest import tiny_study, write_config


class Forbidden(Exception):
    """Raised by a stand-in for work that must not happen."""


def forbid(*_args, **_kwargs):
    raise Forbidden


def arm_dirs(study: Path) -> dict[str, Path]:
    """Run name (without hash) -> arm folder."""
    return {path.name.rsplit("-", 1)[0]: path for path in sorted((study / "arms").iterdir())}


@pytest.fixture
def study_copy(finished_study: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished_study, tmp_path / "tiny"))


def rerun(config: Path, study: Path, *extra: str) -> int:
    return run_polyret("experiment", "--config", config, "--output-dir", study, *extra)


def test_study_writes_report_and_results(finished_study: Path) -> None:
    results = json.loads((finished_study / "results.json").read_text(encoding="utf-8"))
    report = (finished_study / "report.md").read_text(encoding="utf-8")
    assert set(results["arms"]) == {"zero-shot", "mixed-s3", "hybrid-s3"}
    assert results["verdict"]["answer"] in {"yes", "no", "inconclusive"}
    assert report == render_markdown(results)
    assert "polyret experiment --config" in results["provenance"]["command"]
    assert any(key.startswith("xquad-r/") for key in results["provenance"]["data_checksums"])
    for name, folder in arm_dirs(finished_study).items():
        arm = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        row = next(r for r in results["table"]["rows"] if r["arm"] == arm["label"])
        assert row["xquad-r:multi.map"] == arm["tasks"]["xquad-r"]["scores"]["multi.map"], name
        line = next(x for x in report.splitlines() if x.startswith(f"| {arm['label']} |"))
        assert f"{row['ntrex128:p@1']:.4f}" in line
    assert (arm_dirs(finished_study)["hybrid-s3"] / "train" / "final").is_dir()
    assert not (arm_dirs(finished_study)["zero-shot"] / "train").exists()


def test_rerun_reuses_finished_arms(study_copy: Path, tiny_study_config: Path, monkeypatch) -> None:
    monkeypatch.setattr(runner, "train", forbid)
    monkeypatch.setattr(runner, "run_suite", forbid)
    before = {name: (d / "results.json").read_bytes() for name, d in arm_dirs(study_copy).items()}
    assert rerun(tiny_study_config, study_copy) == 0
    assert before == {name: (d / "results.json").read_bytes() for name, d in arm_dirs(study_copy).items()}
    statuses = {
        arm["info"]["status"] for arm in json.loads((study_copy / "results.json").read_text())["arms"].values()
    }
    assert statuses == {"reused"}


def test_corrupt_result_is_recomputed_and_interrupted_training_resumes(
    study_copy: Path, tiny_study_config: Path, monkeypatch
) -> None:
    arms = arm_dirs(study_copy)
    mixed, hybrid = arms["mixed-s3"], arms["hybrid-s3"]
    stored = (mixed / "results.json").read_text(encoding="utf-8")
    (mixed / "results.json").write_text(stored[: len(stored) // 2], encoding="utf-8")  # a torn write
    (hybrid / "results.json").unlink()  # hybrid died after its last checkpoint, before saving its model
    (hybrid / "train" / "train_summary.json").unlink()
    shutil.rmtree(hybrid / "train" / "final")
    trained, evaluated = [], []
    real_train, real_run_suite = runner.train, runner.run_suite
    monkeypatch.setattr(runner, "train", lambda cfg, *a, **k: trained.append(cfg.resume) or real_train(cfg, *a, **k))
    monkeypatch.setattr(runner, "run_suite", lambda *a, **k: evaluated.append(1) or real_run_suite(*a, **k))
    assert rerun(tiny_study_config, study_copy) == 0
    assert trained == [True]  # only hybrid trains, resuming its checkpoint; mixed's finished model is reused
    assert len(evaluated) == 2  # zero-shot is reused
    assert (mixed / "results.invalid.json").read_text(encoding="utf-8") == stored[: len(stored) // 2]
    assert json.loads((mixed / "results.json").read_text(encoding="utf-8"))["tasks"] == json.loads(stored)["tasks"]
    assert (hybrid / "train" / "final").is_dir() and (hybrid / "results.json").is_file()


def test_force_redoes_finished_arms(study_copy: Path, tiny_study_config: Path, monkeypatch) -> None:
    monkeypatch.setattr(runner, "train", forbid)
    assert rerun(tiny_study_config, study_copy, "--force") != 0  # the first trained arm reached train()
    assert not (arm_dirs(study_copy)["mixed-s3"] / "results.json").exists()


def test_changed_training_setting_gives_new_arm_folders(
    study_copy: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    changed = tiny_study(tiny_model_dir) | {"arms": ["zero-shot", "hybrid"]}
    changed["training"] = changed["training"] | {"lr": 2e-3}
    config = write_config(tmp_path / "changed.yaml", changed)
    old = arm_dirs(study_copy)
    monkeypatch.setattr(runner, "train", forbid)
    monkeypatch.setattr(runner, "run_suite", forbid)
    assert rerun(str(config), study_copy) != 0  # zero-shot is reused; the changed hybrid arm must train
    new = {p.name for p in (study_copy / "arms").iterdir()} - {p.name for p in old.values()}
    assert len(new) == 1 and new.pop().startswith("hybrid-s3-")


def test_pruned_checkpoints_and_a_frozen_reference_encoder(tiny_model_dir: Path, tmp_path: Path) -> None:
    study = tiny_study(tiny_model_dir) | {
        "arms": ["hybrid"], "keep_checkpoints": False, "reference_models": ["use-multilingual"]
    }
    config = write_config(tmp_path / "prune.yaml", study)
    assert rerun(str(config), tmp_path / "out") == 0
    arms = {d.name.rsplit("-", 1)[0]: d for d in (tmp_path / "out" / "arms").iterdir()}
    assert set(arms) == {"hybrid-s3", "reference-use-multilingual"}
    assert (arms["hybrid-s3"] / "train" / "final").is_dir()
    assert not (arms["hybrid-s3"] / "train" / "checkpoints").exists()  # a finished arm keeps only its model
    assert not (arms["reference-use-multilingual"] / "train").exists()  # never trained
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    reference = json.loads((arms["reference-use-multilingual"] / "results.json").read_text(encoding="utf-8"))
    row = next(r for r in results["table"]["rows"] if r["arm"] == "use-multilingual (zero-shot)")
    assert row["ntrex128:p@1"] == reference["tasks"]["ntrex128"]["scores"]["p@1"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"evaluation": {"max_itemz": 3}}, "evaluation.max_itemz"),
        ({"seeds": "three"}, "seeds"),
        ({"training": {"sampler": "mixed"}}, "training.sampler"),
        ({"training": {"lr": "fast"}}, "lr"),
        ({"arms": ["hybrid@2"]}, "hybrid@2"),
        ({"data": {"folds": 4, "test_fold": 4}}, "data.test_fold"),
    ],
)
def test_bad_config_is_a_usage_error(tmp_path: Path, tiny_model_dir: Path, capsys, change: dict, needle: str) -> None:
    config = write_config(tmp_path / "bad.yaml", tiny_study(tiny_model_dir) | change)
    assert rerun(config, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_committed_study_is_reused_from_another_folder(
    finished_study: Path, tiny_study_config: Path, tmp_path: Path, monkeypatch
) -> None:
    """Only the small result files travel (as in a fresh clone of studies/<name>): no models, no checkpoints."""
    clone = tmp_path / "clone" / "studies" / "tiny"
    for path in finished_study.rglob("*.json*"):  # results.json and the per_query.json.gz it names
        if "train" not in path.relative_to(finished_study).parts:
            (clone / path.relative_to(finished_study)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, clone / path.relative_to(finished_study))
    stored = json.loads((finished_study / "results.json").read_text(encoding="utf-8"))
    assert {arm["info"]["run_dir"] for arm in stored["arms"].values()} == {
        f"arms/{folder.name}" for folder in arm_dirs(finished_study).values()}
    monkeypatch.setattr(runner, "train", forbid)
    monkeypatch.setattr(runner, "run_suite", forbid)
    monkeypatch.chdir(tmp_path)
    assert rerun(tiny_study_config, Path("clone/studies/tiny")) == 0
    results = (clone / "results.json").read_text(encoding="utf-8")
    assert str(finished_study) not in results and str(tmp_path) not in results
    assert {arm["info"]["status"] for arm in json.loads(results)["arms"].values()} == {"reused"}


def test_the_base_model_is_read_once_per_study_with_the_results_of_reading_it_per_arm(
    tiny_model_dir: Path, tmp_path: Path, model_reads: list[Path], monkeypatch
) -> None:
    config = write_config(tmp_path / "two.yaml", tiny_study(tiny_model_dir) | {"arms": ["zero-shot", "hybrid"]})
    assert rerun(config, tmp_path / "kept") == 0
    assert model_reads == [tiny_model_dir]
    monkeypatch.setattr(runner, "keep_loaded", lambda *names: contextlib.nullcontext())
    assert rerun(config, tmp_path / "per-arm") == 0
    assert model_reads == [tiny_model_dir] * 3
    kept, per_arm = arm_dirs(tmp_path / "kept"), arm_dirs(tmp_path / "per-arm")
    for name in ("zero-shot", "hybrid-s3"):
        stored = [json.loads((arms[name] / "results.json").read_text(encoding="utf-8")) for arms in (kept, per_arm)]
        assert stored[0]["tasks"] == stored[1]["tasks"]
    assert model_fingerprint(kept["hybrid-s3"] / "train" / "final") == model_fingerprint(
        per_arm["hybrid-s3"] / "train" / "final")
