"""The study's PNG figures: per-language heatmaps per arm, language-bias bars, and the alpha curve of a sweep."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from polyret.evaluation.catalog import task_title
from polyret.evaluation.plots import bar_chart, heatmap, save_png
from polyret.evaluation.report import slug

HEATMAP_METRIC = "map"


def draw_heatmaps(matrices: dict[str, dict[str, dict[str, float]]], task: str, folder: Path) -> dict[str, str]:
    """One query x passage language mAP heatmap of ``task`` per arm; returns arm -> file name."""
    files = {}
    for label, matrix in matrices.items():
        if matrix:
            name = f"heatmap-{task}-{slug(label)}.png"
            heatmap(matrix, folder / name, title=f"{task_title(task)} mAP, {label}")
            files[label] = name
    return files


def draw_bias(bias: dict[str, dict[str, float]], folder: Path) -> dict[str, str]:
    """One bar chart of the language bias per task; returns task -> file name."""
    files = {}
    for task, values in bias.items():
        if values:
            name = f"bias-{task}.png"
            bar_chart(values, folder / name, title=f"{task_title(task)} language bias (lower is better)",
                      ylabel="mean max - min rank of relevant items", xlabel="arm")
            files[task] = name
    return files


def draw_alpha_curve(curve: dict[str, dict[str, float]], path: Path) -> Path:
    """Main score of each task against hybrid's alpha (share of monolingual batches), one line per task."""
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.add_subplot()
    for task, points in curve.items():
        alphas = [float(a) for a in points]
        ax.plot(alphas, list(points.values()), marker="o", label=task_title(task))
    ax.set_xlabel("alpha (probability of a monolingual batch)")
    ax.set_ylabel("main score")
    ax.set_title("Hybrid batch training: alpha sweep")
    ax.legend(fontsize=7)
    return save_png(fig, path)
