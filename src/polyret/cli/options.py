"""Option types and parsing shared by the ``polyret`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from polyret import settings

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help=f"Data directory (default: ${settings.DATA_DIR_ENV}, else the download cache)."),
]


def comma_list(value: str | None) -> list[str] | None:
    """``"de, en,,fr"`` -> ``["de", "en", "fr"]``; ``None`` stays ``None`` (the option was not given)."""
    return [part.strip() for part in value.split(",") if part.strip()] if value is not None else None
