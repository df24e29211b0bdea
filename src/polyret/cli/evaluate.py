"""CLI: ``polyret evaluate`` — run an evaluation suite on one model and write its report; ``compare`` two runs."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from polyret.cli.console import console, err_console, stage, styled, text_column, warn
from polyret.cli.options import DataDirOption, ResamplesOption, SeedOption, comma_list, names_list
from polyret.cli.task_options import skip_lines, task_file_specs, task_tables
from polyret.errors import UsageError
from polyret.evaluation.catalog import SUITES, TASKS, get_suite, headline_scores, select_tasks
from polyret.evaluation.report import read_evaluation_results, slug
from polyret.evaluation.result import TaskResult
from polyret.evaluation.run import EvaluationResult, evaluate
from polyret.evaluation.significance import compare_results
from polyret.evaluation.suite import BeirSpec, ProgressCallback, SuiteConfig
from polyret.io import write_json
from polyret.settings import cache_dir

evaluate_app = typer.Typer(help="Evaluate a model on a suite of tasks, or compare two evaluation runs.")

ModelOption = Annotated[
    str | None, typer.Option(help="Model directory, Hub name or alias (multilingual-e5-small, use-multilingual).")
]
SuiteOption = Annotated[
    str | None, typer.Option(help=f"Task suite: {', '.join(SUITES)} (default: quick, or none with --task-file).")
]
TasksOption = Annotated[str | None, typer.Option(help=f"Comma-separated task names, any of: {', '.join(TASKS)}.")]
TaskFileOption = Annotated[
    list[Path] | None, typer.Option(help="Your own task file or BEIR folder (repeatable; see docs/data.md).")
]
TaskFormatOption = Annotated[
    list[str] | None, typer.Option(help="Format of the n-th --task-file: multiway, tsv, parallel, clsd, qa, beir "
                                        "(default: guessed).")
]
TaskNameOption = Annotated[list[str] | None, typer.Option(help="Name of the n-th --task-file's task.")]
LanguagesOption = Annotated[
    str | None, typer.Option(help="Comma-separated languages to keep in the task files (a CSV without language "
                                  "columns: query,candidate).")
]
PivotOption = Annotated[str | None, typer.Option(help="Task-file corpora: score only PIVOT-X pairs.")]
TaskColumnsOption = Annotated[
    str | None, typer.Option(help="Discrimination CSV columns, e.g. query=src,translation=ref,distractors=a+b "
                                  "(default: guessed).")
]
ListTasksOption = Annotated[
    bool, typer.Option("--list-tasks", help="List every registered task and suite, then exit.")
]
OutputDirOption = Annotated[
    Path | None, typer.Option("--output-dir", "-o", help="Report folder (default: polyret-eval/MODEL-SUITE).")
]
BatchSizeOption = Annotated[int, typer.Option(min=1, help="Encoder batch size.")]
NoContextOption = Annotated[
    bool, typer.Option("--no-context", help="Encode LAReQA candidates without their paragraph.")
]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Keep embeddings in memory only.")]
DeviceOption = Annotated[str | None, typer.Option(help="Torch device (cpu, cuda, ...); default: automatic.")]
ResultsFormatOption = Annotated[str, typer.Option(help="polyret (results.json, report.md), or mteb: also mteb "
                                                 "TaskResult files under OUTPUT/mteb/results/ (needs the optional "
                                                 "mteb extra).")]
BackendOption = Annotated[str, typer.Option(help="Inference backend: torch (reference), onnx or openvino. Every "
                                           "backend runs at --precision, fp32 unless given: OpenVINO's faster mode "
                                           "needs --precision bf16.")]
PrecisionOption = Annotated[str, typer.Option(help="Inference precision: fp32 (the default: the reference every "
                                             "backend is checked against) or bf16 (torch autocast, OpenVINO's bf16 "
                                             "hint).")]
BeirCorpusOption = Annotated[Path | None, typer.Option(help="BEIR/MIRACL corpus JSONL (adds a BEIR task).")]
BeirTopicsOption = Annotated[Path | None, typer.Option(help="Topics TSV or queries JSONL of the BEIR task.")]
BeirQrelsOption = Annotated[Path | None, typer.Option(help="Qrels (TREC or BEIR TSV) of the BEIR task.")]
BeirNameOption = Annotated[str, typer.Option(help="Task name of the BEIR task.")]
BeirLangOption = Annotated[str, typer.Option(help="Language of the BEIR task.")]
BeirIndexOption = Annotated[str, typer.Option(help="BEIR search: exact or faiss (cached HNSW index).")]
DebiasOption = Annotated[
    list[str] | None,
    typer.Option(help="Also score every task after a post-hoc debiasing method: center, lir[:rank], lsar[:rank] "
                      "or shift[:scale] (repeatable; nothing is encoded again)."),
]
DebiasFitOnOption = Annotated[
    Path | None,
    typer.Option(help="QA JSONL file of reference texts to fit --debias on (default: the XQuAD-R articles no "
                      "evaluated task uses)."),
]
WriteTrecRunOption = Annotated[
    bool, typer.Option("--write-trec-run", help="Also write each BEIR-style task's run and qrels as TREC files "
                       "(OUTPUT_DIR/trec/TASK.run, .qrels) for trec_eval, ranx or ir_measures.")
]
DebiasTransductiveOption = Annotated[
    bool, typer.Option("--debias-transductive", help="Fit --debias on each task's own test pool (labelled "
                       "transductive).")
]


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command group to ``app``."""
    app.add_typer(evaluate_app, name="evaluate")


