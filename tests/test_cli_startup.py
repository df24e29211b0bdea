"""The CLI starts without loading the training stack: ``polyret --help`` and ``polyret data ...`` stay quick."""

from __future__ import annotations

import subprocess
import sys


def test_cli_start_up_does_not_import_torch_or_sentence_transformers() -> None:
    code = ("import sys; from polyret.cli import app; "
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
