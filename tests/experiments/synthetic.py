"""Synthetic arm results for testing the study's analysis and report without training or encoding anything."""

from __future__ import annotations

import zlib

import numpy as np

from polyret.evaluation.result import TaskResult
from polyret.experiments.arm_result import ArmResult

LANGS = ("de", "en", "vi")
N_QUERIES = 40


def lareqa_result(task: str, level: float, rng: np.random.Generator) -> TaskResult:
    """A LAReQA-shaped result whose per-query APs scatter around ``level``."""
    ap = {f"q{i}|{LANGS[i % 3]}": float(np.clip(level + rng.normal(0, 0.05), 0, 1)) for i in range(N_QUERIES)}
    mean = float(np.mean(list(ap.values())))
    matrix = {ql: {pl: mean - (0.1 if ql != pl else 0.0) for pl in LANGS} for ql in LANGS}
    scores = {"mono.map": mean + 0.1, "cross.map": mean - 0.05, "multi.map": mean, "multi.bias": 100 * (1 - mean)}
    return TaskResult(task, "multi.map", scores, {"map": matrix}, {"multi.ap": ap})


def shift_result(task: str, level: float, rng: np.random.Generator) -> TaskResult:
    """A bitext/CLSD-shaped result with per-item 0/1 hits at rate ``level``."""
    hits = {f"s{i}": float(rng.random() < level) for i in range(N_QUERIES * 5)}
    return TaskResult(task, "p@1", {"p@1": float(np.mean(list(hits.values())))}, per_query={"p@1": hits})


def arm_result(
    label: str, sampler: str | None, *, seed: int | None, in_domain: float, shift: float, alpha: float | None = None
) -> ArmResult:
    """One arm run with the given in-domain and domain-shift levels (deterministic per label and seed)."""
    rng = np.random.default_rng(zlib.crc32(f"{label}/{seed}".encode()))
    tasks = {
        "xquad-r": lareqa_result("xquad-r", in_domain, rng),
        "mlqa-r": lareqa_result("mlqa-r", in_domain - 0.1, rng),
        "ntrex128": shift_result("ntrex128", shift, rng),
        "tico19": shift_result("tico19", shift - 0.05, rng),
    }
    run_name = label if seed is None else f"{label}-s{seed}"
    config = {"arm": {"label": label, "sampler": sampler, "alpha": alpha, "seed": seed}}
    return ArmResult(run_name, label, "0123456789", config, tasks, {"status": "trained"})
