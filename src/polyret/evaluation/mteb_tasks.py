"""polyret's evaluation tasks as mteb tasks, read from polyret's data directory (never from the Hugging Face Hub).

- :class:`XQuADRPooledRetrieval`, :class:`MLQARPooledRetrieval` (not in mteb): LAReQA's pooled multilingual
  retrieval. One subset per query language; every subset searches the same pool of every language's sentences
  (encoded with their paragraph). mteb's retrieval scores (``ndcg_at_10``, ``map_at_1000``, ``recall_at_1``, ...)
  come from mteb's own evaluator; polyret's LAReQA scores of the subset's queries are added as ``polyret_<key>``
  (``polyret_multi.map`` = full-pool AP, the main score; ``polyret_mono.map``, ``polyret_cross.map``,
  ``polyret_multi.bias``, ...), computed by :func:`polyret.evaluation.lareqa.evaluate_lareqa` from the same model.
- :class:`CLSDWMT19` / :class:`CLSDWMT21` under mteb's names ``CrossLingualSemanticDiscriminationWMT19`` / ``WMT21``,
  built as mteb builds them (each direction's corpus holds the true translation and the four distractors of every
  row; ``recall_at_1`` is the main score), plus ``polyret_acc``: polyret's CLSD accuracy (the true translation beats
  the row's own four distractors, every text encoded as a query). :class:`CLSDWMT19MT` / :class:`CLSDWMT21MT` are the
  English machine-translated variants (not in mteb).
- :class:`NTREX` and :class:`Tatoeba` under mteb's names ``NTREXBitextMining`` and ``Tatoeba`` (mteb's subsets, for
  the languages polyret loaded).

Every class takes the data polyret already loaded (a slice of a suite task) or, given none, loads the whole set
from the data directory. A slice is named in ``data_slice``, which then becomes part of the ``dataset_revision``
written into result files (:mod:`polyret.evaluation.mteb_results`), so sliced and whole runs never look alike.

Example::

    import mteb
    from polyret.models.mteb_model import load_mteb_model
    from polyret.evaluation.mteb_tasks import XQuADRPooledRetrieval, CLSDWMT19

    results = mteb.evaluate(load_mteb_model("multilingual-e5-small"), [XQuADRPooledRetrieval(), CLSDWMT19()],
                            cache=None)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from polyret.data.clsd import clsd_direction, load_clsd
from polyret.data.lareqa import load_lareqa
from polyret.data.parallel import load_ntrex, load_tatoeba, ntrex_files
from polyret.data.records import DiscriminationItem, ParallelCorpus, RetrievalTask
from polyret.errors import UsageError
from polyret.evaluation.clsd import evaluate_clsd
from polyret.evaluation.lareqa import evaluate_lareqa
from polyret.evaluation.store import EmbeddingStore
from polyret.models.mteb_model import mteb_language, require_mteb

require_mteb()

from datasets import Dataset  # noqa: E402
from mteb._create_dataloaders import _create_dataloader_from_texts  # noqa: E402
from mteb.abstasks.retrieval import AbsTaskRetrieval  # noqa: E402
from mteb.abstasks.task_metadata import TaskMetadata  # noqa: E402
from mteb.tasks.bitext_mining.multilingual.ntrex_bitext_mining import NTREXBitextMining  # noqa: E402
from mteb.tasks.bitext_mining.multilingual.tatoeba_bitext_mining import TatoebaBitextMining  # noqa: E402
from mteb.tasks.retrieval.multilingual.cross_lingual_semantic_discrimination_wmt19 import (  # noqa: E402
    CrossLingualSemanticDiscriminationWMT19,
)
from mteb.tasks.retrieval.multilingual.cross_lingual_semantic_discrimination_wmt21 import (  # noqa: E402
    CrossLingualSemanticDiscriminationWMT21,
)
from mteb.types import PromptType  # noqa: E402

SPLIT = "test"
SCORE_PREFIX = "polyret_"
"""mteb score keys of polyret's own scores (``polyret_multi.map``, ``polyret_acc``)."""
LAREQA_COMMIT = "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c"
MLQA_R_COMMIT = "354d67d1cd066854cdfbf5ad0e6105528976141d"
CLSD_COMMIT = "ba143c27c3db67a1f3ef2303cd5cc9fe127681f8"
NTREX_COMMIT = "8561f6a622db9edad1217683e5c83daefd8bb2bf"
TATOEBA_COMMIT = "74bc6ae7ffb7cba670fe0f428d0ede9f666fb821"


