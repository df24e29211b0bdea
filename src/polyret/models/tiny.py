"""Tiny random-initialised sentence-transformers models, built in seconds, for tests and smoke runs.

The tokenizer is a WordPiece vocabulary trained by ``tokenizers`` on the texts given, so the model handles every
script in them; the encoder is a two-layer BERT with mean pooling and normalisation, saved as a standard
sentence-transformers directory that ``SentenceTransformer(path)`` loads.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

DEFAULT_PROMPTS = {"query": "Query: ", "passage": "Passage: "}


def build_tiny_model(
    out_dir: str | Path,
    texts: Iterable[str],
    *,
    vocab_size: int = 2000,
    hidden_size: int = 32,
    num_layers: int = 2,
    max_seq_length: int = 64,
    seed: int = 0,
    prompts: dict[str, str] | None = None,
) -> Path:
    """Train a WordPiece tokenizer on ``texts`` and save a tiny random BERT sentence encoder to ``out_dir``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    hf_dir = out_dir / "_hf"
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(list(texts), trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=max_seq_length,
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=hidden_size, num_hidden_layers=num_layers,
        num_attention_heads=2, intermediate_size=hidden_size * 2, max_position_embeddings=max_seq_length + 2,
        pad_token_id=0,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(hf_dir)
    fast.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=max_seq_length)
    model = SentenceTransformer(
        modules=[transformer, Pooling(hidden_size, "mean"), Normalize()],
        device="cpu",
        prompts=dict(prompts or DEFAULT_PROMPTS),
    )
    model.save(str(out_dir))
    shutil.rmtree(hf_dir)
    return out_dir
