"""CLI: ``polyret debias`` — build LSAR into a model directory; the ``--debias`` options of ``polyret evaluate``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from polyret.cli.console import console
from polyret.cli.options import DataDirOption
from polyret.data.records import ParallelQA
from polyret.data.user_qa import load_qa_jsonl
from polyret.debias import DebiasSpec, parse_spec
from polyret.debias.export import CARD_SIGNATURE
from polyret.errors import DataError, ModelError, UsageError
from polyret.evaluation.debiased import (
    DebiasedRun,
    Reference,
    check_reference,
    fit_method,
    unused_articles_reference,
)
from polyret.evaluation.result import TaskResult
from polyret.evaluation.suite import LareqaSpec, SuiteConfig

DEFAULT_FIT = "default"


def register(app: typer.Typer) -> None:
    """Add the ``debias`` command to ``app``."""
    app.command("debias")(debias_command)


def debias_command(
    model: Annotated[str, typer.Option(help="Model directory, Hub name or alias (multilingual-e5-small).")],
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="The new model directory.")],
    method: Annotated[str, typer.Option(help="Debiasing method; only lsar needs no language labels.")] = "lsar",
    rank: Annotated[int | None, typer.Option(min=1, help="LSAR rank (default: fit languages - 1).")] = None,
    fit_on: Annotated[
        str, typer.Option(help="QA JSONL file of reference texts, or 'default': the study's training articles.")
    ] = DEFAULT_FIT,
    data_dir_opt: DataDirOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Encoder batch size.")] = 32,
    no_context: Annotated[
        bool, typer.Option("--no-context", help="Encode reference answers without their paragraph.")
    ] = False,
    device: Annotated[str | None, typer.Option(help="Torch device (cpu, cuda, ...); default: automatic.")] = None,
) -> None:
    """Fit LSAR on reference texts and write MODEL + a fixed projection layer as a sentence-transformers model."""
    from polyret.debias.export import check_export_dir, export_model
    from polyret.evaluation.store import EmbeddingStore
    from polyret.models.encoders import SentenceTransformerEncoder, get_encoder
    from polyret.settings import cache_dir

    spec = parse_spec(method if rank is None else f"{method}:{rank}")
    if spec.needs_languages:
        raise UsageError(
            f"{spec.method} needs the language of every text at query and index time, so it cannot be built into a "
            f"model; it is evaluation-time only (polyret evaluate --debias {spec.method}); use --method lsar"
        )
    check_export_dir(output_dir)
    reference = fit_reference(fit_on, with_context=not no_context, data_dir=data_dir_opt)
    encoder = get_encoder(model, device=device)
    if not isinstance(encoder, SentenceTransformerEncoder):
        raise ModelError(f"{model!r} is not a sentence-transformers model; only those can be exported")
    vectors, languages = reference.embed(EmbeddingStore(encoder, cache_dir() / "embeddings"), batch_size)
    fitted, facts = fit_method(spec, vectors, languages)
    card = model_card(model, spec, facts, reference.description)
    export_model(encoder.model, fitted.projection(), output_dir, card=card)
    console.print(
        f"wrote {output_dir}: {model} + LSAR rank {facts['rank']} fitted on {facts['texts']} "
        f"texts in {len(facts['languages'])} languages ({facts['fit_seconds']:.3f} s); load it with "
        f"SentenceTransformer({str(output_dir)!r})"
    )


def fit_reference(fit_on: str | Path, *, with_context: bool, data_dir: Path | None) -> Reference:
    """The reference texts named by ``--fit-on``: a QA JSONL file, or the study's training articles."""
    from polyret.experiments.config import ExperimentConfig
    from polyret.experiments.debias_rows import study_reference

    if str(fit_on) == DEFAULT_FIT:
        config = ExperimentConfig()
        config.evaluation = replace(config.evaluation, with_context=with_context)
        return study_reference(config, data_dir=data_dir)
    return Reference.from_qa(reference_items(fit_on), {"source": str(fit_on)}, with_context=with_context)


def reference_items(path: str | Path) -> list[ParallelQA]:
    """The QA records of a ``--fit-on`` / ``--debias-fit-on`` file.

    Raises:
        DataError: the file cannot be read, or holds no record to fit on.
    """
    items = load_qa_jsonl(path)
    if not items:
        raise DataError(path, "no QA records to fit on (an empty file)",
                        expected="JSON lines with questions and answers in two or more languages")
    return items


def model_card(model: str, spec: DebiasSpec, facts: dict, reference: dict) -> str:
    """The README.md of an exported model: what it is, what it was fitted on, how to load it."""
    return "\n".join([
        f"# {model} + LSAR (rank {facts['rank']})",
        "",
        f"`{model}` followed by a fixed linear layer (sentence-transformers `Dense`, identity activation, no bias, "
        "weights I - U Uᵀ) and `Normalize`: LSAR (Xie et al., EMNLP 2022) projects every embedding onto the "
        "orthogonal complement of a low-rank language subspace estimated from per-language mean embeddings. It "
        "needs no language labels at inference.",
        "",
        CARD_SIGNATURE,
        "",
        "## Fitted on",
        "",
        *(f"- {key}: {value}" for key, value in reference.items()),
        f"- method: {spec.label}; rank {facts['rank']}; {facts['texts']} texts (questions and answers) in "
        f"{', '.join(facts['languages'])}; fit time {facts['fit_seconds']} s",
        "",
        "## Usage",
        "",
        "```python",
        "from sentence_transformers import SentenceTransformer",
        "model = SentenceTransformer(\"path/to/this/directory\")",
        "```",
        "",
    ])


def debias_reference(
    suite: SuiteConfig, specs: list[DebiasSpec], fit_on: Path | None, transductive: bool, data_dir: Path | None
) -> Reference | None:
    """What ``polyret evaluate --debias`` fits on: ``--debias-fit-on``, the unevaluated XQuAD-R articles, or
    nothing (``None``) when fitting on each task's test pool.

    Raises:
        UsageError: both a file and ``--debias-transductive``, or a reference that overlaps the test data.
    """
    if not specs:
        if fit_on is not None or transductive:
            raise UsageError("--debias-fit-on and --debias-transductive need --debias METHOD")
        return None
    if transductive:
        if fit_on is not None:
            raise UsageError("give either --debias-fit-on or --debias-transductive, not both")
        return None
    if fit_on is None:
        return unused_articles_reference(suite, data_dir=data_dir)
    items = reference_items(fit_on)
    check_reference(items, [task.load(data_dir) for task in suite.tasks if isinstance(task, LareqaSpec)])
    return Reference.from_qa(items, {"source": str(fit_on)}, with_context=suite.with_context)


def debiased_results(runs: list[DebiasedRun]) -> dict[str, TaskResult]:
    """Each method's results as extra tasks ``"<task> + <method>"``, with how the method was fitted in details."""
    extra = {}
    for run in runs:
        for task, result in run.results.items():
            result.details["debias"] = run.fit
            extra[f"{task} + {run.label}"] = result
    return extra
