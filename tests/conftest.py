"""Shared fixtures. Tests read the public data from ``$POLYRET_DATA_DIR`` (default: ``../shared/data`` beside the
checkout) and keep every cache in a temporary folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_DEFAULT_DATA = REPO.parent / "shared" / "data"
if not os.environ.get("POLYRET_DATA_DIR", "").strip():  # empty (the Makefile's export without ../shared/data): unset
    os.environ.pop("POLYRET_DATA_DIR", None)
    if _DEFAULT_DATA.is_dir():
        os.environ["POLYRET_DATA_DIR"] = str(_DEFAULT_DATA)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TINY_TEXTS = [
    "The cat sits on the mat.", "Die Katze sitzt auf der Matte.", "Le chat est assis sur le tapis.",
    "猫坐在垫子上。", "القطة تجلس على الحصيرة.", "Кошка сидит на коврике.", "El gato se sienta en la alfombra.",
    "बिल्ली चटाई पर बैठी है।", "แมวนั่งอยู่บนเสื่อ", "Kedi paspasın üstünde oturuyor.", "Con mèo ngồi trên tấm thảm.",
    "Η γάτα κάθεται στο χαλί.", "Stock markets fell sharply on Monday.", "Query: Passage: question answer",
]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared public data (skips nothing: a missing directory is a broken test set-up)."""
    configured = os.environ.get("POLYRET_DATA_DIR")
    assert configured, f"set POLYRET_DATA_DIR to the public data ({_DEFAULT_DATA} does not exist)"
    path = Path(configured)
    assert path.is_dir(), f"POLYRET_DATA_DIR={path} does not exist"
    return path


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point polyret's cache at a session temp folder so tests never touch or trust a user's cache."""
    cache = tmp_path_factory.mktemp("polyret-cache")
    os.environ["POLYRET_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT sentence encoder (WordPiece vocabulary trained on multilingual text), built once."""
    from polyret.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"), TINY_TEXTS * 20)


@pytest.fixture()
def model_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every model directory that polyret reads from disk during the test, in order."""
    from polyret.models import loading

    reads: list[Path] = []
    read = loading._load_local

    def counting(path: Path, device: str | None, trust_remote_code: bool):
        reads.append(path)
        return read(path, device, trust_remote_code)

    monkeypatch.setattr(loading, "_load_local", counting)
    return reads


@dataclass(frozen=True)
class CliResult:
    """Exit code and captured output of one ``polyret`` command run in-process."""

    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        """The lines polyret printed as errors (libraries may print their own progress bars to stderr)."""
        return [line for line in self.err.splitlines() if line.startswith(("error:", "internal error:"))]


def run_polyret(*args: str | Path) -> int:
    """Run ``polyret ARGS`` in-process through :func:`polyret.cli.main` and return its exit code (the core of the
    :func:`cli` fixture; session fixtures, which cannot capture output, call it directly)."""
    from polyret.cli import main  # after the environment above is set

    try:
        main([str(arg) for arg in args])
    except SystemExit as exc:
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    return 0


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``polyret ARGS`` through :func:`polyret.cli.main` and return its exit code and output."""

    def run(*args: str | Path) -> CliResult:
        code = run_polyret(*args)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
