"""``polyret debias`` writes a plain sentence-transformers model that encodes what polyret's LSAR transform gives."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polyret.cli import main

LANGS = ("de", "en", "fr", "zh")
WORDS = {"de": "Katze Haus Baum", "en": "cat house tree", "fr": "chat maison arbre", "zh": "猫 房子 树"}


@pytest.fixture
def qa_file(tmp_path):
    path = tmp_path / "ref.jsonl"
    rows = [{"id": f"q{i}", "questions": {lang: f"{WORDS[lang]} {i}?" for lang in LANGS},
             "answers": {lang: f"{WORDS[lang]} {i} answer." for lang in LANGS}} for i in range(12)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_exported_model_matches_the_transform(tiny_model_dir, qa_file, tmp_path, capsys):
    from sentence_transformers import SentenceTransformer

    from polyret.data.user_qa import load_qa_jsonl
    from polyret.debias import parse_spec
    from polyret.evaluation.debiased import Reference, fit_method
    from polyret.evaluation.store import EmbeddingStore
    from polyret.models.encoders import get_encoder

    out = tmp_path / "debiased"
    main(["debias", "--model", str(tiny_model_dir), "--rank", "2", "--fit-on", str(qa_file), "-o", str(out),
          "--backend", "torch"])
    stages = capsys.readouterr().err  # not a terminal here: plain stage and progress lines
    for line in ("reference: 96 texts", "encoding on torch-fp32", "encoding 48 query texts: 48/48",
                 "encoding 48 passage texts: 48/48", f"writing {out}"):
        assert line in stages
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "LSAR (rank 2)" in card and str(qa_file) in card and "de, en, fr, zh" in card

    encoder = get_encoder(tiny_model_dir)
    reference = Reference.from_qa(load_qa_jsonl(qa_file), {}, with_context=True)
    fitted, _ = fit_method(parse_spec("lsar:2"), *reference.embed(EmbeddingStore(encoder), 8))
    texts = ["Die Katze sitzt.", "The cat sits on the mat.", "猫坐在垫子上。"]
    shipped = SentenceTransformer(str(out), device="cpu")
    for role in ("query", "passage"):
        expected = fitted.transform(encoder.encode(texts, role))
        got = shipped.encode(texts, prompt_name=role, convert_to_numpy=True)
        assert np.abs(got - expected).max() < 1e-5
    assert not np.allclose(expected, encoder.encode(texts, "passage"), atol=1e-3)  # the layer does change them


@pytest.mark.parametrize("method", ["center", "lir"])
def test_label_needing_methods_are_refused(method, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["debias", "--model", "whatever", "--method", method, "-o", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    assert "evaluation-time only" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_default_reference_takes_the_first_training_articles(tiny_model_dir, tmp_path, data_dir, capsys):
    out = tmp_path / "one-article"
    main(["debias", "--model", str(tiny_model_dir), "--no-context", "--backend", "torch", "--data-dir",
          str(data_dir), "--reference-articles", "1", "-o", str(out)])
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "- source: xquad-r training folds\n" in card and "- articles: 1\n" in card
    assert "xquad-r training folds, 1 articles, 11 languages" in capsys.readouterr().err


@pytest.mark.parametrize(("installed", "device", "expected"), [
    (True, None, "openvino-bf16"), (False, None, "torch-fp32"), (True, "cuda", "torch-fp32"),
])
def test_reference_backend_is_openvino_on_a_cpu_where_installed(installed, device, expected, monkeypatch):
    from polyret.cli import debias

    monkeypatch.setattr(debias, "missing_runtime", lambda backend: None if installed else "openvino")
    assert debias.reference_backend(None, None, device).label == expected
    assert debias.reference_backend("onnx", None, None).label == "onnx-fp32"
