"""Evaluation speed: polyret's encode-once XQuAD-R evaluation vs sentence-transformers' evaluator per setting.

Both arms score the same model on the same XQuAD-R queries and candidates (sentences encoded with their paragraph):

- **polyret**: :func:`polyret.evaluation.lareqa.evaluate_lareqa` through a fresh in-memory
  :class:`~polyret.evaluation.store.EmbeddingStore`: every distinct text is encoded once, and one search ranks
  every query in the pooled candidates, from which all settings are read: 11 X-X, 110 X-Y, the multilingual
  setting and the language bias.
- **sentence-transformers**: one ``InformationRetrievalEvaluator`` per setting, as one would run it without
  polyret: X-X and X-Y (queries of X against the candidates of Y) and, per query language, the multilingual pool
  (11 + 110 + 11 = 132 runs on 11 languages). Each run encodes its queries and its corpus.

Both are timed end to end (encoding included: encoding once is the point), wall clock and process CPU time
(``time.process_time``, all threads; less sensitive to other jobs on a shared machine). The script then compares
the metrics both define identically, per setting: MRR@10, nDCG@10 and Recall@1 (X-X, X-Y; one relevant candidate
per language, so also ST's Accuracy@1) or Recall@10 (multilingual). Both break score ties by pool position (the
evaluator's corpus ids are the zero-padded pool positions), so differences come only from floating point. MAP is
not compared as equal: polyret's is average precision over the full ranking, the evaluator's MAP@100 cuts the
ranking at 100 and divides by min(100, R); their largest gap is printed for information.

    python benchmarks/eval_speed.py --data-dir /work/shared/data                     # tiny model, 11 languages
    python benchmarks/eval_speed.py --model models/multilingual-e5-small --device cuda --max-articles 48
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from synthetic import record_texts

from polyret.data.lareqa import LAREQA_LANGUAGES

T = TypeVar("T")

DEFAULT_LANGUAGES = ",".join(LAREQA_LANGUAGES["xquad-r"])
MULTI = "multi"
"""The pool name of the multilingual setting (all languages)."""

SHARED_METRICS = {  # polyret name -> evaluator name, per kind of setting
    "pair": {"mrr@10": "mrr@10", "ndcg@10": "ndcg@10", "r@1": "recall@1"},
    MULTI: {"mrr@10": "mrr@10", "ndcg@10": "ndcg@10", "r@10": "recall@10"},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="sentence-transformers model directory (default: a tiny random BERT)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--languages", default=DEFAULT_LANGUAGES, help="comma-separated XQuAD-R languages")
    parser.add_argument("--max-articles", type=int, default=1, help="keep the first N of the 48 articles")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per forward pass (both arms)")
    parser.add_argument("--data-dir", type=Path, default=None, help="polyret data directory")
    parser.add_argument("--count-only", action="store_true",
                        help="print the texts and tokens each arm would encode, run neither")
    return parser.parse_args()


@dataclass(frozen=True, slots=True)
class Timed:
    """A result with the wall-clock and process CPU seconds it took."""

    value: Any
    wall_s: float
    cpu_s: float


def timed(run: Callable[[], T]) -> Timed:
    """Run ``run()`` and measure it."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = run()
    return Timed(value, time.perf_counter() - wall, time.process_time() - cpu)


def main() -> None:
    args = parse_args()
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer

    from polyret.data.lareqa import load_lareqa
    from polyret.evaluation.lareqa import evaluate_lareqa
    from polyret.evaluation.store import EmbeddingStore
    from polyret.models.encoders import SentenceTransformerEncoder

    task = first_articles(load_lareqa("xquad-r", languages=args.languages.split(","), data_dir=args.data_dir),
                          args.max_articles)
    with tempfile.TemporaryDirectory(prefix="polyret-eval-speed-") as tmp:
        model_path = args.model or str(_tiny_model(Path(tmp) / "tiny", args))
        model = SentenceTransformer(model_path, device=args.device)
    encoder = SentenceTransformerEncoder(model, batch_size=args.batch_size)
    encoder.encode([q.text for q in task.queries[: args.batch_size]], "query")  # warm-up, in neither arm's time
    n_settings = len(task.query_languages) * (len(task.passage_languages) + 1)
    print(f"model {model_path}; device {args.device}; {len(task.query_languages)} languages, "
          f"{len({q.group for q in task.queries})} articles: {len(task.queries)} queries, {len(task.passages)} "
          f"candidates; batch {args.batch_size}")

    if args.count_only:
        print_token_totals(model, task)
        return
    stores: list[EmbeddingStore] = []  # the arm's fresh store, kept to explain differences afterwards

    def polyret_arm():
        stores.append(EmbeddingStore(encoder))
        return evaluate_lareqa(task, stores[0], batch_size=args.batch_size)

    ours = timed(polyret_arm)
    print(f"{'polyret evaluate_lareqa':>36}: wall {ours.wall_s:8.2f} s, CPU {ours.cpu_s:8.2f} s "
          f"({len(task.queries) + len(task.passages)} texts encoded, 1 pass, {n_settings} settings + bias)",
          flush=True)
    theirs = timed(lambda: evaluator_scores(model, task, args.batch_size))
    encoded = sum(n for _, n in theirs.value.values())
    print(f"{'sentence-transformers IR evaluator':>36}: wall {theirs.wall_s:8.2f} s, CPU {theirs.cpu_s:8.2f} s "
          f"({encoded} texts encoded, {len(theirs.value)} evaluator runs)")
    print(f"speed-up (sentence-transformers / polyret): wall {theirs.wall_s / ours.wall_s:.1f}x, "
          f"CPU {theirs.cpu_s / ours.cpu_s:.1f}x")
    print_token_totals(model, task)
    if report_differences(ours.value, {key: scores for key, (scores, _) in theirs.value.items()}) > 1e-12:
        explain_differences(model, stores[0], task, args.batch_size)