class MtebModelEncoder:
    """An mteb encoder seen as a polyret :class:`~polyret.models.protocol.Encoder` inside one task subset, so that
    polyret's evaluators score the model mteb is evaluating (role ``passage`` -> ``PromptType.document``, ``query``
    -> ``PromptType.query``)."""

    def __init__(self, model: Any, task_metadata: TaskMetadata, hf_subset: str, encode_kwargs: dict[str, Any]):
        meta = model.mteb_model_meta
        self.model = model
        self.name = str(meta.name)
        self._id = f"mteb:{meta.name}@{meta.revision}"
        self._call = {"task_metadata": task_metadata, "hf_split": SPLIT, "hf_subset": hf_subset, **encode_kwargs}

    def fingerprint(self) -> str:
        return self._id

    def encode(self, texts: Sequence[str], role: str, *, batch_size: int = 32, show_progress: bool = False):
        """Unit float32 rows of ``texts`` from the mteb model, with the prompt type of ``role``."""
        prompt_type = PromptType.document if role == "passage" else PromptType.query
        loader = _create_dataloader_from_texts(list(texts), batch_size=batch_size)
        vectors = self.model.encode(loader, prompt_type=prompt_type, **self._call)
        vectors = np.asarray(vectors.cpu() if hasattr(vectors, "cpu") else vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)


def _polyret_store(task: Any, model: Any, hf_subset: str, encode_kwargs: dict[str, Any]) -> EmbeddingStore:
    return EmbeddingStore(MtebModelEncoder(model, task.metadata, hf_subset, dict(encode_kwargs)))


def _prefixed(scores: dict[str, float]) -> dict[str, float]:
    return {f"{SCORE_PREFIX}{key}": float(value) for key, value in scores.items()}


def _local_data(metadata: TaskMetadata, folder: str, commit: str, **changes: Any) -> TaskMetadata:
    """``metadata`` pointing at polyret's copy of the data (folder and upstream commit) instead of the Hub."""
    return metadata.model_copy(update={"dataset": {"path": f"polyret-data/{folder}", "revision": commit}, **changes})


class PolyretTaskMixin:
    """What every polyret mteb task shares: the slice label and the revision written into result files."""

    data_slice: str | None = None
    metadata: TaskMetadata

    @property
    def dataset_revision(self) -> str:
        """The data revision, with the slice when only part of the set is evaluated."""
        revision = self.metadata.dataset["revision"]
        return revision if self.data_slice is None else f"{revision}+{self.data_slice}"


