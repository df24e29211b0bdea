"""CLI: ``polyret evaluate`` — run an evaluation suite on one model and write its report; ``compare`` two runs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn
from rich.table import Table

from polyret.cli.console import console, styled, text_column
from polyret.cli.debias import debias_reference, debiased_results
from polyret.cli.options import DataDirOption, comma_list
from polyret.cli.task_options import skip_lines, task_file_specs, task_tables
from polyret.debias import parse_specs
from polyret.errors import UsageError
from polyret.evaluation.report import read_evaluation_results, slug, write_evaluation_report
from polyret.evaluation.result import TaskResult
from polyret.evaluation.significance import compare_results
from polyret.evaluation.suite import SUITES, TASKS, BeirSpec, SuiteConfig, get_suite, run_tasks, suite_context
from polyret.io import check_output_dir, write_json
from polyret.models.backends import InferenceBackend
from polyret.models.encoders import backend_label, get_encoder
from polyret.models.protocol import Encoder, Role
from polyret.settings import cache_dir, data_dir

evaluate_app = typer.Typer(help="Evaluate a model on a suite of tasks, or compare two evaluation runs.")

ENCODE_CHUNKS = 8
"""Encoder batches per progress-bar update."""
HEADLINE_SCORES = ("mono.map", "cross.map", "multi.map", "multi.bias", "de-fr.acc", "fr-de.acc", "xsim_error",
                   "recall@100")
"""Scores shown next to the main score in the terminal summary (when a task has them)."""


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command group to ``app``."""
    app.add_typer(evaluate_app, name="evaluate")