def first_articles(task, max_articles: int):
    """``task`` restricted to its first ``max_articles`` article groups (in pool order)."""
    groups = list(dict.fromkeys(p.group for p in task.passages))
    return task.subset(groups=groups[:max_articles])


def _tiny_model(out_dir: Path, args: argparse.Namespace) -> Path:
    from polyret.data.lareqa import load_parallel_qa
    from polyret.models.tiny import build_tiny_model

    records = load_parallel_qa("xquad-r", languages=args.languages.split(","), data_dir=args.data_dir)
    return build_tiny_model(out_dir, record_texts(records), vocab_size=8000, hidden_size=64, max_seq_length=128)


def settings(task) -> Iterator[tuple[str, str, dict[str, str], dict[str, str], dict[str, set[str]]]]:
    """Every (query language, pool) setting as the evaluator's queries, corpus and relevant documents.

    Corpus ids are zero-padded pool positions, so the evaluator's tie rule (ascending id) is polyret's.
    """
    candidates = [(f"{i:07d}", p.lang, text)
                  for i, (p, text) in enumerate(zip(task.passages, texts_of(task, "passage"), strict=True))]
    position = {p.id: i for i, p in enumerate(task.passages)}
    for query_lang in task.query_languages:
        queries = [q for q in task.queries if q.lang == query_lang]
        for pool in (*task.passage_languages, MULTI):
            in_pool = [pool in (MULTI, lang) for _, lang, _ in candidates]
            corpus = {cid: text for (cid, _, text), keep in zip(candidates, in_pool, strict=True) if keep}
            relevant = {q.id: {candidates[position[pid]][0] for pid, grade in task.qrels[q.id].items()
                               if grade > 0 and in_pool[position[pid]]} for q in queries}
            yield query_lang, pool, {q.id: q.text for q in queries}, corpus, relevant


def prompt_name(model, role: str) -> str | None:
    """The model's prompt for ``role`` (``query``/``passage``) when it has one, as polyret's encoder picks it."""
    return role if role in (model.prompts or {}) else None


def texts_of(task, role: str) -> list[str]:
    """The texts both arms encode for ``role``: the questions, or the candidate sentences with their paragraph."""
    if role == "query":
        return [q.text for q in task.queries]
    return [p.input_text(with_context=True) for p in task.passages]


def print_token_totals(model, task) -> None:
    """Print :func:`token_totals` and their ratio."""
    ours, theirs = token_totals(model, task)
    print(f"tokens encoded (prompt included, cut at max_seq_length {model.max_seq_length}): polyret {ours:,}, "
          f"sentence-transformers {theirs:,}; ratio {theirs / ours:.1f}x")


def token_totals(model, task) -> tuple[int, int]:
    """Tokens each arm feeds the model: every distinct text once (polyret) vs every text of every setting (ST).

    With a model whose cost grows with tokens, their ratio predicts the speed-up without running the evaluators
    (``--count-only``).
    """
    def lengths(texts: list[str], role: str) -> list[int]:
        prompt = (model.prompts or {}).get(role, "")
        encoded = model.tokenizer([prompt + text for text in texts], truncation=True,
                                  max_length=model.max_seq_length)["input_ids"]
        return [len(ids) for ids in encoded]

    query_tokens = dict(zip([q.id for q in task.queries], lengths(texts_of(task, "query"), "query"), strict=True))
    passage_tokens = lengths(texts_of(task, "passage"), "passage")
    ours = sum(query_tokens.values()) + sum(passage_tokens)
    theirs = 0
    for _, _, queries, corpus, _ in settings(task):
        theirs += sum(query_tokens[qid] for qid in queries) + sum(passage_tokens[int(cid)] for cid in corpus)
    return ours, theirs


