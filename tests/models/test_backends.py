"""Inference backends: torch bf16, ONNX Runtime and OpenVINO agree with torch fp32, exports are cached and rebuilt
when stale, caches never mix backends, and a missing runtime falls back to torch fp32 with one message."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from polyret.cli import main
from polyret.errors import UsageError
from polyret.evaluation.store import EmbeddingStore
from polyret.models import backends
from polyret.models.backends import EXPORT_MARKER, InferenceBackend
from polyret.models.encoders import backend_label, get_encoder
from polyret.models.loading import models_cache_dir

TEXTS = ["The cat sits on the mat.", "Die Katze sitzt auf der Matte.", "猫坐在垫子上。", "Stock markets fell."]
FAST = [
    pytest.param(backend, id=backend.label, marks=pytest.mark.skipif(
        backends.missing_runtime(backend.backend) is not None, reason=f"{backend.backend} is not installed"))
    for backend in (InferenceBackend("torch", "bf16"), InferenceBackend("onnx"), InferenceBackend("openvino"),
                    InferenceBackend("openvino", "bf16"))
]


@pytest.fixture(scope="module")
def reference(tiny_model_dir) -> np.ndarray:
    return get_encoder(tiny_model_dir).encode(TEXTS, "query")


@pytest.mark.parametrize("backend", FAST)
def test_every_backend_agrees_with_torch_fp32(tiny_model_dir, reference, backend):
    encoder = get_encoder(tiny_model_dir, backend=backend)
    vectors = encoder.encode(TEXTS, "query")
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.999
    assert backend_label(encoder) == backend.label
    assert encoder.fingerprint() == f"{encoder.weights_fingerprint()}+{backend.label}"


def test_torch_fp32_keeps_the_plain_weights_fingerprint(tiny_model_dir):
    encoder = get_encoder(tiny_model_dir)
    assert encoder.fingerprint() == encoder.weights_fingerprint() and backend_label(encoder) == "torch-fp32"


def test_cached_embeddings_never_mix_backends(tiny_model_dir, tmp_path):
    bf16 = InferenceBackend("torch", "bf16")
    stores = [EmbeddingStore(get_encoder(tiny_model_dir, backend=b), tmp_path) for b in (InferenceBackend(), bf16)]
    for store in stores:
        store.embed(TEXTS, "query")
    assert stores[0].cache_dir != stores[1].cache_dir
    assert [store.counts.encoded for store in stores] == [len(TEXTS), len(TEXTS)]


def test_an_export_is_reused_and_rebuilt_when_stale(monkeypatch):
    exports: list[str] = []

    def export(module, path):
        exports.append(path.name)
        path.write_text("graph")

    monkeypatch.setitem(backends._EXPORTERS, "openvino", export)
    auto_model = torch.nn.Linear(2, 2)
    folder = backends.exported_model(auto_model, "openvino", "0123abcd")
    assert folder == models_cache_dir() / "exported" / "0123abcd-openvino" and exports == ["openvino_model.xml"]
    assert backends.exported_model(auto_model, "openvino", "0123abcd") == folder and len(exports) == 1
    marker = folder / EXPORT_MARKER
    marker.write_text(json.dumps(json.loads(marker.read_text()) | {"runtime": "0.0"}))  # another OpenVINO
    backends.exported_model(auto_model, "openvino", "0123abcd")
    assert len(exports) == 2 and json.loads(marker.read_text())["runtime"] == backends._runtime_version("openvino")
    assert not list(folder.parent.glob(f".{folder.name}.*.tmp"))


@pytest.mark.parametrize(("backend", "precision"), [("tpu", "fp32"), ("torch", "fp8"), ("onnx", "bf16")])
def test_bad_backend_choices_are_usage_errors(backend, precision):
    with pytest.raises(UsageError, match=backend if backend == "tpu" else precision):
        InferenceBackend(backend, precision)


def _without(monkeypatch, package: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(backends.importlib.util, "find_spec",
                        lambda name, *args: None if name == package else real(name, *args))


def test_a_missing_runtime_falls_back_to_torch_fp32_with_one_message(tiny_model_dir, reference, monkeypatch):
    _without(monkeypatch, "openvino")
    messages: list[str] = []
    encoder = get_encoder(tiny_model_dir, backend=InferenceBackend("openvino", "bf16"), warn=messages.append)
    assert backend_label(encoder) == "torch-fp32"
    assert len(messages) == 1 and "openvino" in messages[0] and "torch fp32" in messages[0]
    np.testing.assert_array_equal(encoder.encode(TEXTS, "query"), reference)


def test_the_cli_falls_back_without_a_traceback(tiny_model_dir, tmp_path, monkeypatch, capsys):
    _without(monkeypatch, "onnxruntime")
    out = tmp_path / "run"
    argv = ["evaluate", "--model", str(tiny_model_dir), "--tasks", "clsd-wmt19", "--backend", "onnx", "-o", str(out)]
    try:
        main(argv)
    except SystemExit as exc:
        assert not exc.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.count("needs the package onnxruntime") == 1
    assert json.loads((out / "results.json").read_text())["meta"]["backend"] == "torch-fp32"


def test_the_cli_rejects_an_unknown_backend(tiny_model_dir, capsys):
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--model", str(tiny_model_dir), "--backend", "tpu"])
    assert info.value.code == 2 and "unknown inference backend 'tpu'" in capsys.readouterr().err


_SIGNAL_AFTER_TWO_OPENVINO_MODELS = """
import gc, os, signal, sys
from polyret.models.backends import InferenceBackend
from polyret.models.encoders import get_encoder

first = get_encoder(sys.argv[1], backend=InferenceBackend("openvino"))
second = get_encoder(sys.argv[1], backend=InferenceBackend("openvino", "bf16"))
for encoder in (first, second):
    encoder.encode(["The cat sits on the mat."], "query")
del first, encoder
gc.collect()
del second
gc.collect()
received = []
signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
os.kill(os.getpid(), signal.SIGINT)  # Python's handlers run on the thread's alternate signal stack
print("handled" if received else "not handled")
"""


@pytest.mark.skipif(backends.missing_runtime("openvino") is not None, reason="openvino is not installed")
def test_a_signal_after_openvino_models_were_freed_is_handled(tiny_model_dir):
    # OpenVINO's CPU plugin gives the calling thread an alternate signal stack of its own and unmaps it when the
    # plugin is freed; two plugins freed in the order they were made left the thread's stack pointing at unmapped
    # memory, so the next signal (Ctrl-C, SIGTERM) killed the process with SIGSEGV and no traceback.
    result = subprocess.run([sys.executable, "-c", _SIGNAL_AFTER_TWO_OPENVINO_MODELS, str(tiny_model_dir)],
                            capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stdout.strip()) == (0, "handled"), result.stderr[-2000:]
