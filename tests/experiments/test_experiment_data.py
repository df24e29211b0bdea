"""The study's data: article folds without leakage, unseen languages, user training data, suite slices."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from polyret.errors import DataError, UsageError
from polyret.experiments.config import ExperimentConfig
from polyret.experiments.study_data import StudyData, prepare_study_data
from polyret.training.config import PAPER_HELD_OUT_LANGUAGES


def config(**evaluation) -> ExperimentConfig:
    cfg = ExperimentConfig()
    cfg.data.folds, cfg.evaluation.qa_max_articles = 12, 1
    cfg.evaluation = dataclasses.replace(cfg.evaluation, **evaluation)  # task file mappings become typed entries
    return cfg


@pytest.fixture(scope="module")
def study(data_dir: Path) -> StudyData:
    return prepare_study_data(config(), data_dir=data_dir)


def test_default_split_holds_out_test_articles_and_unseen_languages(study: StudyData) -> None:
    assert study.test_groups and not {qa.group for qa in study.train} & set(study.test_groups)
    assert not set(PAPER_HELD_OUT_LANGUAGES) & set(study.train_inputs["languages"])
    assert set(PAPER_HELD_OUT_LANGUAGES) <= set(study.eval_inputs["xquad-r"]["query_languages"])
    assert study.suite.task_names == ["xquad-r", "mlqa-r", "clsd-wmt19", "ntrex128", "tico19", "tatoeba"]


def test_shift_languages_cut_the_multiway_corpora(data_dir: Path) -> None:
    study = prepare_study_data(config(shift_languages=["de", "zh", "vi"]), data_dir=data_dir)
    languages = {spec.name: getattr(spec, "languages", None) for spec in study.suite.tasks}
    assert languages["ntrex128"] == ("en", "de", "zh") and languages["tico19"] == ("en", "zh")
    assert languages["tatoeba"] == ("de", "vi", "zh") and languages["clsd-wmt19"] is None
    with pytest.raises(UsageError, match="shift_languages"):
        prepare_study_data(config(shift_languages=["sw"]), data_dir=data_dir)


def test_user_training_data_that_leaks_into_the_test_fold_stops_the_study(
    study: StudyData, data_dir: Path, tmp_path: Path
) -> None:
    test_task = study.suite.tasks[0].load(data_dir)
    question = next(q.text for q in test_task.queries if q.lang == "en")
    record = {"id": "x", "questions": {"en": question}, "answers": {"en": "An answer sentence."}}
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    leaky = config()
    leaky.data.train_qa = str(path)
    with pytest.raises(DataError, match="also occur in the evaluation data.*data.allow_leakage"):
        prepare_study_data(leaky, data_dir=data_dir)
    leaky.data.allow_leakage = True
    allowed = prepare_study_data(leaky, data_dir=data_dir)
    assert (allowed.leakage.questions, allowed.leakage.answers, allowed.leakage_allowed) == (1, 0, True)
    assert allowed.leakage_summary()["allowed"] is True


def test_task_files_join_the_suite_and_leak_checks(data_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "shop.jsonl"
    row = {"id": "1", "text": {"en": "red shoe", "de": "roter Schuh"}}
    corpus.write_text(json.dumps(row) + "\n", encoding="utf-8")
    faq = tmp_path / "faq.jsonl"
    faq.write_text(json.dumps({"id": "q", "questions": {"en": "Why?"}, "answers": {"en": "Because."}}) + "\n",
                   encoding="utf-8")
    files = [{"path": str(corpus), "kind": "domain-shift"}, {"path": str(faq), "kind": "in-domain", "name": "faq"}]
    study = prepare_study_data(config(task_files=files, domain_shift=["clsd-wmt19"]), data_dir=data_dir)
    assert study.suite.task_names == ["xquad-r", "mlqa-r", "clsd-wmt19", "faq", "shop"]
    assert study.eval_inputs["shop"]["kind"] == "domain-shift" and len(study.eval_inputs["faq"]["sha256"]) == 64
    leaky = config(task_files=files, domain_shift=["clsd-wmt19"])
    leaky.data.train_qa = str(faq)  # training on the in-domain task file itself
    with pytest.raises(DataError, match="also occur in the evaluation data"):
        prepare_study_data(leaky, data_dir=data_dir)
