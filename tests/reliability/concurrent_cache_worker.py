"""One of two processes sharing a ``POLYRET_CACHE_DIR``: prepare a model alias, encode texts through the disk
cache of embeddings, build a cached FAISS index, and print what it got (run by test_concurrent_cache.py).

Usage: python concurrent_cache_worker.py TINY_MODEL_DIR CORPUS_SIZE
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from polyret.data.records import Passage, Query, RetrievalTask
from polyret.evaluation import store as store_module
from polyret.evaluation.beir import cached_faiss_index
from polyret.evaluation.store import EmbeddingStore
from polyret.models import registry
from polyret.models.encoders import get_encoder
from polyret.settings import cache_dir

ALIAS = "tiny-shared"


def _slow_copy(source: Path):
    def build(out_dir: Path, report=None) -> Path:
        time.sleep(1.0)  # long enough for the other process to arrive while this one prepares
        shutil.copytree(source, out_dir, dirs_exist_ok=True)
        return out_dir

    return build


def main() -> None:
    tiny, size = Path(sys.argv[1]), int(sys.argv[2])
    registry.MODELS[ALIAS] = replace(registry.MODELS["multilingual-e5-small"], alias=ALIAS, build=_slow_copy(tiny))
    store_module.SHARD_ROWS = 16  # many shards, written while the other process reads the folder
    encoder = get_encoder(ALIAS)
    texts = [f"passage {i} about subject {i % 11}" for i in range(size)]
    store = EmbeddingStore(encoder, cache_dir() / "embeddings")
    vectors = store.embed(texts, "passage")
    task = RetrievalTask(
        name="shared", queries=[Query("q", "en", "subject 1", "q")],
        passages=[Passage(f"p{i}", "en", text) for i, text in enumerate(texts)], qrels={"q": {"p1": 1}},
    )
    index = cached_faiss_index(store, task, texts, "flat", cache_dir(), {})
    _, found = index.search(vectors[:5], 1)
    print(json.dumps({
        "vectors_sha256": hashlib.sha256(np.ascontiguousarray(vectors).tobytes()).hexdigest(),
        "encoded": store.counts.encoded, "nearest": found[:, 0].tolist(), "index_size": index.index.ntotal,
    }))


if __name__ == "__main__":
    main()
