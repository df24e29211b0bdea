"""Reading a model from disk vs copying a kept one in memory (``polyret.models.loading.keep_loaded``).

A study starts every arm from its base model. Loads it ``--repeats`` times from disk and ``--repeats`` times as a
copy of one kept load, alternating, after one load that warms the imports and the file cache. Prints each run's wall
and CPU seconds, the ratio of the medians, and whether every copy has the fingerprint of a fresh load.

    python benchmarks/model_copy.py                      # multilingual-e5-small (prepared on first use)
    python benchmarks/model_copy.py --model path/to/model --repeats 5
"""

from __future__ import annotations

import argparse
import statistics

from eval_speed import timed

from polyret.models.loading import keep_loaded, load_sentence_transformer, model_fingerprint


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="multilingual-e5-small", help="alias or model directory")
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    reference = model_fingerprint(load_sentence_transformer(args.model, device="cpu"))
    disk, copies, same = [], [], True
    with keep_loaded(args.model):
        load_sentence_transformer(args.model, device="cpu")  # the one read that the copies come from
        for run in range(1, args.repeats + 1):
            loaded = timed(lambda: load_sentence_transformer(args.model, device="cpu"))
            with keep_loaded():  # nothing kept inside: a read from disk
                fresh = timed(lambda: load_sentence_transformer(args.model, device="cpu"))
            same = same and model_fingerprint(loaded.value) == model_fingerprint(fresh.value) == reference
            copies.append(loaded.wall_s)
            disk.append(fresh.wall_s)
            print(f"run {run}: from disk {fresh.wall_s:5.2f} s wall, {fresh.cpu_s:5.2f} s CPU   "
                  f"copy {loaded.wall_s:5.2f} s wall, {loaded.cpu_s:5.2f} s CPU")
    print(f"copy: {statistics.median(disk) / statistics.median(copies):.1f}x faster than reading from disk "
          f"(medians {statistics.median(copies):.2f} s vs {statistics.median(disk):.2f} s); "
          f"every copy has the fingerprint of a fresh load: {same}")


if __name__ == "__main__":
    main()
