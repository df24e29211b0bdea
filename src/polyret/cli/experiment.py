"""CLI: ``polyret experiment`` — the flagship study (every batching arm, one report) as one resumable command."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Annotated

import typer

from polyret.cli.console import console
from polyret.cli.options import DataDirOption
from polyret.errors import TrainingInterrupted
from polyret.experiments.config import PRESETS, SWEEP_ALPHAS, ExperimentConfig, load_config, validate
from polyret.io import check_output_dir

_SWEEP = ", ".join(f"{alpha:g}" for alpha in SWEEP_ALPHAS)


def register(app: typer.Typer) -> None:
    """Add the ``experiment`` command to ``app``."""
    app.command("experiment")(experiment_command)


def experiment_command(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML or TOML study config (keys override the preset).")
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help=f"Start from a preset: {' or '.join(PRESETS)} (default: quick without --config)."),
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-o", help="Study folder (default runs/<name>).")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume/--force", help="Reuse finished arms and resume interrupted ones, or redo them all."),
    ] = True,
    train_qa: Annotated[
        Path | None, typer.Option("--train-qa", help="QA JSONL training data replacing the XQuAD-R training folds.")
    ] = None,
    alpha_sweep: Annotated[
        bool, typer.Option("--alpha-sweep", help=f"Add hybrid arms at alpha {_SWEEP}.")
    ] = False,
    allow_leakage: Annotated[
        bool,
        typer.Option("--allow-leakage", help="Run even when training texts occur in the in-domain test data "
                     "(config key data.allow_leakage; the overlap is reported)."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the plan (runs, data sizes, detectable effects, estimated time) "
                     "without loading a model or training."),
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Train every batching arm on the same data and budget, evaluate in and out of domain, and write a report."""
    study = _with_flags(load_config(config, preset=preset if preset is not None or config is not None else "quick"),
                        train_qa=train_qa, alpha_sweep=alpha_sweep, allow_leakage=allow_leakage)
    validate(study)
    output_dir = output_dir or Path("runs") / study.name
    if dry_run:
        from polyret.experiments.plan import plan_study, render_plan

        plan = plan_study(study, output_dir=output_dir, data_dir=data_dir)
        console.print(render_plan(plan), soft_wrap=True)
        return
    from polyret.experiments.report import REPORT_FILE, RESULTS_FILE
    from polyret.experiments.runner import ARMS_DIR, run_experiment  # torch and friends load here, not at start-up

    command = invocation(ctx)
    try:
        run_experiment(
            study,
            output_dir=check_output_dir(output_dir, written_by=(RESULTS_FILE, REPORT_FILE, ARMS_DIR)),
            data_dir=data_dir,
            force=not resume,
            command=command,
            console=console,
        )
    except TrainingInterrupted as exc:
        exc.hint = f"Rerun the same command to resume: {command}"
        raise


def _with_flags(study: ExperimentConfig, *, train_qa: Path | None, alpha_sweep: bool,
                allow_leakage: bool) -> ExperimentConfig:
    """``study`` with what the command's flags change in it."""
    if train_qa is not None:
        study = dataclasses.replace(study, data=dataclasses.replace(study.data, train_qa=str(train_qa)))
    if alpha_sweep:
        study = dataclasses.replace(study, alpha_sweep=list(SWEEP_ALPHAS))
    if allow_leakage:
        study = dataclasses.replace(study, data=dataclasses.replace(study.data, allow_leakage=True))
    return study


def invocation(ctx: typer.Context) -> str:
    """The command line that reproduces this call: the command and every option the user gave."""
    parts = ctx.command_path.split()
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name != "COMMANDLINE":  # typer bundles its own click: compare by name
            continue
        value = ctx.params[param.name]
        if getattr(param, "is_flag", False):
            parts.append(param.opts[0] if value or not param.secondary_opts else param.secondary_opts[0])
        else:
            parts += [param.opts[0], str(value)]
    return shlex.join(parts)
