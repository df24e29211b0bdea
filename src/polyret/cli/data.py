"""CLI: ``polyret data`` — list, fetch and verify the public data sets; check a user's own data file; prepare a
training corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn
from rich.table import Table

from polyret import settings
from polyret.cli.console import console, styled, text_column, warn
from polyret.cli.options import DataDirOption, config_options
from polyret.data import registry
from polyret.data.check import check_file
from polyret.data.user_tasks import FORMATS
from polyret.errors import DataError, UsageError
from polyret.training.negative_selection import MiningOptions


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to ``app``."""
    group = typer.Typer(help="Public data sets (list, fetch, verify) and checks of your own data files.")
    group.command("list")(list_datasets)
    group.command("fetch")(fetch)
    group.command("verify")(verify)
    group.command("check")(check)
    group.command("prepare")(prepare)
    group.command("mine-negatives")(mine_negatives)
    app.add_typer(group, name="data")


def list_datasets(data_dir: DataDirOption = None) -> None:
    """Show the registered data sets, their licence and how many of their files are local."""
    table = Table("name", "files", "licence", "local", "description")
    for spec in registry.DATASETS.values():
        local = sum(registry.local_file(spec, rel, data_dir) is not None for rel in spec.files)
        table.add_row(spec.name, str(len(spec.files)), spec.licence, f"{local}/{len(spec.files)}", spec.description)
    console.print(table)
    console.print(f"data directory: {settings.data_dir(data_dir)}")


def fetch(
    name: Annotated[str, typer.Argument(help="Registered data set (see `polyret data list`).")],
    data_dir: DataDirOption = None,
) -> None:
    """Download the missing files of a data set (checked against their sha256) into the data directory."""
    spec = registry.get_dataset(name)
    with _progress() as progress:
        task = progress.add_task(f"fetch {name}", total=len(spec.files), file="")
        paths = registry.fetch(name, data_dir, on_file=lambda rel: progress.update(task, advance=1, file=rel))
    console.print(f"{name}: {len(paths)} file(s) in {settings.data_dir(data_dir) / spec.folder}")


def verify(
    data_dir: DataDirOption = None,
    dataset: Annotated[list[str] | None, typer.Option(help="Only these data sets (repeatable).")] = None,
) -> None:
    """Check every local data file against its registered sha256; exit 3 on a missing, changed or corrupt file."""
    root = settings.data_dir(data_dir)
    if not root.is_dir():
        raise UsageError(f"{root}: data directory not found" + (" (it is a file)" if root.exists() else ""))
    names = dataset or list(registry.DATASETS)
    total = sum(len(registry.get_dataset(n).files) for n in names)
    with _progress() as progress:
        task = progress.add_task("verify", total=total, file="")
        results = registry.verify(
            data_dir, datasets=names, on_file=lambda rel: progress.update(task, advance=1, file=rel)
        )
    bad = [r for r in results if r.status != "ok"]
    for result in bad:
        console.print(styled(f"{result.status}:", "red"), f"{result.dataset}/{result.relpath} {result.detail}",
                      soft_wrap=True)
    checked = sorted({r.dataset for r in results})
    console.print(f"{len(results) - len(bad)} of {len(results)} file(s) ok in {', '.join(checked) or 'no data set'}")
    if bad:
        raise DataError(settings.data_dir(data_dir), f"{len(bad)} file(s) missing or failing their checksum")


