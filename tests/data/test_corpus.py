"""Prepared corpora: ``polyret data prepare`` from every source, reading them back, bad input, interruption."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from polyret.data.columns import QuestionColumns, shared_answer_keys
from polyret.data.corpus import PreparedCorpus, is_prepared_corpus
from polyret.data.corpus_sources import ArrowSource, QAJsonlSource
from polyret.data.prepare import open_source, prepare_corpus
from polyret.data.user_qa import load_qa_jsonl
from polyret.errors import DataError, UsageError
from polyret.io import iter_lines, read_lines
from polyret.provenance import file_sha256

RECORDS = [
    {"id": "q0", "group": "a1", "questions": {"en": "Who wrote Faust?", "de": "Wer schrieb Faust?"},
     "answers": {"en": "Goethe wrote it.", "de": "Goethe schrieb ihn."},
     "contexts": {"en": "Weimar. Goethe wrote it."}, "negatives": {"de": ["Schiller schrieb Wallenstein.", "Nein."]}},
    {"id": "q1", "questions": {"en": "Who wrote Faust first?"}, "answers": {"de": "Goethe schrieb ihn."}},
    {"id": 7, "questions": {"en": "Where is Weimar?"}, "answers": {"en": "In Thuringia."}},
    {"id": "q3", "group": "a2", "questions": {"fr": "Qui?"}, "answers": {"fr": "Lui.", "en": "In Thuringia."}},
    {"id": "q4", "questions": {"en": "Why?"}, "answers": {"en": "Because."}, "negatives": {"en": []}},
]


def _write_jsonl(path: Path, records: list[dict], gz: bool = False) -> Path:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def _prepare(tmp_path: Path, records=RECORDS, **options) -> PreparedCorpus:
    source = _write_jsonl(tmp_path / "train.jsonl.gz", records, gz=True)
    return prepare_corpus([QAJsonlSource(source)], tmp_path / "corpus", **options)


@pytest.mark.parametrize("options", [{}, {"rows_per_shard": 2, "batch_rows": 1}, {"batch_rows": 2}])
def test_corpus_reads_back_every_field_in_the_order_asked(tmp_path: Path, options: dict) -> None:
    corpus = _prepare(tmp_path, **options)
    assert isinstance(corpus, QuestionColumns)
    items = load_qa_jsonl(tmp_path / "train.jsonl.gz")
    assert len(corpus) == 5 and corpus.languages == ("de", "en", "fr")
    assert corpus.ids([4, 2, 0]) == ["q4", "7", "q0"]
    for field in ("question", "answer", "context"):
        for lang in corpus.languages:
            expected = [getattr(item, f"{field}s").get(lang) for item in items]
            assert corpus.texts(field, lang, np.arange(5)[::-1]) == expected[::-1]
            assert corpus.has(field, lang).tolist() == [e is not None for e in expected]
    assert corpus.negatives("de", [1, 0]) == [[], ["Schiller schrieb Wallenstein.", "Nein."]]
    assert items[0].negatives == {"de": ("Schiller schrieb Wallenstein.", "Nein.")} and items[4].negatives == {}
    assert corpus.negatives("en", [4]) == [[]] and corpus.negatives("fr", [0]) == [[]]
    assert corpus.groups([0, 1, 3]) == ["a1", None, "a2"]
    assert corpus.answer_keys().dtype == np.int64
    assert corpus.answer_keys().tolist() == shared_answer_keys(items).tolist() == [0, 0, 2, 2, 4]


@pytest.mark.parametrize("chunk_rows", [7, 1 << 20])
def test_answer_keys_match_the_in_memory_keys_on_many_shards(tmp_path: Path, monkeypatch, chunk_rows: int) -> None:
    from polyret.data import answer_keys

    monkeypatch.setattr(answer_keys, "CHUNK_ROWS", chunk_rows)
    rng = np.random.default_rng(3)
    records = [{"id": f"r{i}", "questions": {"en": f"q{i}"},
                "answers": {lang: f"{lang}{rng.integers(0, 40)}" for lang in ("en", "de") if rng.random() < 0.7}
                or {"es": f"only {i}"}} for i in range(300)]
    corpus = _prepare(tmp_path, records, rows_per_shard=64, batch_rows=16)
    assert corpus.answer_keys().tolist() == shared_answer_keys(load_qa_jsonl(tmp_path / "train.jsonl.gz")).tolist()
    assert len(corpus.manifest["shards"]) > 1


def test_manifest_records_the_source_digest_and_layout(tmp_path: Path) -> None:
    corpus = _prepare(tmp_path)
    source = corpus.manifest["sources"][0]
    assert source["sha256"] == file_sha256(tmp_path / "train.jsonl.gz") and source["kind"] == "qa-jsonl"
    assert corpus.manifest["rows"] == 5 and "negatives.de" in corpus.manifest["columns"]
    assert corpus.digest == PreparedCorpus.open(tmp_path / "corpus").digest
    _write_jsonl(tmp_path / "train.jsonl.gz", RECORDS[:4], gz=True)
    again = prepare_corpus([QAJsonlSource(tmp_path / "train.jsonl.gz")], tmp_path / "corpus")
    assert len(again) == 4 and again.digest != corpus.digest


def test_dataset_parquet_and_saved_folder_give_the_same_corpus(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    reference = _prepare(tmp_path)
    rows = [dict(r, id=str(r["id"])) for r in RECORDS]
    ds = datasets.Dataset.from_list(rows)
    ds.save_to_disk(str(tmp_path / "saved"))
    ds.to_parquet(str(tmp_path / "train.parquet"))
    for index, source in enumerate([ArrowSource(ds), open_source(tmp_path / "saved"),
                                    open_source(tmp_path / "train.parquet")]):
        corpus = prepare_corpus([source], tmp_path / f"from-{index}")
        rows_ = np.arange(5)
        assert corpus.ids(rows_) == reference.ids(rows_)
        for lang in reference.languages:
            assert corpus.texts("answer", lang, rows_) == reference.texts("answer", lang, rows_)
            assert corpus.negatives(lang, rows_) == reference.negatives(lang, rows_)
        assert corpus.answer_keys().tolist() == reference.answer_keys().tolist()


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "x", "questions": {"en": "q"}, "answers": {"en": "a"}, "answer": {}}', "line 2: unexpected field"),
    ('{"id": "x", "questions": {"en": "q"}, "answers": {"en": "a"}, "negatives": {"en": "one"}}',
     "line 2: negatives['en'] is a str"),
    ('{"id": "x", "questions": {"en": "q"}, "answers": {"en": "a"}, "negatives": {"en": [""]}}',
     "line 2: negatives['en'][0] is empty"),
    ('{"id": "x", "questions": {"en": "q"}', "line 2: malformed JSON"),
    ('{"id": "q0", "questions": {"en": "q"}, "answers": {"en": "a"}}', "line 2: duplicate id 'q0'"),
])
def test_bad_input_names_file_and_line_and_leaves_no_corpus(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(RECORDS[0]) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(message)) as caught:
        prepare_corpus([QAJsonlSource(path)], tmp_path / "corpus")
    assert str(path) in str(caught.value)
    assert not (tmp_path / "corpus").exists() and [p.name for p in tmp_path.iterdir()] == ["bad.jsonl"]


def test_duplicate_id_across_sources_names_both(tmp_path: Path) -> None:
    first = _write_jsonl(tmp_path / "a.jsonl", RECORDS[:2])
    second = _write_jsonl(tmp_path / "b.jsonl", RECORDS[1:3])
    with pytest.raises(DataError, match=r"b\.jsonl, line 1: duplicate id 'q1' \(first in .*a\.jsonl, line 2\)"):
        prepare_corpus([QAJsonlSource(first), QAJsonlSource(second)], tmp_path / "corpus")


def test_output_holding_other_files_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match="not a prepared corpus"):
        _prepare(tmp_path)
    assert (tmp_path / "corpus" / "notes.txt").read_text(encoding="utf-8") == "mine"
    (tmp_path / ".corpus2.preparing").mkdir()
    (tmp_path / ".corpus2.preparing" / "x").write_text("foreign", encoding="utf-8")
    with pytest.raises(UsageError, match="not written by polyret"):
        prepare_corpus([QAJsonlSource(tmp_path / "train.jsonl.gz")], tmp_path / "corpus2")
    assert (tmp_path / ".corpus2.preparing" / "x").exists()


def test_keyboard_interrupt_removes_the_partial_corpus(tmp_path: Path) -> None:
    class Interrupted(QAJsonlSource):
        def items(self, work_dir):
            yield from list(super().items(work_dir))[:2]
            raise KeyboardInterrupt

    _write_jsonl(tmp_path / "train.jsonl", RECORDS)
    with pytest.raises(KeyboardInterrupt):
        prepare_corpus([Interrupted(tmp_path / "train.jsonl")], tmp_path / "corpus", batch_rows=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]


_KILLED_CHILD = """
import sys, time
from pathlib import Path
from polyret.data.corpus_sources import QAJsonlSource
from polyret.data.prepare import prepare_corpus

