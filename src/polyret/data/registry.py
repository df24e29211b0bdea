"""The public data sets polyret knows: where each file comes from, its checksum, and where it lives locally.

Every file is registered by its path relative to the data directory (``xquad-r/ar.json``) and the sha256 of its
*uncompressed* content (``checksums.sha256`` beside this module). Locally a file may be stored plain or gzip
compressed (``ar.json`` or ``ar.json.gz``). Files missing from the default download cache are fetched from the raw
GitHub URL of the pinned upstream commit, checked against the checksum and stored gzip-compressed.
"""

from __future__ import annotations

import fnmatch
import gzip
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path, PurePosixPath

from polyret import settings
from polyret.errors import DataError, MissingDataError, UsageError
from polyret.io import atomic_write
from polyret.provenance import file_sha256

CHECKSUMS = Path(__file__).with_name("checksums.sha256")
RAW_GITHUB = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class DatasetSpec:
    """One registered data set.

    Attributes:
        name: registry name (``xquad-r``).
        folder: its folder in the data directory.
        licence: licence of the data.
        description: one line for ``polyret data list``.
        repo: GitHub ``owner/name`` it is downloaded from; ``None`` for local-only data.
        commit: the pinned upstream commit.
        upstream: ``(file-name glob, upstream folder)`` pairs, first match wins, mapping a local file to its path in
            the upstream repository (the local path below ``folder`` is appended to the folder).
        include: globs (on the path below ``folder``) selecting this data set's files from the checksum list.
    """

    name: str
    folder: str
    licence: str
    description: str
    repo: str | None = None
    commit: str | None = None
    upstream: tuple[tuple[str, str], ...] = (("*", ""),)
    include: tuple[str, ...] = ("*",)

    @cached_property
    def files(self) -> dict[str, str]:
        """Path below ``folder`` -> sha256 of the uncompressed content, in sorted order (computed once)."""
        prefix = f"{self.folder}/"
        return {
            path[len(prefix) :]: digest
            for path, digest in _checksums().items()
            if path.startswith(prefix) and any(fnmatch.fnmatch(path[len(prefix) :], g) for g in self.include)
        }

    def url(self, relpath: str) -> str | None:
        """Raw download URL of ``relpath`` at the pinned commit (``None`` for local-only data)."""
        if self.repo is None or self.commit is None:
            return None
        name = PurePosixPath(relpath).name
        folder = next(up for pattern, up in self.upstream if fnmatch.fnmatch(name, pattern))
        return f"{RAW_GITHUB}/{self.repo}/{self.commit}/{folder}{relpath}"


_LAREQA = "google-research-datasets/lareqa"
_CLSD = "impresso/cross_lingual_semantic_discrimination"
_CLSD_COMMIT = "ba143c27c3db67a1f3ef2303cd5cc9fe127681f8"
_CLSD_UPSTREAM = (("*_swaps_ner_pos.tsv", "single_token_swaps_annotations/"), ("*", "evaluation_sets/"))

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "xquad-r",
            "xquad-r",
            "CC BY-SA 4.0",
            "LAReQA XQuAD-R, 11 languages (eval)",
            _LAREQA,
            "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c",
            (("*", "xquad-r/"),),
        ),
        DatasetSpec(
            "mlqa-r",
            "mlqa-r",
            "CC BY-NC 4.0",
            "LAReQA MLQA-R = MLQA dev, 7 languages (eval)",
            _LAREQA,
            "354d67d1cd066854cdfbf5ad0e6105528976141d",
            (("*", "mlqa-r/"),),
        ),
        DatasetSpec(
            "xquad",
            "xquad",
            "CC BY-SA 4.0",
            "XQuAD, 12 languages (same content as XQuAD-R)",
            "deepmind/xquad",
            "60cac411649156efb6aab9dd4c9cde787a2c0345",
        ),
        DatasetSpec(
            "clsd",
            "clsd",
            "AGPL-3.0-or-later",
            "CLSD WMT19 de<->fr adversarial discrimination (eval)",
            _CLSD,
            _CLSD_COMMIT,
            _CLSD_UPSTREAM,
            ("*wmt2019*", "*_swaps_ner_pos.tsv"),
        ),
        DatasetSpec(
            "clsd-wmt2021",
            "clsd",
            "AGPL-3.0-or-later",
            "CLSD WMT21 de<->fr (held-out test set)",
            _CLSD,
            _CLSD_COMMIT,
            _CLSD_UPSTREAM,
            ("*wmt2021*",),
        ),
        DatasetSpec(
            "miracl",
            "miracl",
            "Apache-2.0",
            "MIRACL v1.0 topics + qrels only, 18 languages (no corpus)",
            "castorini/anserini-tools",
            "5b819c1a45c8a0a3ec9426f476694f44a29dfaf3",
        ),
        DatasetSpec(
            "ntrex128",
            "ntrex128",
            "CC BY-SA 4.0",
            "NTREX-128 news, 1997 sentences x 130 files",
            "MicrosoftTranslator/NTREX",
            "8561f6a622db9edad1217683e5c83daefd8bb2bf",
        ),
        DatasetSpec(
            "tico19",
            "tico19",
            "CC0 1.0",
            "TICO-19 COVID/medical, 38-way (local-only: built from the upstream TMX files)",
        ),
        DatasetSpec(
            "tatoeba-laser",
            "tatoeba-laser",
            "CC BY 2.0 FR",
            "Tatoeba (LASER v1) 112 languages <-> English",
            "facebookresearch/LASER",
            "74bc6ae7ffb7cba670fe0f428d0ede9f666fb821",
            (("*", "data/tatoeba/v1/"),),
        ),
    )
}


