"""The data-set registry: local lookup, downloads with checksums (from a local HTTP server), verification."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from polyret.data import registry
from polyret.errors import DataError, MissingDataError, UsageError


def test_registry_lists_every_shared_file(data_dir: Path) -> None:
    spec = registry.get_dataset("xquad-r")
    assert len(spec.files) == 11
    assert spec.url("de.json") == (
        "https://raw.githubusercontent.com/google-research-datasets/lareqa/"
        "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c/xquad-r/de.json"
    )
    assert (
        registry.get_dataset("clsd")
        .url("DE_wmt1921_swaps_ner_pos.tsv")
        .endswith("/single_token_swaps_annotations/DE_wmt1921_swaps_ner_pos.tsv")
    )
    assert (
        registry.get_dataset("tatoeba-laser")
        .url("tatoeba.deu-eng.deu")
        .endswith("/data/tatoeba/v1/tatoeba.deu-eng.deu")
    )
    assert registry.get_dataset("tico19").url("tico19_all_multiway.jsonl") is None
    registered = {f"{s.folder}/{rel}" for s in registry.DATASETS.values() for rel in s.files}
    shared = {str(p.relative_to(data_dir)).removesuffix(".gz") for p in data_dir.rglob("*") if p.is_file()}
    assert shared - registered == {p for p in shared if p.endswith((".md", "SHA256SUMS")) or "LICENSE" in p}


def test_locate_finds_plain_or_gzip(tmp_path: Path, data_dir: Path) -> None:
    assert registry.locate("xquad-r", "de.json", data_dir) == data_dir / "xquad-r" / "de.json.gz"
    (tmp_path / "ntrex128").mkdir()
    (tmp_path / "ntrex128" / "DOCUMENT_IDS.tsv").write_text("x\n")
    assert registry.locate("ntrex128", "DOCUMENT_IDS.tsv", tmp_path) == tmp_path / "ntrex128" / "DOCUMENT_IDS.tsv"


def test_locate_in_explicit_dir_says_how_to_get_the_file(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match=r"'de\.json' of data set 'xquad-r' not found.*fetch data") as caught:
        registry.locate("xquad-r", "de.json", tmp_path)
    assert (caught.value.dataset, caught.value.data_root) == ("xquad-r", str(tmp_path))
    assert "polyret" not in str(caught.value)  # the CLI turns the fields into a command line
    with pytest.raises(UsageError, match="unknown data set 'nope'"):
        registry.locate("nope", "x")
    with pytest.raises(UsageError, match="not a registered file"):
        registry.locate("xquad-r", "xx.json", tmp_path)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture
def upstream(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local HTTP server standing in for raw.githubusercontent.com, serving the shared xquad-r files."""
    spec = registry.get_dataset("xquad-r")
    root = tmp_path / "upstream" / spec.repo / spec.commit / "xquad-r"
    root.mkdir(parents=True)
    for name in ("de.json", "en.json"):
        (root / name).write_bytes(gzip.decompress((data_dir / "xquad-r" / f"{name}.gz").read_bytes()))
    handler = functools.partial(_QuietHandler, directory=str(tmp_path / "upstream"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(registry, "RAW_GITHUB", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("POLYRET_DATA_DIR")
    yield root
    server.shutdown()


def test_default_cache_downloads_checks_and_gzips(upstream: Path) -> None:
    path = registry.locate("xquad-r", "de.json")
    assert path.name == "de.json.gz" and "polyret-cache" in str(path)
    assert (
        hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()
        == registry.get_dataset("xquad-r").files["de.json"]
    )
    assert registry.locate("xquad-r", "de.json") == path  # now local


def test_checksum_mismatch_is_refused(upstream: Path) -> None:
    (upstream / "en.json").write_bytes(b'{"data": []}')
    with pytest.raises(DataError, match="checksum mismatch, download refused"):
        registry.locate("xquad-r", "en.json")
    assert registry.local_file(registry.get_dataset("xquad-r"), "en.json") is None


def test_offline_download_is_a_clear_error(upstream: Path) -> None:
    with pytest.raises(DataError, match="ar.json: download failed"):  # not served: 404
        registry.locate("xquad-r", "ar.json")


def test_verify_reports_mismatch_corrupt_and_missing(tmp_path: Path, data_dir: Path) -> None:
    shutil.copytree(data_dir / "mlqa-r", tmp_path / "mlqa-r")
    assert {r.status for r in registry.verify(tmp_path)} == {"ok"}
    (tmp_path / "mlqa-r" / "de.json.gz").write_bytes(gzip.compress(b"{}"))
    (tmp_path / "mlqa-r" / "es.json.gz").write_bytes((data_dir / "mlqa-r" / "es.json.gz").read_bytes()[:100])
    (tmp_path / "mlqa-r" / "vi.json.gz").unlink()
    status = {r.relpath: r.status for r in registry.verify(tmp_path)}
    assert status == {"ar.json": "ok", "de.json": "mismatch", "en.json": "ok", "es.json": "corrupt",
                      "hi.json": "ok", "vi.json": "missing", "zh.json": "ok"}  # fmt: skip
