"""Broken inputs, as a hostile user would give them: one clear error line naming the file/record, no stack trace,
and an exit code per kind of fault (2 usage, 3 data, 4 model); ``--debug`` shows the trace instead."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from polyret.cli import main
from polyret.errors import DataError

GOOD = {"id": "q1", "questions": {"en": "Who wrote it?", "de": "Wer schrieb es?"},
        "answers": {"en": "Goethe did.", "de": "Goethe."}}
GOOD2 = {"id": "q2", "questions": {"en": "Where?", "de": "Wo?"}, "answers": {"en": "In Weimar.", "de": "In Weimar."}}


def _jsonl(*records: dict) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def _truncated_gzip() -> bytes:
    whole = gzip.compress(_jsonl(GOOD, GOOD2).encode())
    return whole[: len(whole) // 2]


# file name, content, what the output must say (besides the file's path)
BROKEN_FILES = {
    "truncated-gzip": ("qa.jsonl.gz", _truncated_gzip(), ["corrupt or truncated gzip"]),
    "latin-1": ("qa.jsonl", _jsonl({**GOOD, "answers": {"en": "Señor Goethe", "de": "Er."}}).encode("latin-1"),
                ["line 1", "not valid utf-8"]),
    "binary": ("qa.jsonl", bytes(range(128, 256)) * 3, ["not valid utf-8"]),
    "malformed-json": ("qa.jsonl", (_jsonl(GOOD) + '{"id": "q2", "questions": {\n').encode(),
                       ["line 2", "malformed JSON"]),
    "not-an-object": ("qa.jsonl", (_jsonl(GOOD) + "[1, 2]\n").encode(), ["line 2", "one JSON object per line"]),
    "missing-field": ("qa.jsonl", _jsonl({"id": "q1", "questions": {"en": "Who?"}}).encode(),
                      ["line 1", "missing field 'answers'"]),
    "extra-field": ("qa.jsonl", _jsonl({**GOOD, "colour": "red"}).encode(), ["line 1", "unexpected field(s) colour"]),
    "wrong-type": ("qa.jsonl", _jsonl({**GOOD, "questions": {"en": 5, "de": "x"}}).encode(),
                   ["line 1", "questions['en']"]),
    "empty-text": ("qa.jsonl", _jsonl({**GOOD, "answers": {"en": "  ", "de": "Er."}}).encode(),
                   ["line 1", "answers['en'] is empty"]),
    "unknown-language": ("qa.jsonl", _jsonl({**GOOD, "questions": {"en": "Who?", "klingon": "?"}}).encode(),
                         ["line 1", "'klingon'"]),
    "duplicate-id": ("qa.jsonl", _jsonl({**GOOD, "id": "[/bold]"}, {**GOOD2, "id": "[/bold]"}).encode(),
                     ["line 2", "duplicate id '[/bold]'"]),  # also: rich markup in data is printed, not parsed
    "dangling-context": ("qa.jsonl", _jsonl({**GOOD, "contexts": {"fr": "Un texte."}}).encode(),
                         ["line 1", "contexts without an answer in fr"]),
    "empty-file": ("qa.jsonl", b"", ["no records"]),
    "qrels-missing-column": ("qrels.tsv", b"query-id\tcorpus-id\tscore\nq1\td1\n", ["line 2", "2 column(s)"]),
    "qrels-bad-grade": ("qrels.tsv", b"query-id\tcorpus-id\tscore\nq1\td1\thigh\n", ["line 2", "relevance 'high'"]),
    "topics-missing-column": ("topics.tsv", b"q1\n", ["line 1", "1 column(s)"]),
    "corpus-duplicate-id": ("corpus.jsonl", _jsonl({"_id": "d1", "text": "a"}, {"_id": "d1", "text": "b"}).encode(),
                            ["line 2", "duplicate document id 'd1'"]),
    "csv-broken": ("clsd.csv", b'Index,French\n1,"unclosed\n', ["French, German"]),
    "squad-wrong-shape": ("de.json", b'{"data": [{"paragraphs": 5}]}', ["data[0]", "'paragraphs'"]),
}


@pytest.mark.parametrize("case", list(BROKEN_FILES))
def test_data_check_reports_a_broken_file_with_its_record(case, cli, tmp_path):
    name, content, expected = BROKEN_FILES[case]
    path = tmp_path / name
    path.write_bytes(content)
    result = cli("data", "check", path)
    assert result.code == 3, result.err
    (error,) = result.error_lines
    assert str(path) in error
    for text in expected:
        assert text in result.out + result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("content", [
    b"\xef\xbb\xbf" + _jsonl(GOOD, GOOD2).replace("\n", "\r\n").encode(),  # UTF-8 BOM, CRLF line ends
    _jsonl(GOOD, GOOD2).encode("utf-16"),  # UTF-16 with its BOM
    _jsonl({**GOOD, "answers": {"en": "word " * 200_000, "de": "Er."}}, GOOD2).encode(),  # a 1 MB answer
], ids=["bom-crlf", "utf-16", "one-megabyte-text"])
def test_data_check_reads_odd_but_valid_files(content, cli, tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_bytes(content)
    result = cli("data", "check", path)
    assert result.code == 0, result.err
    assert "qa, 2 record(s)" in " ".join(result.out.split()) and "no problems found" in result.out


def test_a_directory_or_a_missing_file_is_a_data_error(cli, tmp_path):
    for path, says in [(tmp_path, "is a directory"), (tmp_path / "absent.jsonl", "file not found")]:
        result = cli("data", "check", path, "--format", "qa")
        assert result.code == 3
        (error,) = result.error_lines
        assert str(path) in error and f"{path}: {says}" in " ".join((result.out + result.err).split())


CONFIGS = {
    "unknown-key": ("batchsize: 8\n", "unknown config key 'batchsize'"),
    "wrong-type": ("batch_size: '8'\n", "config key 'batch_size': must be int, got '8'"),
    "out-of-range": ("batch_size: 0\n", "config key 'batch_size': must be >= 2"),
    "not-a-mapping": ("- model\n- data\n", "expected a mapping"),
    "broken-yaml": ("lr: [1, 2\n", "not a valid config file"),
}


@pytest.mark.parametrize("case", list(CONFIGS))
def test_a_bad_training_config_is_a_usage_error_naming_the_file_and_key(case, cli, tmp_path, qa_file):
    text, says = CONFIGS[case]
    config = tmp_path / "train.yaml"
    config.write_text(text)
    result = cli("train", "--config", config, "--data", qa_file, "--output-dir", tmp_path / "run")
    assert result.code == 2, result.err
    (error,) = result.error_lines
    assert str(config) in error and says in error


def test_a_bad_flag_value_is_a_usage_error(cli, tmp_path):
    result = cli("train", "--batch-size", "many", "--output-dir", tmp_path / "run")
    assert result.code == 2
    (error,) = result.error_lines
    assert "--batch-size" in error and "polyret train --help" in error


@pytest.mark.parametrize("case", ["truncated-gzip", "malformed-json", "empty-file", "duplicate-id"])
def test_broken_training_data_is_a_data_error(case, cli, tmp_path, tiny_model_dir):
    name, content, expected = BROKEN_FILES[case]
    path = tmp_path / name
    path.write_bytes(content)
    result = cli("train", "--model", tiny_model_dir, "--data", path, "--output-dir", tmp_path / "run")
    assert result.code == 3, result.err
    (error,) = result.error_lines
    assert str(path) in error and expected[-1] in error
    assert not (tmp_path / "run").exists()


def _not_encoders(root: Path) -> dict[str, Path]:
    """Folders that are no encoder: empty, a config without a model type, broken modules.json."""
    folders = {name: root / name for name in ("empty", "no-model-type", "broken-modules")}
    for folder in folders.values():
        folder.mkdir()
    (folders["no-model-type"] / "config.json").write_text("{}")
    (folders["broken-modules"] / "modules.json").write_text("[{]")
    return folders


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_a_model_that_is_missing_or_not_an_encoder_is_a_model_error(command, cli, tmp_path, qa_file):
    for model in [tmp_path / "absent", *_not_encoders(tmp_path).values()]:
        args = ["--data", qa_file, "--output-dir", tmp_path / "run"] if command == "train" else ["--tasks", "xquad-r"]
        result = cli(command, "--model", model, *args)
        assert result.code == 4, f"{model}: {result.err}"
        (error,) = result.error_lines
        assert str(model) in error


def test_an_experiment_name_cannot_leave_the_runs_folder(cli, tmp_path):
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump({"name": "../../escape"}))
    result = cli("experiment", "--config", config)
    assert result.code == 2
    (error,) = result.error_lines
    assert "config key 'name'" in error and "'../../escape'" in error


def test_debug_shows_the_trace_instead(tmp_path, tiny_model_dir):
    args = ["train", "--model", str(tiny_model_dir), "--data", str(tmp_path / "absent.jsonl"), "-o", str(tmp_path)]
    with pytest.raises(DataError, match="absent.jsonl: file not found"):
        main(["--debug", *args])