@cache
def _checksums() -> dict[str, str]:
    entries = {}
    for line in CHECKSUMS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, path = line.split(maxsplit=1)
            entries[path.strip()] = digest
    return entries


def get_dataset(name: str) -> DatasetSpec:
    """The registered data set ``name``.

    Raises:
        UsageError: no data set of that name.
    """
    try:
        return DATASETS[name]
    except KeyError:
        raise UsageError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None


def local_file(spec: DatasetSpec, relpath: str, data_dir: str | Path | None = None) -> Path | None:
    """The local copy of ``relpath`` (plain or ``.gz``) in the data directory, or ``None``."""
    plain = settings.data_dir(data_dir) / spec.folder / relpath
    gzipped = plain.with_name(plain.name + ".gz")
    return next((p for p in (plain, gzipped) if p.is_file()), None)


def locate(dataset: str, relpath: str, data_dir: str | Path | None = None) -> Path:
    """Return the local path of a registered file, downloading it into the default cache when absent.

    Args:
        dataset: registry name (``xquad-r``).
        relpath: path below the data set's folder (``ar.json``); a stored ``ar.json.gz`` is found too.
        data_dir: the data directory (default: ``$POLYRET_DATA_DIR``, else the download cache).

    Raises:
        DataError: the file is absent from a directory the user chose, cannot be downloaded, or fails its checksum.
    """
    spec = get_dataset(dataset)
    if relpath not in spec.files:
        raise UsageError(f"{relpath!r} is not a registered file of data set {dataset!r}")
    found = local_file(spec, relpath, data_dir)
    if found is not None:
        return found
    root = settings.data_dir(data_dir)
    if settings.data_dir_is_explicit(data_dir):
        raise MissingDataError(
            root / spec.folder / relpath,
            f"file {relpath!r} of data set {dataset!r} not found (looked for it and {relpath}.gz "
            f"in {root / spec.folder})",
            dataset=dataset, data_root=root,
            expected=f"the file there: fetch data set {dataset!r} into {root} or point {settings.DATA_DIR_ENV} at a "
            "folder that holds it",
        )
    return download(spec, relpath, root)


def download(spec: DatasetSpec, relpath: str, root: Path) -> Path:
    """Download ``relpath`` of ``spec``, check its sha256 and store it gzip-compressed below ``root``."""
    url = spec.url(relpath)
    target = root / spec.folder / f"{relpath}.gz"
    if url is None:
        raise DataError(
            target,
            f"data set {spec.name!r} is local-only and cannot be downloaded",
            expected=f"the file built as described in docs/data.md, placed in {root / spec.folder}",
        )
    import pooch  # only downloads need it, and it is slow to import

    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        try:
            fetched = pooch.retrieve(url, known_hash=f"sha256:{spec.files[relpath]}", path=tmp, progressbar=False)
        except ValueError as exc:
            raise DataError(
                url, f"checksum mismatch, download refused ({exc})", expected="the registered file"
            ) from None
        except OSError as exc:
            raise DataError(
                url,
                f"download failed ({type(exc).__name__}: {exc})",
                expected=f"network access to {RAW_GITHUB}, or a copy of the file in ${settings.DATA_DIR_ENV}",
            ) from None
        content = Path(fetched).read_bytes()
    with atomic_write(target, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as gz:
        gz.write(content)
    return target


def fetch(
    dataset: str, data_dir: str | Path | None = None, *, on_file: Callable[[str], None] | None = None
) -> list[Path]:
    """Make every file of ``dataset`` local (download what is missing); return their paths."""
    spec = get_dataset(dataset)
    root = settings.data_dir(data_dir)
    paths = []
    for relpath in spec.files:
        if on_file is not None:
            on_file(relpath)
        paths.append(local_file(spec, relpath, data_dir) or download(spec, relpath, root))
    return paths


@dataclass(frozen=True)
class FileStatus:
    """The verification result of one registered file: ``ok``, ``missing``, ``mismatch`` or ``corrupt``."""

    dataset: str
    relpath: str
    status: str
    detail: str = ""


def verify(
    data_dir: str | Path | None = None,
    *,
    datasets: list[str] | None = None,
    on_file: Callable[[str], None] | None = None,
) -> list[FileStatus]:
    """Check every local file of the (given) data sets against its registered sha256.

    Data sets with no local file at all are skipped; in a data set that is partly present every absent file is
    reported ``missing``.
    """
    results = []
    for spec in (get_dataset(name) for name in datasets or DATASETS):
        local = {rel: local_file(spec, rel, data_dir) for rel in spec.files}
        if not any(local.values()):
            continue
        for relpath, path in local.items():
            if on_file is not None:
                on_file(f"{spec.folder}/{relpath}")
            results.append(_check(spec, relpath, path))
    return results


def _check(spec: DatasetSpec, relpath: str, path: Path | None) -> FileStatus:
    if path is None:
        return FileStatus(spec.name, relpath, "missing")
    try:
        digest = file_sha256(path)
    except DataError as exc:
        return FileStatus(spec.name, relpath, "corrupt", str(exc))
    expected = spec.files[relpath]
    if digest != expected:
        return FileStatus(spec.name, relpath, "mismatch", f"{path}: sha256 {digest}, expected {expected}")
    return FileStatus(spec.name, relpath, "ok")
