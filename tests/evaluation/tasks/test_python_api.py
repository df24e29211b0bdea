"""The Python entry points: `polyret.evaluate` (the same results as `polyret evaluate`), the names the package
`__init__`s export, and the train -> evaluate -> compare example of docs/evaluation.md, run as written."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

import polyret
from polyret.data.lareqa import load_parallel_qa
from polyret.evaluation.catalog import get_suite, select_tasks

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.mark.parametrize("package", ["polyret", "polyret.data", "polyret.debias", "polyret.evaluation",
                                     "polyret.experiments", "polyret.models", "polyret.sampling", "polyret.training"])
def test_every_exported_name_imports(package):
    module = importlib.import_module(package)
    assert module.__all__ and all(getattr(module, name) is not None for name in module.__all__)


def test_names_the_readme_and_docs_give_import():
    from polyret.evaluation import EmbeddingStore, evaluate_lareqa  # noqa: F401
    from polyret.models import get_encoder  # noqa: F401
    from polyret.sampling import LanguageBatchSampler  # noqa: F401

    assert polyret.evaluate.__module__ == "polyret.evaluation.run"


def test_library_and_cli_give_the_same_results(tiny_model_dir, tmp_path, cli):
    suite = select_tasks(get_suite("quick"), ["xquad-r", "clsd-wmt19"])
    result = polyret.evaluate(str(tiny_model_dir), suite, debias=["center"], debias_transductive=True,
                              output_dir=tmp_path / "lib")
    assert list(result.results) == ["xquad-r", "clsd-wmt19", "xquad-r + center (transductive)",
                                    "clsd-wmt19 + center (transductive)"]
    assert result.meta["texts_encoded"] > 0 and result.files is not None and result.files.markdown.exists()
    argv = ["evaluate", "--model", str(tiny_model_dir), "--tasks", "xquad-r,clsd-wmt19", "--debias", "center",
            "--debias-transductive", "--no-cache", "-o", str(tmp_path / "cli")]
    assert cli(*argv).code == 0
    from_cli = json.loads((tmp_path / "cli" / "results.json").read_text(encoding="utf-8"))["results"]
    assert {name: r["scores"] for name, r in from_cli.items()} == {n: r.scores for n, r in result.results.items()}


def _example() -> str:
    """The README's Python example, which docs/evaluation.md repeats word for word."""
    found = []
    for path in (DOCS.parent / "README.md", DOCS / "evaluation.md"):
        match = re.search(r"<!-- python-example -->\n```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
        assert match, f"{path.name} lost its Python example"
        found.append(match.group(1))
    assert found[0] == found[1], "the README's Python example and docs/evaluation.md's differ"
    return found[0]


def test_the_documented_example_runs(tiny_model_dir, data_dir, tmp_path, monkeypatch, capsys):
    code = _example()
    assert len(code.strip().splitlines()) <= 11
    records = load_parallel_qa("xquad-r", languages=["en", "de"], groups=["1"], data_dir=data_dir)[:16]
    lines = [json.dumps({"id": r.id, "questions": dict(r.questions), "answers": dict(r.answers)}) for r in records]
    (tmp_path / "my_qa.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for old, new in (('"multilingual-e5-small"', repr(str(tiny_model_dir))),
                     ("max_steps=500", "max_steps=2, batch_size=4, with_context=False"),
                     ('["xquad-r", "clsd-wmt19"]', "SLICE")):
        assert old in code
        code = code.replace(old, new)
    slice_ = select_tasks(get_suite("quick"), ["xquad-r", "clsd-wmt19"])
    exec(compile(code, "docs/evaluation.md", "exec"), {"SLICE": slice_})
    printed = capsys.readouterr().out
    assert re.search(r"^xquad-r multi\.ap: [+-]\d\.\d{4} \(Holm p \d\.\d{3}\)$", printed, re.M)
    assert re.search(r"^clsd-wmt19 acc: ", printed, re.M)
    assert (tmp_path / "runs" / "my-hybrid" / "eval" / "report.md").exists()
    assert (tmp_path / "runs" / "e5-eval" / "results.json").exists()
