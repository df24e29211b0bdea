"""Checkpoints that can be trusted: which one to resume from, and whether the disk can hold them.

The Hugging Face trainer writes a checkpoint file by file (weights, optimizer, scheduler, RNG, ``trainer_state.json``)
and polyret adds ``sampler_state.json`` last, so a checkpoint is *complete* only when both state files exist. A
process killed while saving leaves an incomplete one; resuming skips it and deletes it, since the resumed run writes
that step again.
"""

from __future__ import annotations

import math
import re
import shutil
import zipfile
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from polyret.errors import DataError, ModelError, TrainingError
from polyret.io import read_json
from polyret.training.config import TrainConfig

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
COMPLETION_FILES = ("trainer_state.json", "sampler_state.json")
RNG_KEYS = ("python", "numpy", "cpu")
"""What the Hugging Face trainer restores from ``rng_state.pth``."""
TENSOR_STATE_FILES = ("optimizer.pt", "scheduler.pt")
ADAM_MOMENTS = 2
SAFETY_MARGIN = 1.2
"""Headroom over the estimate for tokenizer files, configs, trainer state and file-system slack."""


def checkpoint_step(path: Path) -> int | None:
    """The step of a ``checkpoint-N`` folder, else ``None``."""
    match = CHECKPOINT_PATTERN.match(path.name)
    return int(match.group(1)) if match and path.is_dir() else None


def is_complete(checkpoint: Path) -> bool:
    """Whether every file of ``checkpoint`` was written (its state files are written last)."""
    return all((checkpoint / name).is_file() for name in COMPLETION_FILES)


def latest_complete_checkpoint(checkpoints_dir: Path) -> Path | None:
    """The complete checkpoint with the highest step in ``checkpoints_dir`` (``None``: there is none)."""
    if not checkpoints_dir.is_dir():
        return None
    complete = [(step, path) for path in checkpoints_dir.iterdir()
                if (step := checkpoint_step(path)) is not None and is_complete(path)]
    return max(complete)[1] if complete else None


def check_loadable(checkpoint: Path) -> None:
    """Read every state file of ``checkpoint`` once (tensors only, memory-mapped) before training resumes from it,
    so a damaged file is reported by name instead of failing somewhere inside the trainer.

    Raises:
        TrainingError: ``trainer_state.json``, ``rng_state.pth``, the optimizer or scheduler state is unreadable or
            does not hold what the trainer expects.
        ModelError: the checkpoint's weights are unreadable or hold more than tensors (a pickle).
    """
    try:
        state = read_json(checkpoint / "trainer_state.json")
    except DataError as exc:
        raise TrainingError(f"damaged checkpoint: {exc}") from None
    if not isinstance(state, dict) or not isinstance(state.get("global_step"), int):
        raise TrainingError(f"{checkpoint / 'trainer_state.json'}: damaged checkpoint (no global_step)")
    rng = _load_tensors(checkpoint / "rng_state.pth", TrainingError, optional=True)
    if rng is not None and (not isinstance(rng, dict) or not set(RNG_KEYS) <= rng.keys()):
        raise TrainingError(f"{checkpoint / 'rng_state.pth'}: damaged checkpoint (expected the keys "
                            f"{', '.join(RNG_KEYS)} of a random-generator state)")
    for name in TENSOR_STATE_FILES:
        _load_tensors(checkpoint / name, TrainingError, optional=True)
    _load_tensors(checkpoint / "pytorch_model.bin", ModelError, optional=True)


def _load_tensors(path: Path, error: type[TrainingError] | type[ModelError], *, optional: bool) -> object:
    """``torch.load`` with tensors (and numpy arrays) only; a missing optional file gives ``None``."""
    if optional and not path.exists():
        return None
    from transformers.trainer_pt_utils import safe_globals  # numpy arrays of the random-generator state

    try:
        with safe_globals():
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a damaged file; all mean "unusable"
        if "weights_only" in str(exc):
            raise error(f"{path}: refusing to load checkpoint state that holds more than tensors (a pickle)") from None
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise error(f"{path}: damaged checkpoint, cannot be read ({first_line[:120]})") from None


def discard_after(checkpoints_dir: Path, step: int) -> list[Path]:
    """Delete the checkpoints past ``step`` (left incomplete by a killed run) and return them."""
    later = [path for path in checkpoints_dir.iterdir() if (checkpoint_step(path) or 0) > step]
    for path in later:
        shutil.rmtree(path)
    return later


def checkpoints_kept(config: TrainConfig, steps_per_epoch: int) -> int:
    """How many checkpoints a run keeps on disk at once: its saves, capped by ``save_total_limit``."""
    total_steps = config.max_steps or math.ceil(config.epochs * steps_per_epoch)
    saves = max(1, math.ceil(total_steps / config.save_steps))
    return min(saves, config.save_total_limit) if config.save_total_limit else saves


def checkpoint_bytes(model: SentenceTransformer) -> int:
    """Estimated size of one checkpoint: the weights plus AdamW's two moments of every trainable parameter."""
    moments = sum(p.numel() * 4 for p in model.parameters() if p.requires_grad)  # moments are kept in fp32
    return _weight_bytes(model) + ADAM_MOMENTS * moments


def check_free_space(run_dir: Path, model: SentenceTransformer, checkpoints_kept: int) -> None:
    """Refuse to start a run whose checkpoints (and final model) will not fit on the disk of ``run_dir``.

    Raises:
        TrainingError: naming the space needed and the space free.
    """
    needed = math.ceil(SAFETY_MARGIN * (checkpoint_bytes(model) * checkpoints_kept + _weight_bytes(model)))
    existing = next(parent for parent in (run_dir, *run_dir.parents) if parent.exists())
    free = shutil.disk_usage(existing).free
    if free < needed:
        raise TrainingError(
            f"{run_dir}: not enough disk space for {checkpoints_kept} checkpoint(s) and the final model: "
            f"needs about {_size(needed)}, {_size(free)} free (free some space, choose another output folder, "
            "or keep fewer checkpoints with save_total_limit)"
        )


def _weight_bytes(model: SentenceTransformer) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def _size(num_bytes: int) -> str:
    return f"{num_bytes / 2**30:.2f} GiB" if num_bytes >= 2**30 else f"{num_bytes / 2**20:.1f} MiB"
