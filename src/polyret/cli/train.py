"""CLI: ``polyret train`` — fine-tune an encoder with monolingual, cross-lingual, hybrid, mixed or multi-positive
batches."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from polyret.cli.console import console
from polyret.cli.options import DataDirOption, config_options
from polyret.data.corpus import PreparedCorpus, is_prepared_corpus
from polyret.data.lareqa import LAREQA_LANGUAGES, load_parallel_qa
from polyret.data.records import ParallelQA
from polyret.data.user_qa import load_qa_jsonl
from polyret.errors import DataError, TrainingInterrupted, UsageError
from polyret.io import check_output_dir
from polyret.training import TrainConfig
from polyret.training.layout import CHECKPOINTS_DIR, CONFIG_FILE, TRAIN_LOG_FILE


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to ``app``."""
    app.command("train")(train_command)


@config_options(TrainConfig, skip=("model", "data", "resume"))
def train_command(
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Run directory (checkpoints, logs, final/).")],
    model: Annotated[str | None, typer.Option(help="Model directory, polyret alias or Hub name.")] = None,
    data: Annotated[list[str] | None, typer.Option(
        help="xquad-r, mlqa-r, a QA JSONL file, or a corpus folder of `polyret data prepare`; repeat it to train on "
             "several data sets, each batch from one (see --data-mixing, --data-weights).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML or TOML file of TrainConfig options.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the newest checkpoint (with the run's config.json).")
    ] = False,
    device: Annotated[
        str, typer.Option(help="auto (a visible GPU, else the CPU), cpu or cuda; pick GPUs with CUDA_VISIBLE_DEVICES.")
    ] = "auto",
    data_dir: DataDirOption = None,
    *,
    overrides: dict[str, Any],
) -> None:
    """Fine-tune an encoder; flags override the values of --config (defaults: the paper's protocol). Every option
    of the training config is a flag (lists comma-separated)."""
    if config:
        base = TrainConfig.load(config)
    else:
        base = _run_config(output_dir) if resume else TrainConfig()
    given_data = (data[0] if len(data) == 1 else data) if data else None
    resolved = base.replace(model=model, data=given_data, resume=resume or None, **overrides)
    if not resolved.model or not resolved.data:
        raise UsageError("give --model and --data (or set model and data in --config)")
    check_output_dir(output_dir, written_by=(CONFIG_FILE, TRAIN_LOG_FILE, CHECKPOINTS_DIR))
    from polyret.training.trainer import train  # torch and friends load here, not at CLI start-up

    train_data = _training_data(resolved, data_dir)
    try:
        outcome = train(resolved, train_data, output_dir=output_dir, progress=True, device=device)
    except TrainingInterrupted as exc:
        exc.hint = f"Resume with: polyret train --output-dir {shlex.quote(str(exc.run_dir or output_dir))} --resume"
        raise
    summary = outcome.summary
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun / accelerate: rank 0 speaks for the run
        return
    console.print(
        f"trained {outcome.steps} steps in {summary['wall_time_s']} s; plans {summary['plan_counts']}; "
        f"unused pairs per epoch {summary['unused_pairs_per_epoch']}"
    )
    for name, batches in summary.get("data_set_batches", {}).items():
        console.print(f"data set {name}: {batches} batches, plans {summary['data_set_plan_counts'][name]}")
    console.print(f"model: {outcome.model_dir}")


def _run_config(output_dir: Path) -> TrainConfig:
    """The config of the run to resume, with what to do when ``output_dir`` holds none."""
    try:
        return TrainConfig.from_run(output_dir)
    except UsageError as exc:
        exc.hint = "To start a new run there, give --config or --model and --data without --resume"
        raise


def _training_data(config: TrainConfig, data_dir: Path | None) -> list[ParallelQA] | PreparedCorpus | list[Any]:
    """The data of ``config.data``: one data set as it loads, several as named, weighted data sets."""
    from polyret.training.sources import DataSource

    if isinstance(config.data, str):
        return _load_data(config.data, config.languages, data_dir)
    weights = config.data_weights or [1.0] * len(config.data)
    return [DataSource(name, _load_data(name, config.languages, data_dir), weight)
            for name, weight in zip(config.data, weights, strict=True)]


def _load_data(data: str, languages: list[str] | None, data_dir: Path | None) -> list[ParallelQA] | PreparedCorpus:
    """A built-in LAReQA data set by name, a prepared corpus folder (read memory-mapped, row by row), else the
    user's QA JSONL file."""
    if data in LAREQA_LANGUAGES:
        return load_parallel_qa(data, languages=languages, data_dir=data_dir)
    if is_prepared_corpus(data):
        return PreparedCorpus.open(data)
    records = load_qa_jsonl(data)
    if not records:
        raise DataError(data, "no records", expected="one JSON object per line with id, questions and answers")
    return records
