"""Nothing from a model folder, cache or checkpoint runs as code; names in configs cannot leave their folder."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from polyret.data.user_qa import load_qa_jsonl
from polyret.errors import ModelError, TrainingError
from polyret.evaluation.store import EmbeddingStore
from polyret.models.encoders import get_encoder
from polyret.models.loading import load_sentence_transformer
from polyret.training import TrainConfig, train


class _Payload:
    """Unpickling this creates ``marker``: proof that a file was unpickled with arbitrary code allowed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_a_model_folder_asking_for_its_own_code_is_refused_by_default(tiny_model_dir, tmp_path):
    model = tmp_path / "remote-code-model"
    shutil.copytree(tiny_model_dir, model)
    marker = tmp_path / "code-ran"
    (model / "evil.py").write_text(f"import os\nos.mkdir({str(marker)!r})\n")
    config = json.loads((model / "config.json").read_text())
    config.update(model_type="evil", auto_map={"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"})
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=str(model)):
        load_sentence_transformer(model)
    assert not marker.exists()


def test_a_pickled_embedding_shard_is_never_unpickled(tiny_model_dir, tmp_path):
    encoder = get_encoder(str(tiny_model_dir))
    texts = ["a question", "another question"]
    expected = EmbeddingStore(encoder, tmp_path).embed(texts, "query")
    (shard,) = (tmp_path / encoder.fingerprint()).glob("shard-*.npz")
    marker = tmp_path / "unpickled"
    np.savez(shard, keys=np.array([_Payload(marker)], dtype=object), vectors=expected,
             fingerprint=np.array(encoder.fingerprint()))
    got = EmbeddingStore(get_encoder(str(tiny_model_dir)), tmp_path).embed(texts, "query")
    np.testing.assert_allclose(got, expected, atol=1e-6)  # recomputed, not read from the poisoned shard
    assert not marker.exists()


def test_checkpoint_state_that_is_not_plain_tensors_is_refused(runs, qa_file, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs[0], run)
    (checkpoint,) = (run / "checkpoints").iterdir()
    marker = tmp_path / "unpickled"
    with open(checkpoint / "rng_state.pth", "wb") as handle:
        pickle.dump(_Payload(marker), handle, protocol=2)
    config = TrainConfig.from_run(run).replace(resume=True, max_steps=8)
    with pytest.raises(TrainingError, match="refusing to load checkpoint state"):
        train(config, load_qa_jsonl(qa_file), output_dir=run)
    assert not marker.exists()
