"""Two real processes sharing one ``POLYRET_CACHE_DIR`` (prepared model, embedding shards, FAISS index): both
finish, both get the same vectors, and the cache they leave is complete and trusted by a third run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).with_name("concurrent_cache_worker.py")
CORPUS = 200


def _start(tiny_model_dir: Path, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "POLYRET_CACHE_DIR": str(cache), "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, str(WORKER), str(tiny_model_dir), str(CORPUS)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(process: subprocess.Popen[str]) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "discarding" not in err, err  # nothing read half-written
    return json.loads(out.strip().splitlines()[-1])


def test_two_processes_share_one_cache_folder(tiny_model_dir, tmp_path):
    cache = tmp_path / "cache"
    first, second = _start(tiny_model_dir, cache), _start(tiny_model_dir, cache)
    results = [_finish(first), _finish(second)]
    assert results[0]["vectors_sha256"] == results[1]["vectors_sha256"]
    assert results[0]["nearest"] == results[1]["nearest"]
    assert all(result["index_size"] == CORPUS for result in results)
    assert not [p for p in cache.rglob("*.tmp")]  # no staging file or folder left behind
    third = _finish(_start(tiny_model_dir, cache))
    assert third["encoded"] == 0 and third["vectors_sha256"] == results[0]["vectors_sha256"]