@evaluate_app.callback(invoke_without_command=True)
def evaluate_command(
    ctx: typer.Context, model: ModelOption = None, suite: SuiteOption = None, tasks: TasksOption = None,
    task_file: TaskFileOption = None, task_format: TaskFormatOption = None, task_name: TaskNameOption = None,
    languages: LanguagesOption = None, pivot: PivotOption = None, task_columns: TaskColumnsOption = None,
    list_tasks: ListTasksOption = False, output_dir: OutputDirOption = None, data_dir_opt: DataDirOption = None,
    batch_size: BatchSizeOption = 32, no_context: NoContextOption = False, no_cache: NoCacheOption = False,
    device: DeviceOption = None, backend: BackendOption = "torch", precision: PrecisionOption = "fp32",
    beir_corpus: BeirCorpusOption = None, beir_topics: BeirTopicsOption = None, beir_qrels: BeirQrelsOption = None,
    beir_name: BeirNameOption = "beir", beir_lang: BeirLangOption = "en", beir_index: BeirIndexOption = "exact",
    write_trec_run: WriteTrecRunOption = False, debias: DebiasOption = None, debias_fit_on: DebiasFitOnOption = None,
    debias_transductive: DebiasTransductiveOption = False, results_format: ResultsFormatOption = "polyret",
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
    own = [*task_file_specs(task_file or [], task_format or [], task_name or [], comma_list(languages), pivot,
                            task_columns), *([beir] if beir is not None else [])]
    config = _suite_config(suite, tasks, own_tasks=bool(own)).with_tasks(*own)
    out = output_dir or Path("polyret-eval") / f"{slug(Path(model).name or model)}-{config.name}"
    result = _run_with_progress(
        model, config, backend=backend, precision=precision, device=device, debias=debias or [],
        debias_fit_on=debias_fit_on, debias_transductive=debias_transductive, output_dir=out,
        write_trec_runs=write_trec_run, data_dir=data_dir_opt,
        cache_root=None if no_cache else cache_dir() / "embeddings", batch_size=batch_size,
        with_context=not no_context, results_format=results_format,
    )
    _print_summary(result)


def _run_with_progress(model: str, config: SuiteConfig, **options: Any) -> EvaluationResult:
    """:func:`polyret.evaluation.run.evaluate` under a progress bar of tasks and one of encoded texts on standard
    error, or with one plain line per task when standard error is no terminal (a log file, a pipe, CI)."""
    if not err_console.is_terminal:
        return evaluate(model, config, on_task=_task_lines(), say=console.print, warn=warn, **options)
    with Progress(
        text_column("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=True,
    ) as progress:
        task_bar = progress.add_task("tasks", total=len(config.tasks))
        encode_bar = progress.add_task("encoding texts", total=0, visible=False)

        def on_task(name: str, done: int, total: int) -> None:
            progress.update(task_bar, completed=done, description=f"task {name}" if name else "tasks")

        def on_encode(encoded: int, requested: int) -> None:
            progress.update(encode_bar, completed=encoded, total=requested, visible=True)

        return evaluate(model, config, on_task=on_task, on_encode=on_encode, say=console.print, warn=warn, **options)


def _task_lines() -> ProgressCallback:
    """A task progress callback printing one stage line as each task starts, and one when all are done."""
    started = time.monotonic()

    def on_task(name: str, done: int, total: int) -> None:
        elapsed = time.monotonic() - started
        stage(f"task {done + 1}/{total}: {name} ({elapsed:.0f} s so far)" if name
              else f"all {total} tasks done ({elapsed:.0f} s)")

    return on_task


def _print_summary(result: EvaluationResult) -> None:
    """The summary table, the rows skipped on purpose, the tasks a debiasing method skipped, and the files."""
    console.print(_summary_table(result.results))
    for line in skip_lines(result.results):
        console.print(line)
    for run in result.debiased:
        for task, reason in run.skipped.items():
            console.print(styled(f"{run.label} skipped {task}:", "yellow"), reason)
    if result.mteb is not None:
        skipped = f"; no mteb form: {', '.join(result.mteb.skipped)}" if result.mteb.skipped else ""
        console.print(f"mteb results: {result.mteb.folder} ({len(result.mteb.tasks)} tasks{skipped})")
    if result.files is not None:
        files = result.files
        console.print(f"report: {files.markdown}\nresults: {files.results} ({len(files.figures)} figures)")


@evaluate_app.command("compare")
def compare_command(
    run_a: Annotated[Path, typer.Argument(help="First run: a results.json or the folder holding it.")],
    run_b: Annotated[Path, typer.Argument(help="Second run.")],
    method: Annotated[str, typer.Option(help="randomization (sign flip) or bootstrap.")] = "randomization",
    resamples: ResamplesOption = 10_000,
    seed: SeedOption = 0,
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
            row.task, row.score, str(row.n_items), f"{row.score_a:.4f}", f"{row.score_b:.4f}",
            f"{row.difference:+.4f}", f"[{row.ci_low:+.4f}, {row.ci_high:+.4f}]", f"{row.p_value:.4f}",
        )
        power.add_row(row.task, row.score, f"{row.p_holm:.4f}", f"{row.mde:.4f}")
    console.print(table)
    console.print(power)
    if json_out is not None:
        write_json(json_out, {"a": name_a, "b": name_b, "method": method, "resamples": resamples, "seed": seed,
                              "comparisons": [row.to_dict() for row in rows]})


def _suite_config(name: str | None, tasks: str | None, *, own_tasks: bool = False) -> SuiteConfig:
    """The named suite (default ``quick``); with task files and neither --suite nor --tasks, no suite task at all."""
    own_only = own_tasks and name is None and tasks is None
    config = SuiteConfig("task-files", ()) if own_only else get_suite(name or "quick")
    if tasks is None:
        return config
    chosen = select_tasks(config, names_list(tasks, "--tasks"))
    return replace(chosen, name="+".join(chosen.task_names))  # named after the tasks chosen, not their suite


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
        others = [f"{k} {result.scores[k]:.4g}" for k in headline_scores(name)
                  if k in result.scores and k != result.main]
        table.add_row(name, result.main, f"{result.main_score:.4f}", ", ".join(others))
    return table
