"""PNG figures shared by the evaluation report and the experiment report (matplotlib, no display needed).

Figures are drawn on :class:`matplotlib.figure.Figure` objects directly (the Agg canvas), never through pyplot, so
plotting works headless and leaves no global figure state behind.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure

from polyret.io import atomic_write


def heatmap(
    matrix: Mapping[str, Mapping[str, float]],
    path: str | Path,
    *,
    title: str,
    xlabel: str = "candidate language",
    ylabel: str = "query language",
    digits: int = 2,
) -> Path:
    """Draw ``matrix[row][column]`` as an annotated heatmap and write it to ``path`` (PNG); gaps stay blank."""
    rows = sorted(matrix)
    columns = sorted({c for row in matrix.values() for c in row})
    values = [[matrix[r].get(c, math.nan) for c in columns] for r in rows]
    size = max(4.0, 0.55 * max(len(rows), len(columns)) + 2.0)
    fig = Figure(figsize=(size, size * 0.85))
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(columns)), columns, rotation=90 if len(columns) > 8 else 0)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    finite = [v for row in values for v in row if not math.isnan(v)]
    middle = (min(finite) + max(finite)) / 2 if finite else 0.0
    if len(rows) * len(columns) <= 400:
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                if not math.isnan(value):
                    colour = "black" if value > middle else "white"
                    ax.text(j, i, f"{value:.{digits}f}", ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax)
    return save_png(fig, path)


def bar_chart(
    values: Mapping[str, float], path: str | Path, *, title: str, ylabel: str, xlabel: str = "query language"
) -> Path:
    """Draw one bar per key of ``values`` (in the given order) and write it to ``path`` (PNG)."""
    labels = list(values)
    fig = Figure(figsize=(max(4.0, 0.5 * len(labels) + 2.0), 3.5))
    ax = fig.add_subplot()
    ax.bar(range(len(labels)), [values[k] for k in labels], color="tab:blue")
    ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 6 else 0, ha="right")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return save_png(fig, path)


def save_png(fig: Figure, path: str | Path) -> Path:
    """Lay out ``fig`` and write it to ``path`` as a PNG atomically (no half-written file)."""
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return path
