"""CLI: ``polyret debias`` — build LSAR into a model directory."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from polyret.cli.console import console, err_console, stage, text_column, warn
from polyret.cli.options import DataDirOption
from polyret.debias import DebiasSpec, parse_spec
from polyret.debias.export import CARD_SIGNATURE
from polyret.errors import ModelError, UsageError
from polyret.evaluation.debiased import REFERENCE_ARTICLES, Reference, fit_method, reference_articles
from polyret.evaluation.run import reference_items
from polyret.models.backends import InferenceBackend, missing_runtime
from polyret.models.protocol import Encoder, Role

DEFAULT_FIT = "default"
FAST_BACKEND = InferenceBackend("openvino", "bf16")
"""What ``polyret debias`` encodes its reference with when OpenVINO is installed (else torch fp32)."""
CHUNK_BATCHES = 8
"""Encoder batches per progress update."""
PLAIN_EVERY_S = 10.0
"""Seconds between two plain progress lines when standard error is not a terminal."""


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
    reference_articles_opt: Annotated[
        int | None, typer.Option("--reference-articles", min=1, help="With --fit-on default: fit on the first N "
                                 f"training articles (default: {REFERENCE_ARTICLES['lsar']}, what LSAR needs; "
                                 "see docs/debias.md).")
    ] = None,
    data_dir_opt: DataDirOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Encoder batch size.")] = 32,
    no_context: Annotated[
        bool, typer.Option("--no-context", help="Encode reference answers without their paragraph.")
    ] = False,
    device: Annotated[str | None, typer.Option(help="Torch device (cpu, cuda, ...); default: automatic.")] = None,
    backend: Annotated[
        str | None, typer.Option(help="Backend encoding the reference: torch, onnx or openvino (default: openvino "
                                 "bf16 when installed, else torch fp32). The written model runs on torch.")
    ] = None,
    precision: Annotated[
        str | None, typer.Option(help="fp32 or bf16 (default: bf16 with openvino, else fp32).")
    ] = None,
) -> None:
    """Fit LSAR on reference texts and write MODEL + a fixed projection layer as a sentence-transformers model."""
    from polyret.debias.export import check_export_dir, export_model
    from polyret.evaluation.store import EmbeddingStore
    from polyret.models.encoders import SentenceTransformerEncoder, get_encoder
    from polyret.settings import cache_dir

    spec = exportable_spec(method, rank)
    check_export_dir(output_dir)
    chosen = reference_backend(backend, precision, device)
    articles = reference_articles_opt or reference_articles([spec])
    stage(f"reading the reference texts ({fit_on})")
    reference = fit_reference(fit_on, with_context=not no_context, data_dir=data_dir_opt, articles=articles)
    stage(f"reference: {reference.description['texts']} texts ({reference.summary})")
    stage(f"loading {model} (encoding on {chosen.label})")
    encoder = get_encoder(model, device=device, backend=chosen, warn=warn)
    if not isinstance(encoder, SentenceTransformerEncoder):
        raise ModelError(f"{model!r} is not a sentence-transformers model; only those can be exported")
    store = EmbeddingStore(ReportingEncoder(encoder, batch_size), cache_dir() / "embeddings")
    vectors, languages = reference.embed(store, batch_size)
    stage(f"encoded {store.counts.encoded} texts, {store.counts.cached} read from the embedding cache")
    fitted, facts = fit_method(spec, vectors, languages)
    card = model_card(model, spec, facts, reference.description | {"encoded_with": chosen.label})
    stage(f"writing {output_dir}")
    export_model(encoder.model, fitted.projection(), output_dir, card=card)
    console.print(
        f"wrote {output_dir}: {model} + LSAR rank {facts['rank']} fitted on {facts['texts']} "
        f"texts in {len(facts['languages'])} languages ({facts['fit_seconds']:.3f} s); load it with "
        f"SentenceTransformer({str(output_dir)!r})"
    )


def exportable_spec(method: str, rank: int | None) -> DebiasSpec:
    """The method to build into a model, refusing one that needs the language of every text.

    Raises:
        UsageError: an unknown method, or one needing language labels (evaluation-time only).
    """
    spec = parse_spec(method if rank is None else f"{method}:{rank}")
    if spec.needs_languages:
        when = "index time (not at query time)" if spec.method == "shift" else "query and index time"
        raise UsageError(
            f"{spec.method} needs the language of every text at {when}, which a model cannot be given, so it cannot "
            f"be built into a model; it is evaluation-time only (polyret evaluate --debias {spec.method}); use "
            "--method lsar"
        )
    return spec


def reference_backend(backend: str | None, precision: str | None, device: str | None) -> InferenceBackend:
    """The backend named, else OpenVINO bf16 on a CPU where it is installed, else torch fp32."""
    if backend is not None:
        return InferenceBackend(backend, precision or "fp32")
    on_cpu = device is None or device == "cpu"
    fast = on_cpu and missing_runtime(FAST_BACKEND.backend) is None and precision in (None, FAST_BACKEND.precision)
    return FAST_BACKEND if fast else InferenceBackend("torch", precision or "fp32")


class ReportingEncoder:
    """An encoder that shows its progress on standard error: a live bar on a terminal, else a plain line every
    :data:`PLAIN_EVERY_S` seconds. Texts are encoded longest first in chunks of a few batches (same vectors, same
    name and fingerprint as the inner encoder)."""

    def __init__(self, encoder: Encoder, batch_size: int):
        self.inner = encoder
        self.name = encoder.name
        self.chunk = batch_size * CHUNK_BATCHES

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def encode(self, texts: Sequence[str], role: Role, *, batch_size: int = 32, show_progress: bool = False
               ) -> np.ndarray:
        if len(texts) <= 1:  # the store's dimension probe: nothing worth a progress line
            return self.inner.encode(texts, role, batch_size=batch_size)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        vectors = np.empty((0, 0), np.float32)
        with ProgressLines(f"encoding {len(texts)} {role} texts", len(texts)) as advance:
            for start in range(0, len(texts), self.chunk):
                rows = order[start : start + self.chunk]
                part = self.inner.encode([texts[i] for i in rows], role, batch_size=batch_size)
                vectors = np.empty((len(texts), part.shape[1]), np.float32) if not vectors.size else vectors
                vectors[rows] = part
                advance(len(rows))
        return vectors


class ProgressLines:
    """A progress display for ``total`` items: rich bar on a terminal, plain lines otherwise."""

    def __init__(self, description: str, total: int):
        self.description, self.total, self.done = description, total, 0
        self.started = self.last = time.monotonic()
        self.bar = None
        if err_console.is_terminal:
            self.bar = Progress(text_column("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=err_console, transient=True)
            self.task = self.bar.add_task(description, total=total)
        else:
            stage(f"{description} ...")

    def __enter__(self) -> Callable[[int], None]:
        if self.bar is not None:
            self.bar.start()
        return self.advance

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.bar is not None:
            self.bar.advance(self.task, count)
        elif now - self.last >= PLAIN_EVERY_S or self.done == self.total:
            self.last = now
            stage(f"{self.description}: {self.done}/{self.total} ({now - self.started:.0f} s)")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def fit_reference(fit_on: str | Path, *, with_context: bool, data_dir: Path | None,
                  articles: int | None = None) -> Reference:
    """The reference texts named by ``--fit-on``: a QA JSONL file, or the first ``articles`` of the study's
    training articles (``None``: all)."""
    from polyret.experiments.config import ExperimentConfig
    from polyret.experiments.debias_rows import study_reference

    if str(fit_on) == DEFAULT_FIT:
        config = ExperimentConfig(debias_reference_articles=articles)
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

