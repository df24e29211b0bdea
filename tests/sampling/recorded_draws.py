"""The batch draws the samplers must keep: cases, their digest, and the recorder of ``fixtures/recorded_draws.json``.

Each case is one sampler on one data set (the quick and standard studies' XQuAD-R training folds, and a synthetic
partially aligned set whose questions share answers); its record is every batch of epochs 0 and 1 written as
``plan<TAB>id:x:y,...`` lines, hashed, plus the first batches in clear, the epoch length, the usable and unused pair
counts and the sampler fingerprint. ``python -m tests.sampling.recorded_draws`` rewrites the fixture (with
``POLYRET_DATA_DIR`` set); the fixture in the repository was recorded before the samplers stopped materialising
pairs, so the test that reads it shows that the draw did not change.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from polyret.data.records import ParallelQA

FIXTURE = Path(__file__).with_name("fixtures") / "recorded_draws.json"
EPOCHS = (0, 1)
SHOWN_BATCHES = 2
HELD_OUT = ("el", "vi")

DESIGNS: dict[str, dict[str, Any]] = {
    "monolingual": {"kind": "monolingual"},
    "cross_lingual": {"kind": "cross_lingual"},
    "cross_per_example": {"kind": "cross_lingual", "per_example_pairs": True},
    "hybrid": {"kind": "hybrid", "alpha": 0.5},
    "hybrid_a0.25_proportional": {"kind": "hybrid", "alpha": 0.25, "weighting": "proportional"},
    "mixed": {"kind": "mixed"},
    "english": {"kind": "english"},
    "st_default": {"kind": "st_default"},
    "multi_positive": {"kind": "multi_positive", "positives_per_query": 4},
}


def synthetic_records() -> list[ParallelQA]:
    """60 questions in 2-5 of five languages; every third pair of questions shares its answer sentence."""
    langs = ("ar", "de", "en", "es", "zh")
    records = []
    for index in range(60):
        present = [lang for step, lang in enumerate(langs) if (index * 7 + step * 3) % 5 < 3 or lang == "en"]
        sentence = index // 6 if index % 3 == 0 else 1000 + index
        records.append(ParallelQA(f"s{index}", {lang: f"q{index} {lang}" for lang in present},
                                  {lang: f"sentence {sentence} {lang}" for lang in present}))
    return records


def study_records(folds: int, data_dir: str | None = None) -> list[ParallelQA]:
    """The training questions of a study preset's XQuAD-R split (test fold 0, fold seed 0)."""
    from polyret.data.lareqa import load_lareqa, load_parallel_qa
    from polyret.data.splits import fold_groups, group_folds

    source = load_lareqa("xquad-r", data_dir=data_dir)
    train_groups, _ = fold_groups(group_folds([q.group for q in source.queries], folds, 0), 0)
    return load_parallel_qa("xquad-r", groups=train_groups, data_dir=data_dir)


def cases(data_dir: str | None = None) -> Iterator[tuple[str, list[ParallelQA], dict[str, Any]]]:
    """(name, records, sampler options) of every recorded case; options hold ``batch_size``, ``seed`` and
    ``exclude_languages`` besides the sampler's keywords."""
    quick, standard = study_records(16, data_dir), study_records(8, data_dir)
    for design, options in DESIGNS.items():
        yield f"quick/{design}", quick, {**options, "batch_size": 16, "seed": 13, "exclude_languages": HELD_OUT}
    for design in ("hybrid", "mixed", "cross_lingual"):
        yield (f"standard/{design}/seed42", standard,
               {**DESIGNS[design], "batch_size": 16, "seed": 42, "exclude_languages": HELD_OUT})
    yield "standard/hybrid/batch100", standard, {**DESIGNS["hybrid"], "batch_size": 100, "seed": 87,
                                                 "exclude_languages": HELD_OUT}
    synthetic = synthetic_records()
    for design, options in DESIGNS.items():
        options = {**options, "positives_per_query": 2} if design == "multi_positive" else options
        for world_size in (1, 2):
            yield (f"synthetic/{design}/ws{world_size}", synthetic,
                   {**options, "batch_size": 4, "seed": 5, "world_size": world_size, "exclude_languages": ()})


def record(sampler: Any, describe: Callable[[Any], list[str]]) -> dict[str, Any]:
    """The record of one sampler: ``describe(batch)`` writes each entry of a batch as ``id:x:y``."""
    out: dict[str, Any] = {"steps_per_epoch": sampler.steps_per_epoch, "fingerprint": sampler.fingerprint}
    for epoch in EPOCHS:
        plan = sampler.epoch_plan(epoch)
        lines = [f"{label}\t{','.join(describe(batch))}"
                 for label, batch in zip(plan.plans, plan.batches, strict=True)]
        out[f"epoch{epoch}"] = {
            "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
            "first_batches": lines[:SHOWN_BATCHES],
            "usable_pairs": plan.usable_pairs,
            "unused_pairs": plan.unused_pairs,
        }
    return out


def describe_pairs(table: Any) -> Callable[[Any], list[str]]:
    """``id:x:y`` of each pair code of a batch of ``table`` (a :class:`~polyret.sampling.PairTable`)."""

    def describe(batch: Any) -> list[str]:
        ids = table.alignment_ids(batch)
        return [f"{i}:{ref.query_lang}:{ref.passage_lang}" for i, ref in zip(ids, table.pairs(batch), strict=True)]

    return describe


def sampler_of(records: list[ParallelQA], options: dict[str, Any]) -> Any:
    """The sampler of one case."""
    from polyret.sampling import LanguageBatchSampler, PairTable

    options = dict(options)
    table = PairTable(records, exclude_languages=options.pop("exclude_languages"))
    return LanguageBatchSampler(table, options.pop("batch_size"), **options)


def main(data_dir: str | None = None) -> None:
    """Record every case with the samplers of this checkout."""
    records = {}
    for name, data, options in cases(data_dir):
        sampler = sampler_of(data, options)
        records[name] = record(sampler, describe_pairs(sampler.table))
        print(name, records[name]["steps_per_epoch"], file=sys.stderr)
    FIXTURE.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