class Stalls(QAJsonlSource):
    def items(self, work_dir):
        for number, item in super().items(work_dir):
            yield number, item
            if number == 3:
                Path(sys.argv[3]).write_text("ready")
                time.sleep(600)

prepare_corpus([Stalls(sys.argv[1])], sys.argv[2], batch_rows=1, rows_per_shard=1)
"""


def test_sigkill_leaves_no_accepted_corpus_and_a_rerun_finishes(tmp_path: Path) -> None:
    source = _write_jsonl(tmp_path / "train.jsonl", RECORDS)
    _prepare_then_kill(source, tmp_path / "corpus", tmp_path / "ready")
    assert not is_prepared_corpus(tmp_path / "corpus")
    with pytest.raises(DataError, match="not a complete prepared corpus"):
        PreparedCorpus.open(tmp_path / ".corpus.preparing")
    corpus = prepare_corpus([QAJsonlSource(source)], tmp_path / "corpus")
    assert len(corpus) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "ready", "train.jsonl"]
    # a kill while replacing a finished corpus keeps the finished one readable
    _prepare_then_kill(source, tmp_path / "corpus", tmp_path / "ready")
    assert len(PreparedCorpus.open(tmp_path / "corpus")) == 5


def _prepare_then_kill(source: Path, output: Path, ready: Path) -> None:
    ready.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", _KILLED_CHILD, str(source), str(output), str(ready)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, "the child ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert any(output.parent.glob(f".{output.name}.preparing/shard-*.arrow"))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


def _mmarco(root: Path, triples: list[str], langs=("en", "de")) -> Path:
    (root / "queries").mkdir(parents=True)
    (root / "collection").mkdir()
    for lang in langs:
        (root / "queries" / f"{lang}.tsv").write_text(
            "".join(f"{q}\t{lang} query {q}\n" for q in (10, 11, 12)), encoding="utf-8")
        passages = "".join(f"{p}\t{lang} passage {p}\n" for p in range(100, 106))
        (root / "collection" / f"{lang}.tsv.gz").write_bytes(gzip.compress(passages.encode()))
    (root / "triples.tsv").write_text("".join(line + "\n" for line in triples), encoding="utf-8")
    return root


def test_mmarco_layout_groups_triples_and_resolves_every_language(tmp_path: Path) -> None:
    folder = _mmarco(tmp_path / "mmarco", ["10\t100\t103", "10\t100\t104", "10\t100\t103", "11\t101\t100",
                                           "12\t100\t105"])
    corpus = prepare_corpus([open_source(folder, max_negatives=8)], tmp_path / "corpus")
    assert corpus.ids([0, 1, 2]) == ["10:100", "11:101", "12:100"] and corpus.languages == ("de", "en")
    assert corpus.texts("question", "de", [1]) == ["de query 11"]
    assert corpus.texts("answer", "en", [0, 1]) == ["en passage 100", "en passage 101"]
    assert corpus.negatives("de", [0, 2]) == [["de passage 103", "de passage 104"], ["de passage 105"]]
    assert corpus.groups([0, 2]) == ["10", "12"]
    assert corpus.answer_keys().tolist() == [0, 1, 0]
    assert corpus.manifest["sources"][0]["kind"] == "mmarco"


@pytest.mark.parametrize(("triples", "message"), [
    (["10\t100\t999"], r"triples\.tsv, line 1: passage id 999 not found"),
    (["10\tx\t100"], r"triples\.tsv, line 1: id 'x' is not an integer"),
    (["10\t100\t101", "11\t101\t102", "10\t100\t103"], r"line 3: duplicate id '10:100'"),
])
def test_mmarco_errors_name_the_line(tmp_path: Path, triples: list[str], message: str) -> None:
    folder = _mmarco(tmp_path / "mmarco", triples)
    with pytest.raises(DataError, match=message):
        prepare_corpus([open_source(folder)], tmp_path / "corpus")


def test_mmarco_without_negatives_and_an_empty_source(tmp_path: Path) -> None:
    folder = _mmarco(tmp_path / "mmarco", ["10\t100\t103", "10\t100\t104"])
    corpus = prepare_corpus([open_source(folder, max_negatives=0)], tmp_path / "corpus")
    assert len(corpus) == 1 and corpus.negatives("en", [0]) == [[]]
    with pytest.raises(DataError, match="no records"):
        prepare_corpus([QAJsonlSource(_write_jsonl(tmp_path / "empty.jsonl", []))], tmp_path / "corpus2")


def test_mmarco_languages_must_share_ids(tmp_path: Path) -> None:
    folder = _mmarco(tmp_path / "mmarco", ["10\t100\t101"])
    (folder / "queries" / "fr.tsv").write_text("10\tfr\n12\tfr\n11\tfr\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"fr\.tsv, line 1: ids differ"):
        prepare_corpus([open_source(folder)], tmp_path / "corpus")


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_iter_lines_streams_what_read_lines_reads(tmp_path: Path, chunk: int) -> None:
    path = tmp_path / "x.txt.gz"
    path.write_bytes(gzip.compress("\ufeffeins\r\nzwei\n\nπ drei\r\nvier".encode()))
    assert list(iter_lines(path, chunk_bytes=chunk)) == read_lines(path) == ["eins", "zwei", "", "π drei", "vier"]
    utf16 = tmp_path / "y.txt"
    utf16.write_bytes("a\nb\n".encode("utf-16"))
    assert list(iter_lines(utf16, chunk_bytes=chunk)) == read_lines(utf16) == ["a", "b"]


def test_cli_prepare_writes_a_corpus_and_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from polyret.cli import main

    source = _write_jsonl(tmp_path / "train.jsonl", RECORDS)
    bad = tmp_path / "bad [red].jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")

    def run(*args: str) -> tuple[int, str]:
        try:
            main(["data", "prepare", *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, " ".join((out.out + out.err).split())

    code, out = run(str(source), "-o", str(tmp_path / "corpus"), "--rows-per-shard", "2")
    assert code == 0 and "5 rows" in out and "de, en, fr" in out
    assert len(PreparedCorpus.open(tmp_path / "corpus").manifest["shards"]) == 3
    code, out = run(str(source), str(bad), "-o", str(tmp_path / "corpus"))
    assert code == 3 and "bad [red].jsonl, line 1: missing field 'questions'" in out
    assert len(PreparedCorpus.open(tmp_path / "corpus")) == 5


def test_long_rows_make_smaller_batches_and_pages_can_be_released(tmp_path: Path, monkeypatch) -> None:
    from polyret.data import corpus_writer

    monkeypatch.setattr(corpus_writer, "BATCH_CHARS", 40)
    corpus = _prepare(tmp_path)
    # rows 0 (127 characters) and 1 (41) each fill a batch alone, rows 2 + 3 (29 + 22) together, row 4 is the rest
    assert [batch.num_rows for batch in corpus._batches.batches] == [1, 1, 2, 1]
    before = corpus.texts("answer", "en", [3, 0])
    corpus.release_pages()
    assert corpus.texts("answer", "en", [3, 0]) == before == ["In Thuringia.", "Goethe wrote it."]
