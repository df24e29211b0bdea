"""polyret encoders under mteb: an adapter satisfying mteb's ``EncoderProtocol`` and the ``ModelMeta`` describing it.

Any model polyret can load (an alias, a sentence-transformers or Hugging Face directory, a trained run's ``final``
folder, a ``polyret debias`` export, or ``use-multilingual``) runs through ``mteb.evaluate``:

- mteb's ``PromptType.query`` encodes with the model's ``query`` prompt, ``PromptType.document`` with its ``passage``
  prompt, and no prompt type (bitext mining, STS, classification: symmetric tasks) with the ``query`` prompt, as
  polyret encodes its own symmetric tasks (CLSD, bitext);
- the :class:`~mteb.models.model_meta.ModelMeta` carries what polyret knows: name, revision (the weights'
  fingerprint), languages, parameters, embedding size, training data, licence, base model.

mteb is an optional dependency (``pip install 'polyret[mteb]'``); importing this module without it raises one
:class:`~polyret.errors.UsageError` saying so.

Example::

    import mteb
    from polyret.models.mteb_model import load_mteb_model

    model = load_mteb_model("multilingual-e5-small")
    results = mteb.evaluate(model, mteb.get_tasks(tasks=["STS22"]), cache=None)

Relations:
    :mod:`polyret.evaluation.mteb_tasks` turns polyret's tasks into mteb tasks, and
    :mod:`polyret.evaluation.mteb_results` writes a polyret run as mteb result files with this model's meta.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from polyret.errors import UsageError
from polyret.models.protocol import Encoder, Role

MTEB_INSTALL_HINT = "pip install 'polyret[mteb]'"


def require_mteb() -> None:
    """Raise :class:`~polyret.errors.UsageError` naming the extra to install when mteb is missing."""
    try:
        import mteb  # noqa: F401
    except ImportError:
        raise UsageError(f"the mteb interop needs the optional package mteb: {MTEB_INSTALL_HINT}") from None


require_mteb()

from mteb.languages.iso_mappings import _hf_lang_to_iso_lang_script  # noqa: E402
from mteb.models.abs_encoder import AbsEncoder  # noqa: E402
from mteb.models.model_meta import ModelMeta  # noqa: E402
from mteb.types import PromptType  # noqa: E402

if TYPE_CHECKING:
    from mteb.abstasks.task_metadata import TaskMetadata
    from torch.utils.data import DataLoader

ORGANISATION = "polyret"
"""The organisation part of the mteb name of a polyret model (mteb names are ``organisation/model``)."""
TRAINING_DATA_IN_MTEB = {"xquad-r": "XQuADRetrieval", "mlqa-r": "MLQARetrieval"}
"""polyret training sets and the mteb task holding the same texts (a model trained on them is not zero-shot there)."""
TRADITIONAL_CHINESE_REGIONS = frozenset({"TW", "HK", "MO"})


def mteb_language(code: str) -> str:
    """mteb's ``xxx-Scrp`` form of a polyret language code (``de`` -> ``deu-Latn``, ``sr-Latn`` -> ``srp-Latn``,
    ``zh-TW`` -> ``zho-Hant``; other regions keep the language's default script: ``pt-BR`` -> ``por-Latn``).

    Raises:
        UsageError: mteb knows no ISO 639-3 code or default script for the language.
    """
    base, _, suffix = code.partition("-")
    converted = _hf_lang_to_iso_lang_script(base)
    if converted is None:
        raise UsageError(f"language {code!r} has no ISO 639-3 code with a default script in mteb's tables")
    iso, script = converted.split("-")
    if len(suffix) == 4:
        script = suffix.title()
    elif suffix in TRADITIONAL_CHINESE_REGIONS:
        script = "Hant"
    return f"{iso}-{script}"


class PolyretMtebModel(AbsEncoder):
    """A polyret :class:`~polyret.models.protocol.Encoder` as an mteb encoder.

    Each distinct (role, text) is encoded once per adapter: mteb encodes a retrieval corpus once per subset (for
    polyret's pooled LAReQA tasks, once per query language), and the adapter hands back the vectors of the first
    time. The kept vectors cost ``4 x dim`` bytes per distinct text (1.5 KiB at 384 dimensions); make a new
    adapter to drop them.

    Args:
        encoder: the polyret encoder (e.g. from :func:`polyret.models.encoders.get_encoder`).
        meta: the model's metadata (:func:`polyret_model_meta`).
        batch_size: texts per forward pass when mteb does not give one.
    """

    def __init__(self, encoder: Encoder, meta: ModelMeta, *, batch_size: int = 32):
        self.encoder = encoder
        self.mteb_model_meta = meta
        self.batch_size = batch_size
        self._kept: dict[tuple[Role, str], np.ndarray] = {}

    def encode(
        self,
        inputs: DataLoader,
        *,
        task_metadata: TaskMetadata,
        hf_split: str,
        hf_subset: str,
        prompt_type: PromptType | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """Unit float32 vectors of the texts of ``inputs`` (the ``text`` column of each batch), in order."""
        texts = [text for batch in inputs for text in batch["text"]]
        return self.encode_texts(texts, role_of(prompt_type), batch_size=kwargs.get("batch_size"))

    def encode_texts(self, texts: list[str], role: Role, *, batch_size: int | None = None) -> np.ndarray:
        """Vectors of ``texts`` for ``role``, encoding only the texts this adapter has not encoded yet."""
        missing = list(dict.fromkeys(text for text in texts if (role, text) not in self._kept))
        if missing:
            vectors = self.encoder.encode(missing, role, batch_size=batch_size or self.batch_size)
            self._kept.update(((role, text), vector) for text, vector in zip(missing, vectors, strict=True))
        if not texts:
            return np.zeros((0, self.mteb_model_meta.embed_dim or 0), np.float32)
        return np.stack([self._kept[role, text] for text in texts])


def role_of(prompt_type: PromptType | None) -> Role:
    """polyret's role for an mteb prompt type: documents are passages, queries and symmetric inputs queries."""
    return "passage" if prompt_type == PromptType.document else "query"


def polyret_model_meta(encoder: Encoder, *, source: str | Path | None = None, name: str | None = None) -> ModelMeta:
    """The mteb ``ModelMeta`` of ``encoder``, from what polyret knows about the model it was loaded from.

    Args:
        encoder: the encoder (its ``fingerprint()`` becomes the revision).
        source: what the model was loaded from (alias or directory; default ``encoder.name``). An alias brings its
            registry entry (licence, languages, base model); a trained run's ``final`` folder its run's
            ``config.json`` (training data, languages, base model).
        name: the mteb name (``organisation/model``); default ``polyret/<source, slugged>``.
    """
    source = str(source if source is not None else encoder.name)
    facts = _alias_facts(source) or _run_facts(Path(source)) or {}
    return ModelMeta(
        loader=None,
        name=name or f"{ORGANISATION}/{_slug(source)}",
        revision=encoder.fingerprint(),
        release_date=None,
        languages=facts.get("languages"),
        n_parameters=_parameter_count(encoder),
        memory_usage_mb=None,
        max_tokens=getattr(getattr(encoder, "model", None), "max_seq_length", None),
        embed_dim=_embedding_size(encoder),
        license=facts.get("license"),
        open_weights=True,
        public_training_code="https://pypi.org/project/polyret/" if facts.get("trained") else None,
        public_training_data=None,
        framework=["Sentence Transformers", "PyTorch"] if hasattr(encoder, "model") else ["NumPy"],
        similarity_fn_name="cosine",
        use_instructions=bool(getattr(getattr(encoder, "model", None), "prompts", None)),
        training_datasets=facts.get("training_datasets"),
        adapted_from=facts.get("adapted_from"),
    )


def load_mteb_model(
    spec: str | Path, *, device: str | None = None, name: str | None = None, batch_size: int = 32
) -> PolyretMtebModel:
    """Load ``spec`` (alias, directory, run ``final`` folder, debias export) as an mteb encoder with its meta.

    Raises:
        ModelError: ``spec`` cannot be loaded as an encoder.
    """
    from polyret.models.encoders import get_encoder

    encoder = get_encoder(spec, device=device)
    return PolyretMtebModel(encoder, polyret_model_meta(encoder, source=spec, name=name), batch_size=batch_size)


def _slug(text: str) -> str:
    parts = [part for part in Path(text).parts if part not in ("/", ".", "..")]
    return "-".join(parts).replace(" ", "_") or "model"


def _languages(codes: Iterable[str]) -> list[str]:
    return sorted({mteb_language(code) for code in codes})


def _alias_facts(source: str) -> dict[str, Any] | None:
    """Licence, languages and base model of a polyret alias (``None`` for anything else)."""
    from polyret.models.registry import MODELS

    spec = MODELS.get(source)
    if spec is None or Path(source).exists():
        return None
    base = {"multilingual-e5-small": "intfloat/multilingual-e5-small"}.get(source)
    return {"license": spec.licence.lower(), "adapted_from": base, "languages": None}


def _run_facts(model_dir: Path) -> dict[str, Any] | None:
    """Training data, languages and base model from the ``config.json`` of the run holding ``model_dir``."""
    config_file = model_dir.parent / "config.json"
    if not config_file.is_file():
        return None
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        data, base = str(config["data"]), str(config["model"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not a polyret run folder: nothing more is known
    languages = config.get("languages")
    excluded = set(config.get("exclude_languages") or [])
    return {
        "trained": True,
        "training_datasets": {TRAINING_DATA_IN_MTEB.get(data, Path(data).name)} if data else None,
        "languages": _languages(set(languages) - excluded) if languages else None,
        "adapted_from": base if "/" in base else f"{ORGANISATION}/{_slug(base)}",
    }


def _parameter_count(encoder: Encoder) -> int | None:
    model = getattr(encoder, "model", None)
    return sum(p.numel() for p in model.parameters()) if model is not None else None


def _embedding_size(encoder: Encoder) -> int | None:
    model = getattr(encoder, "model", None)
    if model is not None:
        return model.get_embedding_dimension()
    from polyret.models.registry import MODELS

    spec = MODELS.get(encoder.name)
    return spec.dim if spec is not None else None