def check(
    path: Annotated[Path, typer.Argument(help="The file to check.")],
    format: Annotated[
        str | None, typer.Option(help=f"One of {', '.join(FORMATS)} (default: from the file name).")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many problems.")] = 20,
    data_dir: DataDirOption = None,
) -> None:
    """Validate a data file: count its records and languages and list every problem; exit 3 on problems.

    A PATH that does not exist as given is looked up below the data directory (e.g. ``xquad-r/de.json.gz``).
    """
    if not path.exists() and not path.is_absolute():
        path = settings.data_dir(data_dir) / path
    report = check_file(path, format, limit=limit)
    console.print(f"{report.path}: {report.format}, {report.records} record(s)")
    if report.languages:
        console.print(f"languages: {', '.join(report.languages)}")
    for lang, share in report.coverage.items():
        console.print(f"  {lang}: {share:.1%} of the records")
    if report.padded:
        console.print(f"note: {report.padded} text(s) start or end with white space (kept as written)")
    for reason, count in report.skipped.items():
        console.print(f"skipped (left out of evaluation): {count} {reason}")
    for problem in report.problems:
        console.print(styled("problem:", "red"), str(problem), soft_wrap=True)
    if not report.ok:
        raise DataError(path, f"{report.problem_count} problem(s) found (showing {len(report.problems)})")
    console.print(styled("no problems found", "green"))


def prepare(
    sources: Annotated[list[Path], typer.Argument(help="QA JSONL files (.gz too), saved data set or Parquet "
                                                  "folders, or mMARCO-layout folders; their rows follow each other.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The corpus folder to write (replaced if it holds "
                                         "a prepared corpus).")],
    rows_per_shard: Annotated[int, typer.Option(min=1, help="Rows per Arrow shard file.")] = 500_000,
    batch_rows: Annotated[int, typer.Option(min=1, help="Rows held in memory at once.")] = 4096,
    max_negatives: Annotated[int, typer.Option(min=0, help="mMARCO: negatives kept per (query, positive).")] = 8,
    allow_unknown_languages: Annotated[
        bool, typer.Option(help="Keep language codes polyret does not know instead of stopping.")
    ] = False,
) -> None:
    """Turn training data into a prepared corpus: memory-mapped Arrow shards, answer keys and a manifest.

    Memory stays bounded whatever the size of the input; an interrupted run leaves no folder that training accepts
    (run the command again to start over). See docs/data.md.
    """
    from polyret.data.prepare import open_source, prepare_corpus  # pyarrow and scipy: only this command needs them

    opened = [open_source(path, allow_unknown_languages=allow_unknown_languages, max_negatives=max_negatives)
              for path in sources]
    with Progress(SpinnerColumn(), text_column("{task.description}"), text_column("{task.completed:,} rows"),
                  console=console, transient=True) as progress:
        task = progress.add_task(f"prepare {output}", total=None)
        corpus = prepare_corpus(opened, output, rows_per_shard=rows_per_shard, batch_rows=batch_rows,
                                on_record=lambda rows: progress.update(task, completed=rows))
    console.print(f"{output}: {len(corpus):,} rows, languages {', '.join(corpus.languages)}, "
                  f"{len(corpus.manifest['shards'])} shard(s), digest {corpus.digest[:12]}")


@config_options(MiningOptions)
def mine_negatives(
    corpus: Annotated[Path, typer.Argument(help="A prepared corpus (polyret data prepare).")],
    model: Annotated[str, typer.Option(help="Encoder: model directory, Hub name or alias (multilingual-e5-small).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The new corpus folder (replaced if it holds a "
                                         "prepared corpus; not CORPUS itself).")],
    device: Annotated[str | None, typer.Option(help="Torch device (cpu, cuda, ...); default: automatic.")] = None,
    backend: Annotated[
        str | None, typer.Option(help="Encoding backend: torch, onnx or openvino (default: openvino bf16 when "
                                 "installed, else torch fp32).")
    ] = None,
    precision: Annotated[str | None, typer.Option(help="fp32 or bf16 (default: bf16 with openvino, else fp32).")]
    = None,
    *,
    overrides: dict[str, Any],
) -> None:
    """Mine hard negatives for every row of CORPUS with an encoder and FAISS, per language, into a new corpus.

    A row's negatives in language Y are the answers in Y nearest to its question that share no answer with it
    (never its own answer, a translation of it, or a text sharing its answer key), picked with the options of
    sentence-transformers' mine_hard_negatives. Train on them with --hard-negatives K. See docs/data.md.
    """
    from polyret.cli.debias import reference_backend
    from polyret.data.corpus import PreparedCorpus
    from polyret.models.encoders import get_encoder
    from polyret.schema import build_dataclass
    from polyret.training.mining import mine_negatives as mine  # torch and faiss: only this command needs them

    options = build_dataclass(MiningOptions, overrides)
    options.check()
    source = PreparedCorpus.open(corpus)
    encoder = get_encoder(model, device=device, backend=reference_backend(backend, precision, device), warn=warn)
    with Progress(SpinnerColumn(), text_column("{task.description}"), console=console, transient=True) as progress:
        task = progress.add_task(f"mine {corpus}", total=None)
        mined, report = mine(source, encoder, output, options,
                             on_stage=lambda line: progress.update(task, description=line))
    for lang, found in report["languages"].items():
        short = f", {found['short']:,} with fewer than {options.num_negatives}" if found["short"] else ""
        console.print(f"  {lang}: {found['rows']:,} rows mined{short}")
    console.print(f"{output}: {len(mined):,} rows with up to {options.num_negatives} mined negatives per language "
                  f"({model}), digest {mined.digest[:12]}")


def _progress() -> Progress:
    return Progress(
        text_column("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        text_column("{task.fields[file]}"),
        console=console,
        transient=True,
    )
