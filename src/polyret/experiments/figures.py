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


OUTCOME_COLOURS = {"better": "tab:green", "worse": "tab:red", "equivalent": "tab:blue", "inconclusive": "tab:gray"}


def draw_forest(comparisons: dict[str, dict[str, dict]], path: Path, *, arm: str) -> Path:
    """One panel per task: each baseline's difference (``arm`` − baseline, mean per item) with its 95% interval.

    Points are coloured by the comparison's outcome; the shaded band is the equivalence margin and the dashed line
    zero. Each panel has its own axis, since tasks differ in metric (a bias panel: lower is better).
    """
    tasks = list(dict.fromkeys(task for cells in comparisons.values() for task in cells))
    fig = Figure(figsize=(6.4, 1.0 + 0.32 * sum(len(_baselines_of(comparisons, t)) + 1.2 for t in tasks)))
    heights = [len(_baselines_of(comparisons, task)) + 1 for task in tasks]
    axes = fig.subplots(len(tasks), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, task in zip(axes, tasks, strict=True):
        baselines = _baselines_of(comparisons, task)
        cells = [comparisons[b][task] for b in baselines]
        margin = cells[0]["margin"]
        ax.axvspan(-margin, margin, color="0.9", zorder=0)
        ax.axvline(0.0, color="0.4", linestyle="--", linewidth=0.8)
        for row, cell in enumerate(cells):
            low, high = cell["ci_queries"] or (cell["diff_queries"], cell["diff_queries"])
            colour = OUTCOME_COLOURS.get(cell["outcome"], "black")
            ax.plot([low, high], [row, row], color=colour, linewidth=1.5)
            ax.plot([cell["diff_queries"]], [row], "o", color=colour, markersize=4)
        ax.set_yticks(range(len(baselines)), baselines, fontsize=7)
        ax.set_ylim(len(baselines) - 0.5, -0.5)
        lower = " (lower is better)" if cells[0]["metric"].endswith("bias") else ""
        ax.set_title(f"{task_title(task)}: {arm} − baseline, {cells[0]['metric']}{lower}", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    return save_png(fig, path)


def _baselines_of(comparisons: dict[str, dict[str, dict]], task: str) -> list[str]:
    return [baseline for baseline, cells in comparisons.items() if task in cells]
