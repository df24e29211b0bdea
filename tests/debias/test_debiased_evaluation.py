"""Debiasing through the embedding store: methods fitted on reference texts, test vectors never encoded again."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from polyret.data.records import ParallelQA, Passage, Query, RetrievalTask
from polyret.debias import parse_spec
from polyret.errors import UsageError
from polyret.evaluation.debiased import DebiasedStore, DebiasPlan, Reference, fit_method, run_debiased
from polyret.evaluation.lareqa import evaluate_lareqa
from polyret.evaluation.store import EmbeddingStore
from polyret.evaluation.suite import RunContext, SuiteConfig, TaskData

DIM = 32


class OffsetEncoder:
    """Texts ``"<lang> <kind> <topic>"``: a topic vector plus a large vector of the language (a biased encoder)."""

    name = "offset"

    def __init__(self):
        self.encoded: list[str] = []

    def fingerprint(self) -> str:
        return "offset-encoder"

    def encode(self, texts: Sequence[str], role: str, *, batch_size: int = 32, show_progress: bool = False):
        self.encoded.extend(texts)
        rows = [self._vector(*text.split()[::2]) for text in texts]
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, DIM), np.float32)

    @staticmethod
    def _vector(lang: str, topic: str) -> np.ndarray:
        def seeded(key: str) -> np.ndarray:
            seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
            return np.random.default_rng(seed).standard_normal(DIM)

        vector = seeded(f"topic{topic}") + 2.0 * seeded(f"lang{lang}")
        return vector / np.linalg.norm(vector)


def lareqa_task(langs: tuple[str, ...], topics: range) -> RetrievalTask:
    queries = [Query(f"{t}|{lang}", lang, f"{lang} q {t}", alignment_id=str(t)) for t in topics for lang in langs]
    passages = [Passage(f"{lang}|{t}", lang, f"{lang} a {t}") for t in topics for lang in langs]
    qrels = {q.id: {f"{lang}|{q.alignment_id}": 1 for lang in langs} for q in queries}
    return RetrievalTask("synthetic", queries, passages, qrels)


@dataclass(frozen=True)
class TaskOf:
    task: RetrievalTask
    name: str = "synthetic"

    def run(self, ctx: RunContext):
        return evaluate_lareqa(self.task, ctx.store, with_context=False)


class LoadableTaskOf(TaskOf):
    """A task whose data can be read before it runs (as the registered tasks' can)."""

    __hash__ = object.__hash__  # TaskData keeps loaded data per task

    def load(self, data_dir):
        return self.task


def reference(langs: tuple[str, ...], topics: range) -> Reference:
    items = [ParallelQA(str(t), {lang: f"{lang} q {t}" for lang in langs}, {lang: f"{lang} a {t}" for lang in langs})
             for t in topics]
    return Reference.from_qa(items, {"source": "synthetic"}, with_context=False)


@pytest.fixture
def setup():
    encoder = OffsetEncoder()
    suite = SuiteConfig("s", (TaskOf(lareqa_task(("de", "en", "zh"), range(100, 130))),))
    ctx = RunContext(EmbeddingStore(encoder), TaskData(), None, False, 32)
    plain = suite.tasks[0].run(ctx)
    return encoder, suite, ctx, plain


def test_methods_cut_the_bias_and_encode_no_test_text_again(setup):
    encoder, suite, ctx, plain = setup
    test_texts = len(encoder.encoded)
    specs = [parse_spec(s) for s in ("center", "lir", "lsar", "shift")]
    runs = run_debiased(ctx, suite, specs, reference(("de", "en", "zh"), range(40)))
    assert len(encoder.encoded) == test_texts + 2 * 40 * 3  # only the reference texts were encoded
    for run in runs:
        result = run.results["synthetic"]
        assert result.scores["multi.map"] > plain.scores["multi.map"] + 0.1, run.label
        assert result.scores["multi.bias"] < plain.scores["multi.bias"], run.label
        assert run.fit["transductive"] is False and run.fit["texts"] == 240 and run.label == run.spec.label
    assert runs[2].fit["rank"] == 2


def test_unseen_languages_skip_the_task_for_label_methods_only(setup):
    _, suite, ctx, _ = setup
    runs = run_debiased(ctx, suite, [parse_spec("center"), parse_spec("lsar")], reference(("de", "en"), range(40)))
    assert runs[0].results == {} and "cannot transform zh" in runs[0].skipped["synthetic"]
    assert "synthetic" in runs[1].results and runs[1].skipped == {}


def test_transductive_fit_uses_the_test_pool_and_says_so(setup):
    encoder, suite, ctx, plain = setup
    before = len(encoder.encoded)
    (run,) = run_debiased(ctx, suite, [parse_spec("center")], None)
    assert len(encoder.encoded) == before
    assert run.label == "center (transductive)" and run.fit["per_task"]["synthetic"]["texts"] == 180
    assert run.results["synthetic"].scores["multi.map"] > plain.scores["multi.map"]


def test_shift_moves_passages_and_leaves_queries_as_they_are(setup):
    _, _, ctx, _ = setup
    vectors, languages = reference(("de", "en", "zh"), range(40)).embed(ctx.store, 32)
    shift, facts = fit_method(parse_spec("shift:0.5"), vectors, languages)
    store = DebiasedStore(ctx.store, shift)
    texts, langs = ["de q 100", "zh q 101"], ["de", "zh"]
    assert np.array_equal(store.embed(texts, "query", languages=langs), ctx.store.embed(texts, "query"))
    moved = store.embed(texts, "passage", languages=langs)
    assert np.allclose(moved, shift.transform(ctx.store.embed(texts, "passage"), langs))
    assert not np.allclose(moved, ctx.store.embed(texts, "passage"), atol=1e-3)
    assert facts["scale"] == 0.5 and facts["source"] == "en"


def test_plan_checks_languages_before_anything_is_encoded(setup):
    encoder, _, ctx, _ = setup
    suite = SuiteConfig("s", (LoadableTaskOf(lareqa_task(("de", "en", "zh"), range(100, 110)), "t1"),
                              LoadableTaskOf(lareqa_task(("de", "en", "fr"), range(100, 110)), "t2")))
    before = len(encoder.encoded)
    ref = reference(("de", "en", "zh"), range(20))
    plan = DebiasPlan.fitted_on(ref, suite, [parse_spec("center"), parse_spec("lsar")])
    assert list(plan.skipped) == ["center"] and "has no fr" in plan.skipped["center"]["t2"]
    with pytest.raises(UsageError, match="lack fr, so it can transform none of the tasks"):
        DebiasPlan.fitted_on(ref, SuiteConfig("fr", suite.tasks[1:]), [parse_spec("lir")])
    with pytest.raises(UsageError, match="have no en"):
        DebiasPlan.fitted_on(reference(("de", "zh"), range(20)), suite, [parse_spec("shift")])
    assert len(encoder.encoded) == before  # nothing encoded so far
    center, lsar = plan.run(ctx, suite)
    assert set(center.results) == {"t1"} and center.skipped == plan.skipped["center"]
    assert set(lsar.results) == {"t1", "t2"}


def test_every_method_has_a_default_reference_size():
    from polyret.debias import METHODS
    from polyret.evaluation.debiased import PARAMETER_ARTICLES, REFERENCE_ARTICLES, reference_articles

    assert set(REFERENCE_ARTICLES) == set(METHODS) and set(PARAMETER_ARTICLES) == set(METHODS) - {"center"}
    specs = [parse_spec(name) for name in METHODS]
    assert reference_articles(specs) == max(REFERENCE_ARTICLES.values())
    assert reference_articles([parse_spec("lsar")]) == REFERENCE_ARTICLES["lsar"]
    assert reference_articles([parse_spec("lsar:7")]) == PARAMETER_ARTICLES["lsar"]
    assert reference_articles([parse_spec("shift:0.5"), parse_spec("lsar")]) == PARAMETER_ARTICLES["shift"]
