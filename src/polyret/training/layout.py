"""The layout of a training run folder, in one place for every module that writes or reads one (the trainer, the
study runner, resuming)::

    config.json          the resolved configuration (+ prompts, precision, world size, sampler fingerprint)
    provenance.json      command, git revision, package versions, hardware, sha256 of the data file and records
    train_log.jsonl      one line per step: loss, learning rate, language plan; eval_loss lines when evaluating
    checkpoints/         sentence-transformers/HF checkpoints (model, optimizer, scheduler, RNG) + sampler_state.json
    final/               the trained model: SentenceTransformer(run_dir / "final") loads it
    train_summary.json   steps, wall time, plan counts, unused pairs per epoch, losses (written last)

Example:
    >>> run = RunFolder(Path("runs/hybrid"))
    >>> run.final, run.finished
    (PosixPath('runs/hybrid/final'), False)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "config.json"
PROVENANCE_FILE = "provenance.json"
TRAIN_LOG_FILE = "train_log.jsonl"
CHECKPOINTS_DIR = "checkpoints"
FINAL_MODEL_DIR = "final"
TRAIN_SUMMARY_FILE = "train_summary.json"


@dataclass(frozen=True)
class RunFolder:
    """The paths of one training run folder."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def provenance(self) -> Path:
        return self.root / PROVENANCE_FILE

    @property
    def log(self) -> Path:
        return self.root / TRAIN_LOG_FILE

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS_DIR

    @property
    def final(self) -> Path:
        return self.root / FINAL_MODEL_DIR

    @property
    def summary(self) -> Path:
        return self.root / TRAIN_SUMMARY_FILE

    @property
    def finished(self) -> bool:
        """Whether training completed: the summary (written last) and the final model exist."""
        return self.summary.is_file() and self.final.is_dir()