def evaluator_scores(model, task, batch_size: int) -> dict[tuple[str, str], tuple[dict[str, float], int]]:
    """One ``InformationRetrievalEvaluator`` run per setting: (query language, pool) -> (scores, texts encoded)."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    results = {}
    for query_lang, pool, queries, corpus, relevant in settings(task):
        evaluator = InformationRetrievalEvaluator(
            queries, corpus, relevant, batch_size=batch_size, mrr_at_k=[10], ndcg_at_k=[10], accuracy_at_k=[1],
            precision_recall_at_k=[1, 10], map_at_k=[100], write_csv=False,
            query_prompt_name=prompt_name(model, "query"), corpus_prompt_name=prompt_name(model, "passage"),
        )
        scores = evaluator(model)
        prefix = f"{model.similarity_fn_name}_"
        results[query_lang, pool] = ({k.removeprefix(prefix): v for k, v in scores.items()},
                                     len(evaluator.queries) + len(corpus))
    return results


def report_differences(result, theirs: dict[tuple[str, str], dict[str, float]]) -> float:
    """Print the largest absolute difference per shared metric and the (informational) MAP gap; return the largest."""
    gaps: dict[str, float] = {}
    map_gap = 0.0
    for (query_lang, pool), scores in theirs.items():
        if pool == MULTI:
            ours = result.details["multi_by_lang"][query_lang]
        else:
            ours = {name: matrix[query_lang][pool] for name, matrix in result.matrices.items()}
        kind = MULTI if pool == MULTI else "pair"
        for name, their_name in SHARED_METRICS[kind].items():
            key = f"{kind}.{name}"
            gaps[key] = max(gaps.get(key, 0.0), abs(ours[name] - scores[their_name]))
        map_gap = max(map_gap, abs(ours["map"] - scores["map@100"]))
    print(f"max |polyret - sentence-transformers| over {len(theirs)} settings (same definitions):")
    for key, gap in gaps.items():
        print(f"  {key:>14}: {gap:.2e}")
    print(f"  overall max: {max(gaps.values()):.2e}")
    print(f"  (not comparable: polyret map = full-ranking AP, evaluator MAP@100 = AP cut at 100 / min(100, R); "
          f"max gap {map_gap:.4f})")
    print(f"polyret only: multi.bias {result.scores['multi.bias']:.2f}, multi.bias_norm "
          f"{result.scores['multi.bias_norm']:.4f}, multi.map {result.scores['multi.map']:.4f}")
    return max(gaps.values())


def explain_differences(model, store, task, batch_size: int, top: int = 10) -> None:
    """Show why the arms' metrics differ: compare polyret's top-``top`` orderings per X-Y setting with those of
    embeddings made as the evaluator makes them (queries of one language, candidates of one language per call).

    A text's embedding depends slightly on the batch it was padded with, so a ranking can flip where two candidates
    score within float32 rounding; this prints the largest embedding difference and the largest score gap at which
    an ordering differs (tie-level gaps mean the numbers are equal up to float32 ties).
    """
    import numpy as np

    def ordering(scores):
        return np.argsort(-scores, axis=1, kind="stable")[:, :top]

    pooled, by_lang = {}, {}
    for role, items in (("query", task.queries), ("passage", task.passages)):
        texts = texts_of(task, role)
        pooled[role] = store.embed(texts, role, batch_size=batch_size)  # already in the store: nothing encoded
        for lang in {item.lang for item in items}:
            rows = [i for i, item in enumerate(items) if item.lang == lang]
            vectors = model.encode([texts[i] for i in rows], prompt_name=prompt_name(model, role),
                                   batch_size=batch_size, convert_to_numpy=True)
            by_lang[role, lang] = rows, vectors
    embedding_gap = max(float(np.abs(vectors - pooled[role][rows]).max())
                        for (role, _), (rows, vectors) in by_lang.items())
    pooled_q, pooled_p = pooled["query"], pooled["passage"]
    flips, score_gap = 0, 0.0
    for query_lang in task.query_languages:
        q_rows, q_vectors = by_lang["query", query_lang]
        for passage_lang in task.passage_languages:
            p_rows, p_vectors = by_lang["passage", passage_lang]
            pooled_scores = pooled_q[q_rows] @ pooled_p[p_rows].T
            ours, theirs = ordering(pooled_scores), ordering(q_vectors @ p_vectors.T)
            for row in np.flatnonzero((ours != theirs).any(axis=1)):
                rank = int(np.argmax(ours[row] != theirs[row]))
                ranked = np.sort(pooled_scores[row])[::-1]
                flips += 1
                score_gap = max(score_gap, float(ranked[rank] - ranked[rank + 1]))
    print(f"why they differ: per-language encoding vs polyret's pooled encoding: max |embedding difference| "
          f"{embedding_gap:.1e}; {flips} of {len(task.queries) * len(task.passage_languages)} X-Y top-{top} orderings "
          f"differ, each where two candidates score within {score_gap:.1e} (float32 ties)")


if __name__ == "__main__":
    main()
