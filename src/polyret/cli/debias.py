"""CLI: ``polyret debias`` — build LSAR into a model directory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from polyret.cli.console import console
from polyret.cli.options import DataDirOption
from polyret.debias import DebiasSpec, parse_spec
from polyret.debias.export import CARD_SIGNATURE
from polyret.errors import ModelError, UsageError
from polyret.evaluation.debiased import Reference, fit_method
from polyret.evaluation.run import reference_items

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

