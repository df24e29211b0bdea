"""The hostile corpus: one row per way a user can hand polyret something broken (rich markup in names, output
folders that cannot be written, out-of-range config values, damaged checkpoints, degenerate training, a mistyped
model path, a missing data folder). Every row must end in its exit code with one error line naming the thing, no
stack trace, and no partial output. Internal errors (exit 70) are bugs and fail every row."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from polyret.data import languages
from polyret.evaluation.report import write_evaluation_report
from polyret.evaluation.result import TaskResult
from tests.reliability.conftest import write_train_config

TRAIN_FAST = ["--batch-size", "4", "--max-steps", "2", "--save-steps", "2"]


@dataclass(frozen=True)
class Case:
    """One hostile input: ``build`` prepares files in the test folder and returns the command line.

    Attributes:
        build: ``(tmp, fixtures) -> argv`` (``fixtures``: tiny model, QA file, a finished run with a checkpoint).
        code: the expected exit code.
        says: text the single error line must hold (the path, key or name at fault).
        absent: paths (relative to the test folder) that must not exist afterwards: no partial output.
    """

    build: Callable[[Path, dict[str, Path]], list]
    code: int
    says: str | Callable[[Path], str]
    absent: tuple[str, ...] = field(default_factory=tuple)


def _file(tmp: Path, name: str = "a-file") -> Path:
    path = tmp / name
    path.write_text("not a folder")
    return path


def _train(fx: dict[str, Path], *extra: object) -> list:
    return ["train", "--model", fx["model"], "--data", fx["qa"], *TRAIN_FAST, *extra]


def _config(tmp: Path, fx: dict[str, Path], **changes: object) -> list:
    path = write_train_config(tmp / "train.yaml", fx["model"], fx["qa"], **changes)
    return ["train", "--config", path, "--output-dir", tmp / "run"]


def _study(tmp: Path, **keys: object) -> list:
    (tmp / "study.yaml").write_text(yaml.safe_dump(keys))
    return ["experiment", "--config", tmp / "study.yaml", "--output-dir", tmp / "study"]


def _qa_line(questions: dict[str, str], answers: dict[str, str], record_id: str = "q1") -> str:
    return json.dumps({"id": record_id, "questions": questions, "answers": answers}) + "\n"


def _results(tmp: Path) -> list[Path]:
    folders = []
    for name in ("a", "b"):
        per_query = {"acc": {f"{i}|de-fr": float(i % 2) for i in range(4)}}
        result = TaskResult("clsd-wmt19", "acc", {"acc": 0.5}, per_query=per_query)
        write_evaluation_report({"clsd-wmt19": result}, tmp / name, model_name=name)
        folders.append(tmp / name)
    return folders


def _damaged_checkpoint(tmp: Path, fx: dict[str, Path], damage: Callable[[Path], None]) -> list:
    run = tmp / "run"
    shutil.copytree(fx["run"], run)
    shutil.rmtree(run / "final")
    (run / "train_summary.json").unlink()
    (checkpoint,) = (run / "checkpoints").iterdir()
    damage(checkpoint)
    return ["train", "--output-dir", run, "--resume", "--max-steps", "8"]


def _row(i: int, en: str = "red shoe", de: str = "roter Schuh") -> str:
    return json.dumps({"id": str(i), "text": {"en": f"{en} {i}", "de": f"{de} {i}"}}, ensure_ascii=False)


def _task_file(tmp: Path, bad_line: str, name: str = "shop.jsonl") -> Path:
    path = tmp / name
    path.write_text("\n".join([_row(1), bad_line, _row(3)]) + "\n", encoding="utf-8")
    return path


def _evaluate(fx: dict[str, Path], task_file: Path | str, *extra: object) -> list:
    return ["evaluate", "--model", fx["model"], "--task-file", task_file, "--no-cache", "-o", "out", *extra]


FIFO_ERROR = ("is a FIFO (named pipe), not a regular file (expected a regular file: copy what the pipe gives into a "
              "regular file first (cat PIPE > FILE) and pass that file)")


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.jsonl"
    os.mkfifo(path)
    return path


def _link_to_nothing(tmp: Path) -> Path:
    path = tmp / "link.jsonl"
    path.symlink_to(tmp / "gone.jsonl")
    return path


def _results_with(tmp: Path, change: Callable[[dict], None]) -> list[Path]:
    """Two evaluation results; the second rewritten by ``change`` (its ``clsd-wmt19`` task result)."""
    folders = _results(tmp)
    path = folders[1] / "results.json"
    data = json.loads(path.read_text())
    change(data["results"]["clsd-wmt19"])
    path.write_text(json.dumps(data))
    return folders


def _compare(tmp: Path, change: Callable[[dict], None], *extra: object) -> list:
    return ["evaluate", "compare", *_results_with(tmp, change), "--resamples", "100", *extra]


def _set_first_query(value: object) -> Callable[[dict], None]:
    def change(result: dict) -> None:
        queries = result["per_query"]["acc"]
        queries[next(iter(queries))] = value
    return change


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo never-run",))


def _pickled_weights(checkpoint: Path) -> None:
    (checkpoint / "model.safetensors").unlink()
    with open(checkpoint / "pytorch_model.bin", "wb") as handle:
        pickle.dump(_Payload(), handle)


def _markup_qa(tmp: Path) -> Path:
    path = tmp / "[bold red]x.jsonl"
    path.write_text(_qa_line({"en": "Who?", "[/]": "?"}, {"en": "Him."}))
    return path


CASES: dict[str, Case] = {
    # names that are rich markup are printed, never parsed
    "check: markup in file name and language key": Case(
        lambda tmp, fx: ["data", "check", _markup_qa(tmp)], 3, lambda tmp: str(tmp / "[bold red]x.jsonl")),
    # output folders that cannot be written: a usage error naming the path, before any work
    "train: output folder is a file": Case(
        lambda tmp, fx: _train(fx, "-o", _file(tmp)), 2, "a-file: is a file"),
    "train: output folder under a file": Case(
        lambda tmp, fx: _train(fx, "-o", _file(tmp) / "run"), 2, "lies under the file"),
    "evaluate: output folder is a file": Case(
        lambda tmp, fx: ["evaluate", "--model", fx["model"], "--tasks", "xquad-r", "-o", _file(tmp)], 2,
        "a-file: is a file"),
    "experiment: output folder under a file": Case(
        lambda tmp, fx: ["experiment", "-o", _file(tmp) / "study"], 2, "lies under the file"),
    "compare: --json names a folder": Case(
        lambda tmp, fx: ["evaluate", "compare", *_results(tmp), "--resamples", "100", "--json", tmp], 2,
        "is a folder"),
    # config values out of range: the key is named and no run folder is started
    "config: negative max_seq_length": Case(
        lambda tmp, fx: _config(tmp, fx, max_seq_length=-5), 2, "config key 'max_seq_length': must be >= 1", ("run",)),
    "config: infinite lr": Case(
        lambda tmp, fx: _config(tmp, fx, lr=float("inf")), 2, "config key 'lr': must be a finite number", ("run",)),
    "config: infinite scale": Case(
        lambda tmp, fx: _config(tmp, fx, scale=float("inf")), 2, "config key 'scale'", ("run",)),
    "config: negative save_total_limit": Case(
        lambda tmp, fx: _config(tmp, fx, save_total_limit=-1), 2, "config key 'save_total_limit'", ("run",)),
    "study: no arms": Case(lambda tmp, fx: _study(tmp, arms=[]), 2, "config key 'arms'", ("study",)),
    "study: an arm twice": Case(
        lambda tmp, fx: _study(tmp, arms=["hybrid", "hybrid"]), 2, "config key 'arms'", ("study",)),
    "study: a seed twice": Case(lambda tmp, fx: _study(tmp, seeds=[13, 13]), 2, "config key 'seeds'", ("study",)),
    "study: infinite alpha": Case(
        lambda tmp, fx: _study(tmp, hybrid_alpha=float("nan")), 2, "config key 'hybrid_alpha'", ("study",)),
    "check: negative --limit": Case(lambda tmp, fx: ["data", "check", fx["qa"], "--limit", "-1"], 2, "--limit"),
    # damaged checkpoints: the file is named; a pickle in the weights is the model error
    "checkpoint: empty rng_state.pth": Case(
        lambda tmp, fx: _damaged_checkpoint(tmp, fx, lambda c: (c / "rng_state.pth").write_bytes(b"")), 5,
        "rng_state.pth: damaged checkpoint", ("run/final",)),
    "checkpoint: rng_state.pth with other keys": Case(
        lambda tmp, fx: _damaged_checkpoint(tmp, fx, lambda c: torch.save({"x": torch.zeros(1)}, c / "rng_state.pth")),
        5, "rng_state.pth: damaged checkpoint", ("run/final",)),
    "checkpoint: broken trainer_state.json": Case(
        lambda tmp, fx: _damaged_checkpoint(tmp, fx, lambda c: (c / "trainer_state.json").write_text("{")), 5,
        "trainer_state.json", ("run/final",)),
    "checkpoint: pickle in pytorch_model.bin": Case(
        lambda tmp, fx: _damaged_checkpoint(tmp, fx, _pickled_weights), 4, "pytorch_model.bin: refusing",
        ("run/final",)),
    # degenerate training: an error with the numbers instead of a silent, useless run
    "train: batch size 1": Case(
        lambda tmp, fx: [*_train(fx, "-o", tmp / "run"), "--batch-size", "1"], 2, "config key 'batch_size'", ("run",)),
    "train: hybrid on one language": Case(
        lambda tmp, fx: _train(fx, "--languages", "en", "-o", tmp / "run"), 2, "all monolingual (en-en)", ("run",)),
    "train: a language no record has": Case(
        lambda tmp, fx: _train(fx, "--languages", "xx,en", "-o", tmp / "run"), 2, "language(s) xx", ("run",)),
    "train: unknown device": Case(
        lambda tmp, fx: _train(fx, "--device", "tpu", "-o", tmp / "run"), 2, "training device 'tpu'", ("run",)),
    **({} if torch.cuda.is_available() else {"train: cuda without a GPU": Case(
        lambda tmp, fx: _train(fx, "--device", "cuda", "-o", tmp / "run"), 2, "no CUDA GPU", ("run",))}),
    # a mistyped local path is not sent to the Hub
    "model: typo of a local folder": Case(
        lambda tmp, fx: _train(fx, "--model", "run_ok/finl", "-o", tmp / "run"), 4, "local folder 'run_ok'",
        ("run",)),
    "model: Hub name while offline": Case(
        lambda tmp, fx: _train(fx, "--model", "polyret-tests/absent", "-o", tmp / "run"), 4, "HF_HUB_OFFLINE",
        ("run",)),
    # JSON that Python's parser takes in unusual ways: one data error naming the file and line
    "task file: a key twice in one object": Case(
        lambda tmp, fx: _evaluate(fx, _task_file(tmp, '{"id": "2", "id": "9", "text": {"en": "a", "de": "b"}}')), 3,
        "shop.jsonl, line 2: key 'id' appears twice in one object", ("out",)),
    "task file: an unpaired surrogate escape": Case(
        lambda tmp, fx: _evaluate(fx, _task_file(tmp, '{"id": "\\ud800", "text": {"en": "a", "de": "b"}}')), 3,
        "shop.jsonl, line 2: a text holds an unpaired UTF-16 surrogate", ("out",)),
    "task file: nested 100,000 deep": Case(
        lambda tmp, fx: _evaluate(fx, _task_file(tmp, "[" * 100_000 + "]" * 100_000)), 3,
        "shop.jsonl, line 2: JSON nested too deeply", ("out",)),
    "task file: an integer of 5,000 digits": Case(
        lambda tmp, fx: _evaluate(fx, _task_file(tmp, '{"id": ' + "7" * 5000 + "}")), 3,
        "shop.jsonl, line 2: an integer of 5000 digits", ("out",)),
    "task file: only invisible characters": Case(
        lambda tmp, fx: _evaluate(fx, _task_file(tmp, _row(2, en="\u00a0\u200b", de="x").replace(" 2", ""))), 3,
        "line 2: text['en'] is only invisible characters", ("out",)),
    # inputs that are not regular files: refused at once, never read (no hang, no memory blow-up)
    "task file: /dev/zero": Case(lambda tmp, fx: _evaluate(fx, "/dev/zero", "--task-format", "multiway"), 3,
                                 "/dev/zero: is a character device, not a regular file", ("out",)),
    "task file: a FIFO without a writer": Case(
        lambda tmp, fx: _evaluate(fx, _fifo(tmp), "--task-format", "multiway"), 3, FIFO_ERROR,
        ("out",)),
    "task file: a link to nothing": Case(
        lambda tmp, fx: _evaluate(fx, _link_to_nothing(tmp), "--task-format", "multiway"), 3,
        "is a symbolic link to", ("out",)),
    "check: a FIFO": Case(lambda tmp, fx: ["data", "check", _fifo(tmp)], 3, FIFO_ERROR),
    "debias: --fit-on a FIFO": Case(
        lambda tmp, fx: ["debias", "--model", fx["model"], "--fit-on", _fifo(tmp), "-o", "out"], 3,
        FIFO_ERROR, ("out",)),
    "debias: --fit-on an empty file": Case(
        lambda tmp, fx: ["debias", "--model", fx["model"], "--fit-on", _file(tmp, "empty.jsonl"), "-o", "out"], 3,
        "empty.jsonl", ("out",)),
    # results files of another shape read back by compare: the key at fault is named
    "compare: a per-query value as a string": Case(lambda tmp, fx: _compare(tmp, _set_first_query("1.0")), 3,
                                                  "per_query/acc/0|de-fr: '1.0' (expected a number)"),
    "compare: a per-query value as a list": Case(lambda tmp, fx: _compare(tmp, _set_first_query([1.0])), 3,
                                                "per_query/acc/0|de-fr: [1.0] (expected a number)"),
    "compare: per_query a list": Case(
        lambda tmp, fx: _compare(tmp, lambda r: r.update(per_query=[1.0])), 3, "/results/clsd-wmt19/per_query"),
    "compare: a NaN per-query value": Case(lambda tmp, fx: _compare(tmp, _set_first_query(float("nan"))), 3,
                                          "finite (not NaN or infinite)"),
    # numbers outside what the code can take: a usage error naming the option
    "compare: --seed -1": Case(lambda tmp, fx: _compare(tmp, lambda r: None, "--seed", "-1"), 2, "'--seed'"),
    "compare: --seed 2**32": Case(lambda tmp, fx: _compare(tmp, lambda r: None, "--seed", str(2**32)), 2,
                                  "4294967295"),
    "compare: --resamples 10**12": Case(lambda tmp, fx: _compare(tmp, lambda r: None, "--resamples", str(10**12)), 2,
                                        "'--resamples'"),
    "compare: an Arabic-Indic digit": Case(lambda tmp, fx: _compare(tmp, lambda r: None, "--seed", "\u0663"), 2,
                                           "ARABIC-INDIC DIGIT THREE"),
    "debias: a superscript rank": Case(
        lambda tmp, fx: ["debias", "--model", fx["model"], "--method", "lsar:\u00b2", "-o", "out"], 2,
        "SUPERSCRIPT TWO", ("out",)),
    "config: a seed of 2**32": Case(lambda tmp, fx: _config(tmp, fx, seed=2**32), 2, "config key 'seed'", ("run",)),
    "study: a negative seed": Case(lambda tmp, fx: _study(tmp, seeds=[-1]), 2, "config key 'seeds'", ("study",)),
    # devices are checked before anything loads
    "evaluate: --device quantum": Case(lambda tmp, fx: _evaluate(fx, fx["qa"], "--device", "quantum"), 2,
                                       "unknown device 'quantum'", ("out",)),
    **({} if torch.cuda.is_available() else {"evaluate: cuda without a GPU": Case(
        lambda tmp, fx: _evaluate(fx, fx["qa"], "--device", "cuda"), 2, "no such CUDA GPU", ("out",))}),
    # task lists that name no task
    "evaluate: --tasks ,": Case(lambda tmp, fx: ["evaluate", "--model", fx["model"], "--tasks", ",", "-o", "out"], 2,
                                "--tasks: no name in ','", ("out",)),
    "evaluate: --tasks ''": Case(lambda tmp, fx: ["evaluate", "--model", fx["model"], "--tasks", "", "-o", "out"], 2,
                                 "--tasks: no name in ''", ("out",)),
    "verify: missing data folder": Case(
        lambda tmp, fx: ["data", "verify", "--data-dir", tmp / "DOES_NOT_EXIST"], 2, "DOES_NOT_EXIST"),
}


@pytest.fixture
def fixtures(tiny_model_dir: Path, qa_file: Path, runs: tuple[Path, Path]) -> dict[str, Path]:
    return {"model": tiny_model_dir, "qa": qa_file, "run": runs[0]}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_gets_one_clear_error(case, cli, fixtures, tmp_path, monkeypatch):
    spec = CASES[case]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "run_ok").mkdir()
    result = cli(*spec.build(tmp_path, fixtures))
    assert result.code == spec.code, result.err
    (error,) = result.error_lines
    says = spec.says(tmp_path) if callable(spec.says) else spec.says
    assert says in " ".join(result.err.split()) or says in error, result.err
    assert "Traceback" not in result.err + result.out
    for relative in spec.absent:
        assert not (tmp_path / relative).exists(), relative


def test_names_that_look_like_markup_are_shown_as_typed(cli, tiny_model_dir, qa_file, tmp_path):
    run = tmp_path / "mk[/]run"
    trained = cli("train", "--model", tiny_model_dir, "--data", qa_file, *TRAIN_FAST, "-o", run)
    assert trained.code == 0, trained.err
    assert str(run / "final") in " ".join(trained.out.split())
    corpus, topics, qrels = tmp_path / "c.jsonl", tmp_path / "q.jsonl", tmp_path / "qrels.tsv"
    corpus.write_text("".join(json.dumps({"_id": f"d{i}", "text": f"text {i}"}) + "\n" for i in range(12)))
    topics.write_text(json.dumps({"_id": "q", "text": "text 1"}) + "\n")
    qrels.write_text("query-id\tcorpus-id\tscore\nq\td1\t1\n")
    out = tmp_path / "ev[/]out"
    evaluated = cli("evaluate", "--model", tiny_model_dir, "--tasks", "xquad-r", "--beir-corpus", corpus,
                    "--beir-topics", topics, "--beir-qrels", qrels, "--beir-name", "[/]", "-o", out)
    assert evaluated.code == 0, evaluated.err
    assert "│ [/]" in evaluated.out and str(out / "report.md") in " ".join(evaluated.out.split())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_a_usage_error(cli, tiny_model_dir, qa_file, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    result = cli("train", "--model", tiny_model_dir, "--data", qa_file, *TRAIN_FAST, "-o", locked / "run")
    assert result.code == 2
    (error,) = result.error_lines
    assert f"{locked} is not writable" in error


def test_results_keep_the_users_umask(tmp_path):
    from polyret.io import atomic_directory, write_json

    previous = os.umask(0o022)
    try:
        write_json(tmp_path / "results.json", {})
        with atomic_directory(tmp_path / "final") as staging:
            (staging / "x").write_text("x")
    finally:
        os.umask(previous)
    assert (tmp_path / "results.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "final").stat().st_mode & 0o777 == 0o755


class _CountingEncoder:
    """Eight-dimensional vectors made from each text's characters (no model needed)."""

    name = "counting"

    def fingerprint(self) -> str:
        return "counting-v1"

    def encode(self, texts, role, *, batch_size=32, show_progress=False) -> np.ndarray:
        vectors = np.array([[float(ord(c)) for c in (text * 8)[:8]] for text in texts], dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_faiss_index_of_another_size_is_rebuilt(tmp_path, caplog):
    from polyret.data.records import Passage, Query, RetrievalTask
    from polyret.evaluation.beir import cached_faiss_index, corpus_hash
    from polyret.evaluation.search import FaissIndex
    from polyret.evaluation.store import EmbeddingStore

    texts = [f"passage {i}" for i in range(10)]
    task = RetrievalTask("t", [Query("q", "en", "passage 1", "q")], [Passage(f"p{i}", "en", t) for i, t in
                                                                      enumerate(texts)], {"q": {"p1": 1}})
    store = EmbeddingStore(_CountingEncoder(), tmp_path)
    path = tmp_path / "faiss" / f"{store.fingerprint}-{corpus_hash(task, texts)}-flat.index"
    FaissIndex(np.eye(4, dtype=np.float32)[:3], "flat").save(path)  # valid, but 3 vectors of another dimension
    index = cached_faiss_index(store, task, texts, "flat", tmp_path, {})
    assert index.index.ntotal == len(texts)
    assert "rebuilding FAISS index" in caplog.text
    assert FaissIndex.load(path, "flat").index.ntotal == len(texts)  # the rebuilt index replaced the stale one


def test_bare_polyret_version_and_debug_after_the_command(cli):
    bare = cli()
    assert "Usage" in bare.out + bare.err and not bare.error_lines
    version = cli("--version")
    assert version.code == 0 and version.out.startswith("polyret ")
    from polyret.errors import UsageError

    with pytest.raises(UsageError, match="data directory not found"):
        cli("data", "verify", "--data-dir", "/DOES_NOT_EXIST", "--debug")


BAD_TASK_LINES = {
    "a key twice": '{"id": "2", "id": "9", "text": {"en": "a", "de": "b"}}',
    "a surrogate": '{"id": "\\ud800", "text": {"en": "a", "de": "b"}}',
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "a huge integer": '{"id": ' + "7" * 5000 + "}",
    "invisible text": json.dumps({"id": "2", "text": {"en": "\u00a0\u200b", "de": "x"}}),
}


@pytest.mark.parametrize("bad", list(BAD_TASK_LINES))
def test_data_check_finds_what_evaluate_rejects(bad, cli, tmp_path):
    path = _task_file(tmp_path, BAD_TASK_LINES[bad])
    result = cli("data", "check", path)
    assert result.code == 3, result.out + result.err
    assert "no problems found" not in result.out and "line 2" in result.out, result.out


def test_region_subtags_name_one_language_and_padded_texts_are_flagged(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(languages, "_NOTED", set())  # each code is warned once per process: start afresh
    path = tmp_path / "regions.jsonl"
    rows = [{"id": str(i), "text": {"zh-CN": f"红鞋 {i}", "pt_BR": f"sapato {i}", " de-de ": f"Schuh {i} "}}
            for i in range(3)]
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    result = cli("data", "check", path)
    assert result.code == 0, result.err
    assert "languages: de, pt, zh" in result.out
    assert "note: 3 text(s) start or end with white space" in result.out
    assert "language code 'zh-CN' read as 'zh'" in result.err and "'pt_BR' read as 'pt'" in result.err


def test_a_tasks_run_is_recorded_under_its_tasks_not_the_default_suite(cli, tiny_model_dir, tmp_path):
    out = tmp_path / "run"
    result = cli("evaluate", "--model", tiny_model_dir, "--tasks", "xquad-r", "--no-context", "-o", out)
    assert result.code == 0, result.err
    assert json.loads((out / "results.json").read_text())["meta"]["suite"] == "xquad-r"
    assert "| suite | xquad-r |" in (out / "report.md").read_text()


def test_two_directions_sharing_a_score_key_are_refused(tmp_path):
    from polyret.data.records import ParallelCorpus
    from polyret.errors import UsageError
    from polyret.evaluation.bitext import evaluate_bitext
    from polyret.evaluation.store import EmbeddingStore

    languages = ("en", "pt-br", "en-pt", "br")  # en→pt-br and en-pt→br would both be "en-pt-br"
    corpus = ParallelCorpus("clash", [str(i) for i in range(4)],
                            {lang: [f"{lang} text {i}" for i in range(4)] for lang in languages})
    with pytest.raises(UsageError, match="share the score key 'en-pt-br'"):
        evaluate_bitext(corpus, EmbeddingStore(_CountingEncoder(), tmp_path), name="clash",
                        pairs=[("en", "pt-br"), ("en-pt", "br")])
