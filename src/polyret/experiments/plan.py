"""The plan of a study (``polyret experiment --dry-run``): what would run, on how much data, for how long, and how
small a difference each task could detect. Data are loaded and split (the leakage check included); no model is
loaded, nothing is trained or encoded.

Time: the costs of this machine measured from finished arms — seconds per training pair (``train_wall_s`` over
steps x batch size) and per encoded text (``eval_wall_s`` over ``eval_texts``) — read from the ``results.json`` of
every arm of the study folder and of the study folders beside it, for the same base model and sequence length
(median). Without such arms the estimate is "unknown".

Detectable effect per task: ``MDE ≈ 2.8·√(sd(d)²/n + 2·σ²/S)`` (80% power, level 0.05; :data:`MDE_FACTOR`) with
``n`` items, ``S`` seeds, ``sd(d)`` the SD of per-item differences and ``σ`` the seed SD of the task score. Both are
taken from the earlier ``results.json`` of the study folder, else of the first study folder beside it that has them
(sd(d) does not depend on the number of items, so a small pilot study measures it); otherwise ``sd(d)`` is assumed
(:data:`ASSUMED_DISAGREEMENT` for 0/1 scores, :data:`ASSUMED_AP_SD` for per-query AP) and the seed term is left out.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from polyret.errors import PolyretError
from polyret.evaluation.catalog import CATALOG
from polyret.evaluation.significance import detectable_effect
from polyret.experiments.analysis import ACCURACY_METRICS
from polyret.experiments.arm_result import COSTS_SHAPE, RESULTS_FILE
from polyret.experiments.arms import ArmSpec, config_hash, expand_arms, resolved_arm_config
from polyret.experiments.config import ExperimentConfig
from polyret.experiments.study_data import StudyData, dropped_languages_line, prepare_study_data
from polyret.experiments.task_reuse import find_donor
from polyret.io import read_json
from polyret.schema import ListOf, MapOf, Nullable, Number, Record, check_shape

ARMS_DIR = "arms"
MDE_FACTOR = detectable_effect(1.0)
ASSUMED_DISAGREEMENT = 0.06
"""Share of items on which two arms disagree (0/1 scores) when no earlier results give it (docs/experiment.md)."""
ASSUMED_AP_SD = 0.15
"""SD of per-query AP differences between two arms when no earlier results give it (an assumption)."""
UNREGISTERED_MAIN_METRIC = "p@1"
"""Main metric assumed for a task outside the catalog (a user's task file)."""


def plan_study(config: ExperimentConfig, *, output_dir: str | Path, data_dir: str | Path | None = None) -> dict:
    """The plan of ``config`` run into ``output_dir``, as JSON data (see :func:`render_plan`).

    Raises:
        UsageError / DataError: from loading and splitting the data (a leak stops the plan as it would the study).
    """
    output_dir = Path(output_dir)
    study = prepare_study_data(config, data_dir=data_dir)
    runs = [_run_status(config, arm, study, output_dir) for arm in expand_arms(config)]
    training = config.training
    costs = measured_costs(output_dir, config.base_model, training.max_seq_length,
                           backend=config.evaluation.inference_backend().label)
    prior = _prior_results(output_dir)
    to_train = sum(run["trained"] and not run["finished"] for run in runs)
    to_evaluate = [run for run in runs if not run["finished"]]
    train_s = None if costs["train_s_per_pair"] is None else \
        to_train * training.max_steps * training.batch_size * costs["train_s_per_pair"]
    own_model = [run for run in to_evaluate if not run["reference"]]
    texts = [run["texts"] for run in own_model]
    eval_s = None if costs["eval_s_per_text"] is None or None in texts else \
        sum(texts) * costs["eval_s_per_text"]
    return {
        "name": config.name,
        "output_dir": str(output_dir),
        "runs": runs,
        "seeds": list(config.seeds),
        "training": {
            "questions": len(study.train),
            "pairs_per_language": _pairs_per_language(study),
            "max_steps": training.max_steps,
            "batch_size": training.batch_size,
            "max_seq_length": training.max_seq_length,
        },
        "leakage": study.leakage_summary(),
        "tasks": _task_plans(study, prior, len(config.seeds)),
        "costs": costs,
        "estimate_s": {"train": train_s, "evaluate": eval_s,
                       "total": None if train_s is None or eval_s is None else train_s + eval_s,
                       "references_not_estimated": len(to_evaluate) - len(own_model)},
    }


def _run_status(config: ExperimentConfig, arm: ArmSpec, study: StudyData, output_dir: Path) -> dict[str, Any]:
    """Whether the run is finished, which tasks it can borrow from an earlier run of its model (when training
    again gives that model), and the texts it still has to encode."""
    resolved = resolved_arm_config(config, arm, eval_inputs=study.eval_inputs, train_inputs=study.train_inputs)
    folder = output_dir / ARMS_DIR / f"{arm.run_name}-{config_hash(resolved)}"
    finished = (folder / RESULTS_FILE).is_file()
    donor = None if finished else find_donor(output_dir / ARMS_DIR, arm.run_name, resolved, study.suite.task_names)
    borrows = [] if donor is None else list(donor.tasks)
    todo = [] if finished else [name for name in study.suite.task_names if name not in borrows]
    return {"run": arm.run_name, "trained": arm.trained, "reference": arm.model is not None, "finished": finished,
            "borrows": borrows, "texts": study.texts_of(todo)}


def _pairs_per_language(study: StudyData) -> dict[str, int]:
    """Training items with both a question and an answer in each language (the monolingual pairs)."""
    counts: dict[str, int] = {}
    for qa in study.train:
        for lang in qa.questions.keys() & qa.answers.keys():
            counts[lang] = counts.get(lang, 0) + 1
    return dict(sorted(counts.items()))


def measured_costs(
    output_dir: Path, base_model: str, max_seq_length: int | None, *, backend: str = "torch-fp32"
) -> dict[str, Any]:
    """Median seconds per training pair and per encoded text over finished arms of ``base_model`` at
    ``max_seq_length`` (texts: encoded on ``backend``, e.g. ``openvino-bf16``), in ``output_dir`` and the study
    folders beside it (``None`` where none was measured)."""
    per_pair, per_text, sources = [], [], set()
    for path in sorted({*output_dir.glob(f"{ARMS_DIR}/*/{RESULTS_FILE}"),
                        *output_dir.parent.glob(f"*/{ARMS_DIR}/*/{RESULTS_FILE}")}):
        arm = _read(path, COSTS_SHAPE)
        config, info = arm.get("config", {}), arm.get("info", {})
        if config.get("base_model") != base_model:
            continue
        training = config.get("training") or {}
        if training and training.get("max_seq_length") == max_seq_length and info.get("train_steps"):
            per_pair.append(info["train_wall_s"] / (info["train_steps"] * training["batch_size"]))
            sources.add(path.parent.parent.parent.name)
        if info.get("eval_texts") and info.get("eval_wall_s") and info.get("backend", "torch-fp32") == backend:
            per_text.append(info["eval_wall_s"] / info["eval_texts"])
            sources.add(path.parent.parent.parent.name)
    return {
        "train_s_per_pair": statistics.median(per_pair) if per_pair else None,
        "eval_s_per_text": statistics.median(per_text) if per_text else None,
        "measured_runs": {"train": len(per_pair), "evaluate": len(per_text)},
        "from_studies": sorted(sources),
    }


_PRIOR_STUDY = Record({}, {
    "comparisons": MapOf(MapOf(Record({}, {"sd_difference": Nullable(Number)}, open=True))),
    "table": Record({}, {"columns": ListOf(Record({"id": str, "task": str, "key": str}, open=True)),
                         "rows": ListOf(Record({}, {"sd": Nullable(MapOf(Nullable(Number)))}, open=True))}, open=True),
}, open=True)
"""The parts of an earlier study's results.json the plan reads (a file of another shape counts as absent)."""


def _read(path: Path, shape: Any) -> dict[str, Any]:
    """A stored result as raw JSON, checked against ``shape`` (an unreadable one counts as absent)."""
    try:
        data = read_json(path)
        check_shape(data, shape, path)
    except PolyretError:
        return {}
    return data


def _prior_results(output_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """Earlier study summaries: the study folder's own first, then those of the study folders beside it."""
    paths = [output_dir / RESULTS_FILE, *sorted(output_dir.parent.glob(f"*/{RESULTS_FILE}"))]
    found = dict.fromkeys(path.resolve() for path in paths if path.is_file())
    return [(path.parent.name, _read(path, _PRIOR_STUDY)) for path in found]


def _task_plans(study: StudyData, prior: list[tuple[str, dict[str, Any]]], seeds: int) -> list[dict[str, Any]]:
    plans = []
    for name, size in study.sizes.items():
        metric = _main_metric(name)
        plan: dict[str, Any] = {"task": name, "metric": metric, "items": None if size is None else size.items,
                                "texts": None if size is None else size.texts}
        sd_d, source = _prior_sd_difference(prior, name)
        if sd_d is None:
            accuracy = metric.rsplit(".", 1)[-1] in ACCURACY_METRICS
            sd_d = math.sqrt(ASSUMED_DISAGREEMENT) if accuracy else ASSUMED_AP_SD
            source = (f"assumed: arms disagree on {ASSUMED_DISAGREEMENT:.0%} of items" if accuracy
                      else f"assumed: sd of per-query AP differences {ASSUMED_AP_SD}")
        seed_sd = _prior_seed_sd(prior, name)
        if size is not None and size.items:
            variance = sd_d**2 / size.items + (2 * seed_sd**2 / seeds if seed_sd is not None else 0.0)
            plan["mde"] = MDE_FACTOR * math.sqrt(variance)
        plan |= {"sd_difference": sd_d, "sd_source": source, "seed_sd": seed_sd,
                 "dropped_languages": study.dropped_languages.get(name, [])}
        plans.append(plan)
    return plans


def _prior_sd_difference(prior: list[tuple[str, dict[str, Any]]], task: str) -> tuple[float | None, str]:
    for study, summary in prior:
        values = [cell["sd_difference"] for cells in summary.get("comparisons", {}).values()
                  for name, cell in cells.items() if name == task and cell.get("sd_difference") is not None]
        if values:
            return statistics.median(values), f"median of {len(values)} comparisons of study {study}"
    return None, ""


def _main_metric(task: str) -> str:
    """The main metric of a registered task (its kind's), else :data:`UNREGISTERED_MAIN_METRIC`."""
    meta = CATALOG.get(task)
    return meta.kind.main_score if meta is not None else UNREGISTERED_MAIN_METRIC


def _prior_seed_sd(prior: list[tuple[str, dict[str, Any]]], task: str) -> float | None:
    metric = _main_metric(task)
    for _study, summary in prior:
        table = summary.get("table", {})
        columns = [c["id"] for c in table.get("columns", []) if c["task"] == task and c["key"] == metric]
        values = [row["sd"][c] for row in table.get("rows", []) for c in columns
                  if (row.get("sd") or {}).get(c) is not None]
        if values:
            return statistics.median(values)
    return None


def render_plan(plan: dict[str, Any]) -> str:
    """The plan as plain text lines (for the terminal)."""
    training, estimate, costs = plan["training"], plan["estimate_s"], plan["costs"]
    runs = plan["runs"]
    lines = [
        f"Plan of study {plan['name']!r} (output {plan['output_dir']}); nothing is trained or encoded.",
        f"Runs: {len(runs)} ({sum(r['trained'] for r in runs)} trained: arms x seeds {plan['seeds']}); "
        f"finished already: {sum(r['finished'] for r in runs)}.",
        "  " + ", ".join(r["run"] + _run_note(r) for r in runs),
        f"Training: {training['questions']} questions; pairs per language: "
        + ", ".join(f"{lang} {n}" for lang, n in training["pairs_per_language"].items()),
        f"Step budget per trained run: {training['max_steps']} steps x {training['batch_size']} pairs "
        f"(max length {training['max_seq_length']}).",
        _leakage_text(plan["leakage"]),
        "Tasks (items for the main metric; MDE = smallest difference found with 80% power at p < 0.05):",
    ]
    for task in plan["tasks"]:
        mde = f"MDE {task['mde']:.4f}" if task.get("mde") is not None else "MDE unknown"
        seed = f", seed SD {task['seed_sd']:.4f}" if task["seed_sd"] is not None else ", seed SD not included"
        size = ("size not counted before evaluation" if task["items"] is None
                else f"{task['items']} items, {task['texts']} texts")
        lines.append(f"  {task['task']}: {size}, {task['metric']}: {mde} "
                     f"(sd(d) {task['sd_difference']:.3f}, {task['sd_source']}{seed})")
        if task.get("dropped_languages"):
            lines.append(f"    {dropped_languages_line(task['task'], task['dropped_languages'])}")
    lines.append(_estimate_text(estimate, costs))
    return "\n".join(lines)


def _leakage_text(leakage: dict[str, Any]) -> str:
    return (f"Leakage check: {leakage['leaked_questions']} questions and {leakage['leaked_answers']} answers leak"
            f"{' (allowed)' if leakage['allowed'] else ''}; {leakage['short_overlaps_ignored']} of "
            f"{leakage['short_texts_ignored']} texts under {leakage['min_word_chars']} word characters occur in the "
            "test data and are ignored.")


def _estimate_text(estimate: dict[str, Any], costs: dict[str, Any]) -> str:
    def fmt(seconds: float | None) -> str:
        return "unknown" if seconds is None else f"{seconds / 60:.0f} min"

    measured = (f"measured from {costs['measured_runs']['train']} trained and "
                f"{costs['measured_runs']['evaluate']} evaluated arms of {', '.join(costs['from_studies'])}"
                if costs["from_studies"] else "no finished arms of this base model and length to measure from")
    text = (f"Estimated time: training {fmt(estimate['train'])}, evaluation {fmt(estimate['evaluate'])}, total "
            f"{fmt(estimate['total'])} ({measured})")
    if estimate["references_not_estimated"]:
        text += f"; {estimate['references_not_estimated']} reference encoder(s) not estimated"
    return text + "."


def _run_note(run: dict[str, Any]) -> str:
    if run["finished"]:
        return " (finished)"
    return f" (borrows {', '.join(run['borrows'])})" if run.get("borrows") else ""