class ProgressEncoder:
    """Wraps an encoder so that every text it encodes advances a rich progress bar (same name and fingerprint)."""

    def __init__(self, encoder: Encoder, progress: Progress, bar: TaskID):
        self.inner = encoder
        self.name = encoder.name
        self.progress = progress
        self.bar = bar
        self.encoded = 0

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def encode(
        self, texts: Sequence[str], role: Role, *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        self.progress.update(self.bar, total=self.encoded + len(texts), visible=True)
        step = batch_size * ENCODE_CHUNKS
        chunks = []
        for start in range(0, len(texts), step):
            chunk = texts[start : start + step]
            chunks.append(self.inner.encode(chunk, role, batch_size=batch_size))
            self.progress.advance(self.bar, len(chunk))
        self.encoded += len(texts)
        return np.concatenate(chunks) if chunks else self.inner.encode([], role, batch_size=batch_size)


@evaluate_app.callback(invoke_without_command=True)
def evaluate_command(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Option(help="Model directory, Hub name or alias (multilingual-e5-small, use-multilingual).")
    ] = None,
    suite: Annotated[
        str | None, typer.Option(help=f"Task suite: {', '.join(SUITES)} (default: quick, or none with --task-file).")
    ] = None,
    tasks: Annotated[
        str | None, typer.Option(help=f"Comma-separated task names, any of: {', '.join(TASKS)}.")
    ] = None,
    task_file: Annotated[
        list[Path] | None, typer.Option(help="Your own task file or BEIR folder (repeatable; see docs/data.md).")
    ] = None,
    task_format: Annotated[
        list[str] | None, typer.Option(help="Format of the n-th --task-file: multiway, tsv, parallel, clsd, qa, "
                                            "beir (default: guessed).")
    ] = None,
    task_name: Annotated[list[str] | None, typer.Option(help="Name of the n-th --task-file's task.")] = None,
    languages: Annotated[
        str | None, typer.Option(help="Comma-separated languages to keep in the task files (a CSV without language "
                                      "columns: query,candidate).")
    ] = None,
    pivot: Annotated[str | None, typer.Option(help="Task-file corpora: score only PIVOT-X pairs.")] = None,
    task_columns: Annotated[
        str | None, typer.Option(help="Discrimination CSV columns, e.g. query=src,translation=ref,distractors=a+b "
                                      "(default: guessed).")
    ] = None,
    list_tasks: Annotated[
        bool, typer.Option("--list-tasks", help="List every registered task and suite, then exit.")
    ] = False,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-o", help="Report folder (default: polyret-eval/MODEL-SUITE).")
    ] = None,
    data_dir_opt: DataDirOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Encoder batch size.")] = 32,
    no_context: Annotated[
        bool, typer.Option("--no-context", help="Encode LAReQA candidates without their paragraph.")
    ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Keep embeddings in memory only.")] = False,
    device: Annotated[str | None, typer.Option(help="Torch device (cpu, cuda, ...); default: automatic.")] = None,
    backend: Annotated[str, typer.Option(help="Inference backend: torch (reference), onnx or openvino.")] = "torch",
    precision: Annotated[str, typer.Option(help="Inference precision: fp32 (reference) or bf16.")] = "fp32",
    beir_corpus: Annotated[Path | None, typer.Option(help="BEIR/MIRACL corpus JSONL (adds a BEIR task).")] = None,
    beir_topics: Annotated[Path | None, typer.Option(help="Topics TSV or queries JSONL of the BEIR task.")] = None,
    beir_qrels: Annotated[Path | None, typer.Option(help="Qrels (TREC or BEIR TSV) of the BEIR task.")] = None,
    beir_name: Annotated[str, typer.Option(help="Task name of the BEIR task.")] = "beir",
    beir_lang: Annotated[str, typer.Option(help="Language of the BEIR task.")] = "en",
    beir_index: Annotated[str, typer.Option(help="BEIR search: exact or faiss (cached HNSW index).")] = "exact",
    debias: Annotated[
        list[str] | None,
        typer.Option(help="Also score every task after a post-hoc debiasing method: center, lir[:rank], "
                     "lsar[:rank] or shift[:scale] (repeatable; nothing is encoded again)."),
    ] = None,
    debias_fit_on: Annotated[
        Path | None,
        typer.Option(help="QA JSONL file of reference texts to fit --debias on (default: the XQuAD-R articles no "
                     "evaluated task uses)."),
    ] = None,
    debias_transductive: Annotated[
        bool, typer.Option("--debias-transductive", help="Fit --debias on each task's own test pool (labelled "
                           "transductive).")
    ] = False,
) -> None:
    """Evaluate MODEL on a suite; writes results.json, report.md and PNG figures to the output folder."""
    if ctx.invoked_subcommand is not None:
        return
    if list_tasks:
        for table in task_tables(data_dir_opt):
            console.print(table)
        return
    if model is None:
        raise UsageError("give --model (a model directory, Hub name or alias), or use `polyret evaluate compare`")
    beir = _beir_spec(beir_corpus, beir_topics, beir_qrels, beir_name, beir_lang, beir_index)
    file_tasks = task_file_specs(task_file or [], task_format or [], task_name or [], comma_list(languages), pivot,
                                 task_columns)
    own = [*file_tasks, *([beir] if beir is not None else [])]
    config = _suite_config(suite, tasks, batch_size, not no_context, own_tasks=bool(own)).with_tasks(*own)
    out = check_output_dir(output_dir or Path("polyret-eval") / f"{slug(Path(model).name or model)}-{config.name}")
    specs = parse_specs(debias or [])
    debias_plan = debias_reference(config, specs, debias_fit_on, debias_transductive, data_dir_opt)
    cache_root = None if no_cache else cache_dir() / "embeddings"
    encoder = get_encoder(model, device=device, backend=InferenceBackend(backend, precision),
                          warn=lambda text: console.print(styled(text, "yellow")))
    started = time.perf_counter()
    with Progress(
        text_column("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
        transient=True,
    ) as progress:
        task_bar = progress.add_task("tasks", total=len(config.tasks))
        encode_bar = progress.add_task("encoding texts", total=0, visible=False)
        counting = ProgressEncoder(encoder, progress, encode_bar)

        def on_task(name: str, done: int, total: int) -> None:
            progress.update(task_bar, completed=done, description=f"task {name}" if name else "tasks")

        run_ctx = suite_context(counting, config, data_dir=data_dir_opt, cache_root=cache_root)
        results = run_tasks(run_ctx, config, on_task)
        debiased = debias_plan.run(run_ctx, config, say=console.print)
    meta = {
        "suite": config.name,
        "tasks": ", ".join(config.task_names),
        "model_fingerprint": encoder.fingerprint(),
        "backend": backend_label(encoder),
        "with_context": config.with_context,
        "batch_size": config.batch_size,
        "data_dir": str(data_dir(data_dir_opt)),
        "texts_encoded": counting.encoded,
        "seconds": round(time.perf_counter() - started, 1),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "polyret_version": version("polyret"),
    }
    if debiased:
        results |= debiased_results(debiased)
        meta["debias"] = {run.label: {"fit": run.fit, "skipped": run.skipped} for run in debiased}
    files = write_evaluation_report(results, out, model_name=model, meta=meta | {"suite_config": config.describe()})
    console.print(_summary_table(results))
    for line in skip_lines(results):
        console.print(line)
    for run in debiased:
        for task, reason in run.skipped.items():
            console.print(styled(f"{run.label} skipped {task}:", "yellow"), reason)
    console.print(f"report: {files.markdown}\nresults: {files.results} ({len(files.figures)} figures)")


@evaluate_app.command("compare")
def compare_command(
    run_a: Annotated[Path, typer.Argument(help="First run: a results.json or the folder holding it.")],
    run_b: Annotated[Path, typer.Argument(help="Second run.")],
    method: Annotated[str, typer.Option(help="randomization (sign flip) or bootstrap.")] = "randomization",
    resamples: Annotated[int, typer.Option(min=100, help="Resamples of the test.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed (results are reproducible).")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the comparison as JSON.")] = None,
) -> None:
    """Paired significance of A - B for every per-query score the two runs share (same task, same query ids)."""
    name_a, _, results_a = read_evaluation_results(run_a)
    name_b, _, results_b = read_evaluation_results(run_b)
    rows = compare_results(results_a, results_b, method=method, n_resamples=resamples, seed=seed)
    if not rows:
        raise UsageError(f"{run_a} and {run_b} share no task with per-query scores on the same queries")
    table = Table(title=f"A = {name_a}   B = {name_b}   ({method}, {resamples} resamples, seed {seed})")
    power = Table(title=f"Holm-adjusted p over all {len(rows)} rows; minimum detectable effect (80% power)")
    for column in ("task", "score", "queries", "A", "B", "A - B", "95% CI", "p"):
        table.add_column(column, justify="left" if column in ("task", "score") else "right")
    for column in ("task", "score", "p (Holm)", "MDE"):
        power.add_column(column, justify="left" if column in ("task", "score") else "right")
    for row in rows:
        table.add_row(
            row["task"], row["score"], str(row["queries"]), f"{row['a']:.4f}", f"{row['b']:.4f}",
            f"{row['difference']:+.4f}", f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]", f"{row['p_value']:.4f}",
        )
        power.add_row(row["task"], row["score"], f"{row['p_holm']:.4f}", f"{row['mde']:.4f}")
    console.print(table)
    console.print(power)
    if json_out is not None:
        write_json(json_out, {"a": name_a, "b": name_b, "method": method, "resamples": resamples, "seed": seed,
                              "comparisons": rows})


def _suite_config(
    name: str | None, tasks: str | None, batch_size: int, with_context: bool, *, own_tasks: bool = False
) -> SuiteConfig:
    """The named suite (default ``quick``); with task files and neither --suite nor --tasks, no suite task at all."""
    own_only = own_tasks and name is None and tasks is None
    config = SuiteConfig("task-files", ()) if own_only else get_suite(name or "quick")
    if tasks:
        config = config.select(comma_list(tasks))
    return replace(config, with_context=with_context, batch_size=batch_size)


def _beir_spec(
    corpus: Path | None, topics: Path | None, qrels: Path | None, name: str, lang: str, index: str
) -> BeirSpec | None:
    given = [corpus, topics, qrels]
    if not any(given):
        return None
    if not all(given):
        raise UsageError("a BEIR task needs all of --beir-corpus, --beir-topics and --beir-qrels")
    if index not in ("exact", "faiss"):
        raise UsageError(f"--beir-index must be exact or faiss, not {index!r}")
    return BeirSpec(str(corpus), str(topics), str(qrels), task_name=name, lang=lang, index=index)


def _summary_table(results: dict[str, TaskResult]) -> Table:
    table = Table(title="Evaluation summary")
    for column in ("task", "main metric", "score", "other scores"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for name, result in results.items():
        others = [f"{k} {result.scores[k]:.4g}" for k in HEADLINE_SCORES if k in result.scores and k != result.main]
        table.add_row(name, result.main, f"{result.main_score:.4f}", ", ".join(others))
    return table
