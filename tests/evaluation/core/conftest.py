"""Fixtures for the evaluation core: a small real XQuAD-R task and vectors that make its rankings realistic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from core_encoders import aligned_table

from polyret.data.lareqa import load_lareqa
from polyret.data.records import RetrievalTask

XQUAD_LANGS = ["en", "de", "zh"]
XQUAD_GROUPS = {str(i) for i in range(1, 7)}


@pytest.fixture(scope="session")
def xquad_small(data_dir: Path) -> RetrievalTask:
    """XQuAD-R in three languages, six articles (about 400 queries and 400 candidate sentences).

    The pool is ordered by passage id, descending: our tie rule (pool position) then matches trec_eval's (docid,
    descending), so float32 score ties cannot make the cross-checks disagree.
    """
    task = load_lareqa("xquad-r", languages=XQUAD_LANGS, data_dir=data_dir).subset(groups=XQUAD_GROUPS)
    return RetrievalTask(task.name, task.queries, sorted(task.passages, key=lambda p: p.id, reverse=True), task.qrels)


@pytest.fixture(scope="session")
def xquad_vectors(xquad_small: RetrievalTask) -> tuple[np.ndarray, np.ndarray]:
    """Query and passage vectors of :func:`xquad_small` from :func:`aligned_table` (passages with context)."""
    table = aligned_table(xquad_small)
    q = np.stack([table["query", query.text] for query in xquad_small.queries])
    p = np.stack([table["passage", passage.input_text(True)] for passage in xquad_small.passages])
    return q, p
