"""polyret's metrics beside mteb's where the two define them differently, on the same model and data.

- LAReQA (XQuAD-R): polyret's full-pool average precision (``multi.map``: every relevant item's rank in the whole
  pool) vs mteb's ``map_at_1000`` (relevant items ranked below 1,000 count as not retrieved); ``ndcg_at_10`` is
  printed beside polyret's ``multi.ndcg@10``, which it should equal.
- CLSD WMT19: polyret's accuracy (the true translation beats its own row's four distractors; every text encoded as
  a query) vs mteb's ``recall_at_1`` (the true translation is the nearest of every row's candidates of that
  direction; candidates encoded as documents).

Both come from one run: the mteb forms of the tasks (:mod:`polyret.evaluation.mteb_tasks`) encode through the
suite's embedding store, so each (role, text) is encoded once.

    python benchmarks/mteb_metric_gap.py --data-dir ../shared/data                      # whole XQuAD-R and CLSD
    python benchmarks/mteb_metric_gap.py --data-dir ../shared/data --xquad-articles 8 --clsd-rows 300
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
from eval_speed import timed

from polyret.evaluation.suite import ClsdSpec, LareqaSpec, SuiteConfig, run_tasks, suite_context


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="multilingual-e5-small", help="alias or model directory")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--xquad-articles", type=int, default=None, help="first N XQuAD-R articles (default: all)")
    parser.add_argument("--clsd-rows", type=int, default=None, help="first N CLSD WMT19 rows (default: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cache", default=None, help="embedding cache folder (default: in memory)")
    parser.add_argument("--only", choices=["xquad-r", "clsd-wmt19"], default=None, help="run one of the two tasks")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mteb import TaskResult

    from polyret.evaluation.mteb_results import write_suite_mteb_results
    from polyret.models.encoders import get_encoder

    suite = SuiteConfig("mteb-gap", (LareqaSpec("xquad-r", max_groups=args.xquad_articles),
                                     ClsdSpec(limit=args.clsd_rows, swap_analysis=False)), batch_size=args.batch_size)
    if args.only:
        suite = suite.select([args.only])
    encoder = get_encoder(args.model)
    ctx = suite_context(encoder, suite, data_dir=args.data_dir, cache_root=args.cache)
    own = timed(lambda: run_tasks(ctx, suite))
    with tempfile.TemporaryDirectory() as root:
        run = timed(lambda: write_suite_mteb_results(ctx, suite, encoder, root, source=args.model))
        mteb_results = {path.stem: TaskResult.from_disk(path) for path in run.value.tasks}
    print(f"model {args.model}; polyret {own.wall_s:.0f} s wall / {own.cpu_s:.0f} s CPU; "
          f"mteb forms {run.wall_s:.0f} s wall / {run.cpu_s:.0f} s CPU; {ctx.store.counts.encoded} texts encoded")
    if "xquad-r" in own.value:
        lareqa_gap(own.value["xquad-r"], mteb_results["PolyretXQuADRPooledRetrieval"])
    if "clsd-wmt19" in own.value:
        clsd_gap(own.value["clsd-wmt19"], mteb_results["CrossLingualSemanticDiscriminationWMT19"])


def _subsets(result) -> dict[str, dict]:
    return {scores["hf_subset"]: scores for scores in result.scores["test"]}


def lareqa_gap(own, result) -> None:
    """Per query language and macro: full-pool AP vs map_at_1000, nDCG@10 both ways."""
    subsets = _subsets(result)
    print(f"\nXQuAD-R pooled: {own.details['n_queries']} queries, pool of {own.details['n_passages']} sentences")
    print("lang  polyret AP  mteb map@1000  difference  polyret nDCG@10  mteb ndcg@10")
    for lang, scores in subsets.items():
        mine, theirs = own.details["multi_by_lang"][lang], scores["map_at_1000"]
        print(f"{lang:5} {mine['map']:10.4f} {theirs:14.4f} {mine['map'] - theirs:+11.4f}"
              f" {mine['ndcg@10']:16.4f} {scores['ndcg_at_10']:13.4f}")
    mean_map = float(np.mean([s["map_at_1000"] for s in subsets.values()]))
    print(f"macro {own.scores['multi.map']:10.4f} {mean_map:14.4f} {own.scores['multi.map'] - mean_map:+11.4f}")


def clsd_gap(own, result) -> None:
    """Per direction and mean: polyret accuracy vs mteb recall_at_1."""
    subsets = _subsets(result)
    print("\nCLSD WMT19  polyret acc  mteb recall@1  difference   items")
    for direction, subset in (("de-fr", "deu-fra"), ("fr-de", "fra-deu")):
        acc, recall = own.scores[f"{direction}.acc"], subsets[subset]["recall_at_1"]
        print(f"{direction:10} {acc:12.4f} {recall:14.4f} {acc - recall:+11.4f} {own.details['n_items'][direction]:7}")
    mean_recall = float(np.mean([s["recall_at_1"] for s in subsets.values()]))
    print(f"{'mean':10} {own.scores['acc']:12.4f} {mean_recall:14.4f} {own.scores['acc'] - mean_recall:+11.4f}")


if __name__ == "__main__":
    main()
