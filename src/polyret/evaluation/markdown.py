"""Markdown building blocks shared by the evaluation report and the experiment report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Cell = str | int | float | None


def format_cell(value: Cell, digits: int = 4) -> str:
    """Render one table cell: floats with ``digits`` decimals, ``None`` as an en dash, ``|`` escaped."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value).replace("|", "\\|")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], *, digits: int = 4) -> str:
    """A GitHub-flavoured markdown table; numeric columns are right-aligned.

    Args:
        headers: column titles.
        rows: one sequence of cells per row, as long as ``headers``.
        digits: decimals shown for floats.
    """
    for i, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"row {i} has {len(row)} cells, expected {len(headers)}")
    numeric = [bool(rows) and all(_is_number(r[c]) for r in rows) for c in range(len(headers))]
    lines = [
        "| " + " | ".join(format_cell(h) for h in headers) + " |",
        "|" + "|".join("---:" if num else "---" for num in numeric) + "|",
    ]
    lines += ["| " + " | ".join(format_cell(c, digits) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _is_number(value: Cell) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def matrix_table(matrix: Mapping[str, Mapping[str, float]], *, corner: str = "", digits: int = 4) -> str:
    """A language x language table (rows: outer keys, columns: the union of inner keys); gaps show as en dashes."""
    columns = sorted({c for row in matrix.values() for c in row})
    rows = [[r, *(matrix[r].get(c) for c in columns)] for r in sorted(matrix)]
    return markdown_table([corner, *columns], rows, digits=digits)
