"""Training configuration: one dataclass, every CLI flag, loadable from and saved to YAML (or read from TOML).

The defaults are the paper's protocol (Elmahdy et al. 2024, §3.1 / App. A.1): shared encoder, cosine similarity,
in-batch-negative InfoNCE (``MultipleNegativesRankingLoss``), "Query: "/"Passage: " prefixes, AdamW with weight
decay 0.01, learning rate 3e-5, batch size 100, hybrid batches with alpha 0.5. :meth:`TrainConfig.paper` also holds
out Greek and Vietnamese, as the paper does.

Choices the paper leaves open, made here and documented in ``docs/training.md``:

- ``scale`` 20 (temperature 0.05). The paper's InfoNCE shows no temperature; with cosine scores in [-1, 1] a scale
  of 1 barely separates positives from negatives, so we keep sentence-transformers' default.
- ``warmup_ratio`` 0.1, one epoch, ``max_seq_length`` from the model, answers encoded with their paragraph
  (``with_context``, as LAReQA encodes candidates).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from polyret.errors import UsageError
from polyret.io import atomic_write, read_json, read_mapping

PAPER_HELD_OUT_LANGUAGES = ("el", "vi")


@dataclass(slots=True)
class TrainConfig:
    """Everything that fixes a training run.

    Attributes:
        model: model directory, polyret alias or Hub name to start from.
        data: ``xquad-r`` / ``mlqa-r`` or a QA JSONL file (used by the CLI; :func:`train` takes records).
        sampler: a :class:`~polyret.sampling.SamplerKind` value.
        alpha: hybrid: probability that a batch is monolingual.
        weighting: ``uniform`` or ``proportional`` draw of each batch's language (pair).
        per_example_pairs: cross-lingual batches draw the pair X != Y per example, not per batch.
        positives_per_query: ``multi_positive``: answer languages per question in a batch (M); a batch holds
            ``batch_size / M`` questions, so the same number of pairs as the other designs.
        batch_size: pairs per batch on one device (global batch = batch_size x devices).
        lr / weight_decay / warmup_ratio: AdamW and the linear warm-up share of the steps.
        epochs / max_steps: training length; ``max_steps`` wins when set.
        scale: inverse temperature of the InfoNCE softmax over cosine scores.
        symmetric: add the passage-to-query direction to the loss.
        cached: use the gradient-cached loss (GradCache) so big batches fit; ``mini_batch_size`` per forward pass.
        max_seq_length: truncate inputs to this many tokens (``None``: the model's setting).
        precision: ``auto`` (bf16 or fp16 on a GPU that has it, else fp32), ``fp32``, ``fp16`` or ``bf16``.
        with_context: encode an answer followed by its paragraph.
        languages / exclude_languages: train on these languages only / without these (held-out) languages.
        freeze_word_embeddings: keep the input word embeddings fixed.
        query_prompt / passage_prompt: prefixes, used when the model has no ``query``/``passage`` prompts.
        eval_steps / early_stopping_patience: validation-loss evaluation every N steps (needs eval data) and the
            number of evaluations without improvement before stopping (``None``: no early stopping).
        save_steps / save_total_limit: checkpoint every N steps, keeping the newest K.
        logging_steps: write a log line (mean loss, learning rate, language plans) every N steps. 1 logs every
            step's plan and batch ids; on a fast GPU a larger N avoids a device synchronisation per step.
        seed: seed of sampling, initialisation and dropout.
        resume: continue from the newest checkpoint in the output directory.
    """

    model: str = ""
    data: str = ""
    sampler: str = "hybrid"
    alpha: float = 0.5
    weighting: str = "uniform"
    per_example_pairs: bool = False
    positives_per_query: int = 4
    batch_size: int = 100
    lr: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    epochs: float = 1.0
    max_steps: int | None = None
    scale: float = 20.0
    symmetric: bool = False
    cached: bool = False
    mini_batch_size: int = 32
    max_seq_length: int | None = None
    precision: str = "auto"
    with_context: bool = True
    languages: list[str] | None = None
    exclude_languages: list[str] = field(default_factory=list)
    freeze_word_embeddings: bool = False
    query_prompt: str = "Query: "
    passage_prompt: str = "Passage: "
    eval_steps: int = 100
    early_stopping_patience: int | None = None
    save_steps: int = 500
    save_total_limit: int | None = 2
    logging_steps: int = 1
    seed: int = 42
    resume: bool = False

    @classmethod
    def paper(cls, model: str, **overrides: Any) -> TrainConfig:
        """The paper's preset: the defaults above, training without Greek and Vietnamese (zero-shot languages)."""
        return cls.from_dict({"model": model, "exclude_languages": list(PAPER_HELD_OUT_LANGUAGES), **overrides})

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "config") -> TrainConfig:
        """Build a config, checking every key and value type.

        Raises:
            UsageError: an unknown key or a value of the wrong type, naming the key.
        """
        if not isinstance(values, dict):
            raise UsageError(f"{source}: expected a mapping of option names to values, got {type(values).__name__}")
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        for key, value in values.items():
            if key not in known:
                raise UsageError(f"{source}: unknown option {key!r} (known: {', '.join(sorted(known))})")
            if not _matches(value, hints[key]):
                raise UsageError(f"{source}: option {key!r} must be {_type_name(hints[key])}, got {value!r}")
        config = cls(**values)
        config.validate(source)
        return config

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a YAML (``.yaml``/``.yml``/``.json``) or TOML (``.toml``) config file."""
        return cls.from_dict(read_mapping(path), source=str(path))

    @classmethod
    def from_run(cls, run_dir: str | Path) -> TrainConfig:
        """The configuration a training run was started with (the options in its ``config.json``).

        Raises:
            UsageError: ``run_dir`` holds no ``config.json``.
        """
        path = Path(run_dir) / "config.json"
        if not path.is_file():
            raise UsageError(f"{run_dir}: no config.json, so not a polyret training run (give --config or --model)")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls.from_dict({key: value for key, value in read_json(path).items() if key in known}, source=str(path))

    def save(self, path: str | Path) -> None:
        """Write the config as YAML (atomically)."""
        with atomic_write(path) as handle:
            yaml.safe_dump(self.to_dict(), handle, sort_keys=False, allow_unicode=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON/YAML-serialisable values."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A checked copy with some options changed (``None`` values are ignored: flags the user did not give)."""
        given = {key: value for key, value in changes.items() if value is not None}
        return TrainConfig.from_dict({**self.to_dict(), **given})

    def validate(self, source: str = "config") -> None:
        """Check value ranges and choices that types alone do not fix."""
        from polyret.sampling import SamplerKind, Weighting

        multi_positive = self.sampler == SamplerKind.MULTI_POSITIVE.value
        checks = [
            (self.sampler in {k.value for k in SamplerKind}, "sampler", f"one of {[k.value for k in SamplerKind]}"),
            (self.weighting in {w.value for w in Weighting}, "weighting", f"one of {[w.value for w in Weighting]}"),
            (self.precision in {"auto", "fp32", "fp16", "bf16"}, "precision", "auto, fp32, fp16 or bf16"),
            (0.0 <= self.alpha <= 1.0, "alpha", "in [0, 1]"),
            (self.batch_size >= 1, "batch_size", ">= 1"),
            (self.positives_per_query >= 1, "positives_per_query", ">= 1"),
            (not multi_positive or self.batch_size % self.positives_per_query == 0, "batch_size",
             f"a multiple of positives_per_query ({self.positives_per_query}) with the multi_positive sampler"),
            (not multi_positive or not (self.symmetric or self.cached), "sampler",
             "another design with symmetric or cached (the multi-positive loss has neither)"),
            (self.mini_batch_size >= 1, "mini_batch_size", ">= 1"),
            (self.lr > 0, "lr", "> 0"),
            (0.0 <= self.warmup_ratio < 1.0, "warmup_ratio", "in [0, 1)"),
            (self.epochs > 0, "epochs", "> 0"),
            (self.max_steps is None or self.max_steps >= 1, "max_steps", ">= 1"),
            (self.scale > 0, "scale", "> 0"),
            (self.eval_steps >= 1, "eval_steps", ">= 1"),
            (self.save_steps >= 1, "save_steps", ">= 1"),
            (self.logging_steps >= 1, "logging_steps", ">= 1"),
        ]
        for ok, key, expected in checks:
            if not ok:
                raise UsageError(f"{source}: option {key!r} must be {expected} (got {getattr(self, key)!r})")


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the annotation ``hint`` (str, int, float, bool, list[str], optional)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    return str(hint).replace("typing.", "") if typing.get_origin(hint) else hint.__name__
