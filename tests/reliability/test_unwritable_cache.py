"""A read-only embedding cache (``POLYRET_CACHE_DIR`` that cannot be written): the evaluation runs on without
caching, with one warning given before anything is encoded, instead of failing after all the encoding."""

from __future__ import annotations

import json


def test_evaluate_with_an_unwritable_cache_warns_once_and_finishes(cli, tiny_model_dir, qa_file, tmp_path,
                                                                   monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("POLYRET_CACHE_DIR", str(blocker / "cache"))
    out = tmp_path / "out"
    result = cli("evaluate", "--model", tiny_model_dir, "--task-file", qa_file, "-o", out)
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if "embedding cache" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning:"), result.err
    assert json.loads((out / "results.json").read_text())["results"]
