"""Group K-fold splits and the training/evaluation leakage check."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyret.data.lareqa import load_lareqa, load_parallel_qa
from polyret.data.records import ParallelCorpus, ParallelQA
from polyret.data.splits import check_leakage, fold_groups, group_folds, select_corpus, select_qa, select_task
from polyret.errors import DataError, UsageError


def test_group_folds_partition_is_balanced_and_deterministic() -> None:
    groups = [f"g{i % 23}" for i in range(500)] + ["big"] * 40
    folds = group_folds(groups, 5, seed=3)
    assert folds == group_folds(groups, 5, seed=3)
    assert sorted(g for fold in folds for g in fold) == sorted(set(groups))
    loads = [sum(groups.count(g) for g in fold) for fold in folds]
    assert max(loads) - min(loads) <= 40
    assert group_folds(groups, 5, seed=4) != folds or len(set(groups)) < 5


def test_group_folds_rejects_bad_input() -> None:
    with pytest.raises(UsageError, match="between 2 and the number of groups"):
        group_folds(["a", "b"], 3, seed=0)
    with pytest.raises(DataError, match="1 item.*without a group"):
        group_folds(["a", None, "b"], 2, seed=0)


def test_select_helpers() -> None:
    corpus = ParallelCorpus("c", ["0", "1", "2"], {"en": ["a", "b", "c"]}, ["x", "y", "x"])
    assert select_corpus(corpus, {"x"}).texts == {"en": ["a", "c"]}
    with pytest.raises(DataError, match="no groups"):
        select_corpus(ParallelCorpus("c", ["0"], {"en": ["a"]}), {"x"})
    items = [ParallelQA("1", {"en": "q"}, {"en": "a"}, group="x"), ParallelQA("2", {"en": "q"}, {"en": "a"})]
    with pytest.raises(DataError, match="1 record"):
        select_qa(items, {"x"})


def test_xquad_r_train_folds_do_not_leak_into_the_test_fold(data_dir: Path) -> None:
    task = load_lareqa("xquad-r", languages=["en", "de", "zh"], data_dir=data_dir)
    items = load_parallel_qa("xquad-r", languages=["en", "de", "zh"], data_dir=data_dir)
    folds = group_folds([q.group for q in task.queries], 4, seed=0)
    train_groups, test_groups = fold_groups(folds, 0)
    test_task = select_task(task, test_groups)
    assert {q.group for q in test_task.queries} == test_groups
    report = check_leakage(select_qa(items, train_groups), [test_task])
    assert not report.leaked and report.total_questions == report.total_answers > 0

    leaking = select_qa(items, test_groups)
    with pytest.raises(DataError, match=r"training data: (\d+) of \1 questions and (\d+) of \d+ answers also occur"):
        check_leakage(leaking, [test_task])
    allowed = check_leakage(leaking, [test_task], allow=True)
    assert allowed.questions == allowed.total_questions and len(allowed.examples) == 5
    assert allowed.answers + allowed.short_matches == allowed.total_answers  # every text leaks; the short ones
    assert allowed.short_examples == ["E. I."]  # (under 4 word characters) are counted apart


def test_leakage_compares_normalised_text() -> None:
    from polyret.data.records import Passage, Query, RetrievalTask

    task = RetrievalTask("t", [Query("q|en", "en", "Who  wrote FAUST?", "q")], [Passage("p", "en", "Goethe.")], {})
    report = check_leakage([ParallelQA("1", {"en": "who wrote faust?"}, {"en": "Schiller."})], [task], allow=True)
    assert (report.questions, report.answers) == (1, 0)


def test_short_texts_are_counted_not_compared_and_long_overlaps_still_leak() -> None:
    from polyret.data.records import Passage, Query, RetrievalTask

    task = RetrievalTask(
        "t", [Query("q|en", "en", "I.", "q"), Query("r|en", "en", "Who wrote Faust in 1808?", "r")],
        [Passage("p", "en", "Yes.")], {},
    )
    short = [ParallelQA("1", {"en": "i."}, {"en": "YES."}), ParallelQA("2", {"en": "Other words here?"}, {"en": "No"})]
    report = check_leakage(short, [task])  # raises nothing: "I." and "Yes." identify nothing
    assert (report.questions, report.answers, report.short, report.short_matches) == (0, 0, 3, 2)
    assert report.short_examples == ["i.", "YES."] and report.min_word_chars == 4
    long = [ParallelQA("3", {"en": "who wrote faust in 1808?"}, {"en": "Goethe did."})]
    with pytest.raises(DataError, match="1 of 1 questions"):
        check_leakage(long, [task])
    assert check_leakage(long, [task], min_word_chars=50, allow=True).short == 2