class PooledLareqaRetrieval(PolyretTaskMixin, AbsTaskRetrieval):
    """LAReQA pooled retrieval over every language's sentences; one subset per query language.

    Args:
        task: the loaded task (e.g. a suite's slice); ``None`` loads the whole set from ``data_dir``.
        with_context: encode each candidate sentence with its paragraph (LAReQA's protocol).
        data_dir: polyret's data directory (default: :func:`polyret.settings.data_dir`).
        data_slice: a label of the slice ``task`` holds (``None``: the whole set).
    """

    dataset_name: ClassVar[str]

    def __init__(
        self, task: RetrievalTask | None = None, *, with_context: bool = True, data_dir: str | Path | None = None,
        data_slice: str | None = None, **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.polyret_task = task if task is not None else load_lareqa(self.dataset_name, data_dir=data_dir)
        self.with_context = with_context
        self.data_slice = data_slice
        present = set(self.polyret_task.query_languages)
        self.hf_subsets = [lang for lang in self.metadata.hf_subsets if lang in present]

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """Every subset: its language's queries, the whole pool as corpus, the qrels."""
        if self.data_loaded:
            return
        task = self.polyret_task
        corpus = Dataset.from_dict({"id": [p.id for p in task.passages],
                                    "text": [p.input_text(self.with_context) for p in task.passages]})
        self.dataset = {}
        for lang in self.hf_subsets:
            queries = [q for q in task.queries if q.lang == lang]
            self.dataset[lang] = {SPLIT: {
                "corpus": corpus,
                "queries": Dataset.from_dict({"id": [q.id for q in queries], "text": [q.text for q in queries]}),
                "relevant_docs": {q.id: dict(task.qrels.get(q.id, {})) for q in queries},
                "top_ranked": None,
            }}
        self.data_loaded = True

    def _evaluate_subset(self, model: Any, data_split: Any, *, hf_split: str, hf_subset: str, **kwargs: Any):
        scores = super()._evaluate_subset(model, data_split, hf_split=hf_split, hf_subset=hf_subset, **kwargs)
        store = _polyret_store(self, model, hf_subset, kwargs.get("encode_kwargs", {}))
        result = evaluate_lareqa(self.polyret_task.subset(query_langs=[hf_subset]), store,
                                 with_context=self.with_context)
        return scores | _prefixed(result.scores)


def _lareqa_metadata(name: str, dataset: str, languages: Sequence[str], commit: str, **fields: Any) -> TaskMetadata:
    langs = {lang: mteb_language(lang) for lang in languages}
    return TaskMetadata(
        name=name,
        dataset={"path": f"polyret-data/{dataset}", "revision": commit},
        description=f"LAReQA {dataset.upper()} pooled multilingual answer retrieval: each query language's "
                    "questions search one pool holding the candidate sentences (with their paragraph) of every "
                    "language; main score is polyret's full-pool mean average precision.",
        reference="https://arxiv.org/abs/2004.05484",
        type="Retrieval",
        category="t2t",
        modalities=["text"],
        eval_splits=[SPLIT],
        eval_langs={lang: [code, *(c for other, c in langs.items() if other != lang)] for lang, code in langs.items()},
        main_score=f"{SCORE_PREFIX}multi.map",
        domains=["Encyclopaedic", "Written"],
        task_subtypes=["Question answering"],
        annotations_creators="human-annotated",
        dialect=[],
        sample_creation="human-translated",
        bibtex_citation="",
        **fields,
    )


class XQuADRPooledRetrieval(PooledLareqaRetrieval):
    dataset_name = "xquad-r"
    metadata = _lareqa_metadata("PolyretXQuADRPooledRetrieval", "xquad-r",
                                ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"), LAREQA_COMMIT,
                                license="cc-by-sa-4.0")


class MLQARPooledRetrieval(PooledLareqaRetrieval):
    dataset_name = "mlqa-r"
    metadata = _lareqa_metadata("PolyretMLQARPooledRetrieval", "mlqa-r",
                                ("ar", "de", "en", "es", "hi", "vi", "zh"), MLQA_R_COMMIT, license="cc-by-nc-4.0")


CLSD_SUBSETS = {"de-fr": "deu-fra", "fr-de": "fra-deu"}
"""polyret's CLSD direction -> mteb's subset (query language - candidate language)."""


class ClsdRetrieval(PolyretTaskMixin, AbsTaskRetrieval):
    """CLSD as mteb builds it: per direction, the corpus holds every row's true translation and four distractors.

    Args:
        items: the loaded items of both directions (e.g. a suite's slice); ``None`` loads the whole set.
        data_dir: polyret's data directory.
        data_slice: a label of the slice ``items`` holds (``None``: the whole set).
    """

    year: ClassVar[int]
    machine_translated: ClassVar[bool] = False

    def __init__(
        self, items: list[DiscriminationItem] | None = None, *, data_dir: str | Path | None = None,
        data_slice: str | None = None, **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if items is None:
            items = load_clsd(self.year, machine_translated=self.machine_translated, data_dir=data_dir)
        self.items = {subset: [it for it in items if clsd_direction(it) == direction]
                      for direction, subset in CLSD_SUBSETS.items()}
        self.data_slice = data_slice
        self.hf_subsets = [subset for subset in self.metadata.hf_subsets if self.items.get(subset)]

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """Queries ``Q<row>``, documents ``D<n>``; a candidate equal to the true translation is relevant, as in
        mteb's loader."""
        if self.data_loaded:
            return
        self.dataset = {}
        for subset in self.hf_subsets:
            docs: list[str] = []
            relevant: dict[str, dict[str, int]] = {}
            for item in self.items[subset]:
                first = len(docs)
                docs.extend(item.candidates)
                relevant[f"Q{item.id}"] = {f"D{first + k}": 1 for k, text in enumerate(item.candidates)
                                           if text == item.candidates[0]}
            self.dataset[subset] = {SPLIT: {
                "corpus": Dataset.from_dict({"id": [f"D{n}" for n in range(len(docs))], "text": docs}),
                "queries": Dataset.from_dict({"id": [f"Q{it.id}" for it in self.items[subset]],
                                              "text": [it.query for it in self.items[subset]]}),
                "relevant_docs": relevant,
                "top_ranked": None,
            }}
        self.data_loaded = True

    def _evaluate_subset(self, model: Any, data_split: Any, *, hf_split: str, hf_subset: str, **kwargs: Any):
        scores = super()._evaluate_subset(model, data_split, hf_split=hf_split, hf_subset=hf_subset, **kwargs)
        store = _polyret_store(self, model, hf_subset, kwargs.get("encode_kwargs", {}))
        result = evaluate_clsd(self.items[hf_subset], store, name=self.metadata.name)
        return scores | _prefixed({"acc": result.scores["acc"]})


class CLSDWMT19(ClsdRetrieval):
    year = 2019
    metadata = _local_data(CrossLingualSemanticDiscriminationWMT19.metadata, "clsd", CLSD_COMMIT)


class CLSDWMT21(ClsdRetrieval):
    year = 2021
    metadata = _local_data(CrossLingualSemanticDiscriminationWMT21.metadata, "clsd", CLSD_COMMIT)


def _machine_translated(metadata: TaskMetadata, name: str) -> TaskMetadata:
    return _local_data(metadata, "clsd", CLSD_COMMIT, name=name,
                       eval_langs={subset: ["eng-Latn"] for subset in CLSD_SUBSETS.values()},
                       sample_creation="machine-translated",
                       description=metadata.description + " (every text machine-translated to English, M2M-100)")


class CLSDWMT19MT(CLSDWMT19):
    machine_translated = True
    metadata = _machine_translated(CrossLingualSemanticDiscriminationWMT19.metadata, "PolyretCLSDWMT19MT")


class CLSDWMT21MT(CLSDWMT21):
    machine_translated = True
    metadata = _machine_translated(CrossLingualSemanticDiscriminationWMT21.metadata, "PolyretCLSDWMT21MT")


def ntrex_columns(languages: Sequence[str], known: set[str]) -> dict[str, str]:
    """polyret NTREX language -> mteb's NTREX column (``ar`` -> ``arb_Arab``: NTREX's own code, mteb's script), for
    the languages whose column is in ``known`` (mteb's NTREX languages). Where two languages meet in one column
    (``pt`` and ``pt-BR`` -> ``por_Latn``), the one without a region keeps it."""
    files = ntrex_files()
    columns: dict[str, str] = {}
    for lang in sorted(languages, key=lambda code: (len(code), code)):
        try:
            script = mteb_language(lang).split("-")[1]
        except UsageError:
            continue  # a language mteb has no code for is in none of its subsets
        iso = Path(files[lang]).suffixes[-2].lstrip(".").split("-")[0] if lang in files else lang
        column = f"{iso}_{script}"
        if column in known and column not in columns.values():
            columns[lang] = column
    return columns


class NTREX(PolyretTaskMixin, NTREXBitextMining):
    """NTREX-128 bitext mining as mteb defines it, for mteb's subsets among the languages polyret loaded; the
    loaded languages in no mteb subset are listed in ``left_out``.

    Args:
        corpus: the loaded corpus (``None``: every NTREX-128 language, whole).
        data_dir: polyret's data directory.
        data_slice: a label of the slice ``corpus`` holds (``None``: whole rows).
    """

    metadata = _local_data(NTREXBitextMining.metadata, "ntrex128", NTREX_COMMIT)

    def __init__(self, corpus: ParallelCorpus | None = None, *, data_dir: str | Path | None = None,
                 data_slice: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.corpus = corpus if corpus is not None else load_ntrex(data_dir=data_dir)
        known = {column for subset in self.metadata.hf_subsets for column in subset.split("-", 1)}
        self.columns = ntrex_columns(self.corpus.languages, known)
        self.left_out = sorted(set(self.corpus.languages) - set(self.columns))
        present = set(self.columns.values())
        self.hf_subsets = [s for s in self.metadata.hf_subsets if set(s.split("-")) <= present]
        self.data_slice = data_slice

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        columns = {column: list(self.corpus.texts[lang]) for lang, column in self.columns.items()}
        self.dataset = {SPLIT: Dataset.from_dict(columns)}
        self.data_loaded = True


class Tatoeba(PolyretTaskMixin, TatoebaBitextMining):
    """Tatoeba (LASER v1) bitext mining as mteb defines it (X -> English), for the languages polyret loaded.

    Args:
        corpora: the loaded X–eng corpora (``None``: every language mteb's task has, whole).
        data_dir: polyret's data directory.
        data_slice: a label of the slice ``corpora`` hold (``None``: whole).
    """

    metadata = _local_data(TatoebaBitextMining.metadata, "tatoeba-laser", TATOEBA_COMMIT)

    def __init__(self, corpora: Sequence[ParallelCorpus] | None = None, *, data_dir: str | Path | None = None,
                 data_slice: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if corpora is None:
            corpora = load_tatoeba(data_dir=data_dir)
        self.corpora = {corpus.name.split(":", 1)[1]: corpus for corpus in corpora}
        self.hf_subsets = [s for s in self.metadata.hf_subsets if s in self.corpora]
        self.data_slice = data_slice

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        self.dataset = {}
        for subset in self.hf_subsets:
            corpus = self.corpora[subset]
            other = next(lang for lang in corpus.languages if lang != "en")
            self.dataset[subset] = {SPLIT: Dataset.from_dict({"sentence1": corpus.texts[other],
                                                              "sentence2": corpus.texts["en"]})}
        self.data_loaded = True


__all__ = [
    "CLSDWMT19", "CLSDWMT19MT", "CLSDWMT21", "CLSDWMT21MT", "MLQARPooledRetrieval", "NTREX", "Tatoeba",
    "XQuADRPooledRetrieval",
]
