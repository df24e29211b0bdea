"""Inputs for the training benchmarks that need no data files and no downloads (e.g. on an offline GPU machine).

- :func:`synthetic_records`: aligned QA records in nine languages, words drawn at random from a small built-in word
  list per script, with XQuAD-R-like lengths.
- :func:`build_model`: a sentence-transformers model with random weights in a real architecture (XLM-R base,
  mBERT base) or polyret's tiny BERT, with a WordPiece tokenizer trained on the given texts.

Both are seeded, so every arm of a benchmark (and every rerun) sees the same records and the same initial weights.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from polyret.data.records import ParallelQA

LANGUAGES = ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh")
"""XQuAD-R's languages without Greek and Vietnamese (the paper's held-out pair)."""

WORDS = {
    "ar": "كتاب مدينة نهر جبل بيت شمس قمر ماء طريق سوق مدرسة علم تاريخ ملك حرب سلام شعب لغة أرض بحر عام يوم كبير جديد "
          "قديم عربي أول آخر مال عمل قلب باب نور وقت",
    "de": "Stadt Fluss Berg Haus Sonne Mond Wasser Straße Markt Schule Wissen Geschichte König Krieg Frieden Volk "
          "Sprache Land Meer Jahr Tag groß neu alt erste letzte Geld Arbeit Herz Tür Licht Zeit wurde nach über",
    "en": "city river mountain house sun moon water road market school science history king war peace people "
          "language land sea year day large new old first last money work heart door light time was after",
    "es": "ciudad río montaña casa sol luna agua camino mercado escuela ciencia historia rey guerra paz pueblo "
          "idioma tierra mar año día grande nuevo viejo primero último dinero trabajo corazón puerta luz tiempo",
    "hi": "शहर नदी पहाड़ घर सूरज चाँद पानी सड़क बाज़ार विद्यालय विज्ञान इतिहास राजा युद्ध शांति लोग भाषा भूमि समुद्र "
          "साल दिन बड़ा नया पुराना पहला आखिरी पैसा काम दिल दरवाज़ा रोशनी समय",
    "ru": "город река гора дом солнце луна вода дорога рынок школа наука история король война мир народ язык земля "
          "море год день большой новый старый первый последний деньги работа сердце дверь свет время",
    "th": "เมือง แม่น้ำ ภูเขา บ้าน ดวงอาทิตย์ ดวงจันทร์ น้ำ ถนน ตลาด โรงเรียน วิทยาศาสตร์ ประวัติศาสตร์ กษัตริย์ สงคราม "
          "สันติภาพ ประชาชน ภาษา แผ่นดิน ทะเล ปี วัน ใหญ่ ใหม่ เก่า แรก สุดท้าย เงิน งาน หัวใจ ประตู แสง เวลา",
    "tr": "şehir nehir dağ ev güneş ay su yol pazar okul bilim tarih kral savaş barış halk dil toprak deniz yıl gün "
          "büyük yeni eski ilk son para iş kalp kapı ışık zaman",
    "zh": "城市 河流 山 房子 太阳 月亮 水 道路 市场 学校 科学 历史 国王 战争 和平 人民 语言 "
          "土地 海 年 天 大 新 旧 第一 最后 钱 工作 心 门 光 时间",
}
WORD_LISTS = {lang: tuple(words.split()) for lang, words in WORDS.items()}

LENGTHS = {"question": (14, 5, 4), "answer": (40, 22, 6), "filler": (135, 80, 10)}
"""Words per field (mean, standard deviation, minimum). A paragraph is filler words followed by the answer. The
means are XQuAD-R's mean word counts (questions 10, gold sentences 29, paragraphs 127 in English) times about 1.4,
the subword tokens per word of a multilingual tokenizer; each synthetic word is one token of the benchmark
tokenizer, so these are also token counts."""

ARCHITECTURES = ("xlmr-base", "bert-base", "tiny")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` / ``--model-config`` (mutually exclusive) and ``--device``, shared by the training benchmarks."""
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", help="sentence-transformers model directory")
    model.add_argument("--model-config", choices=ARCHITECTURES, default="tiny",
                       help="build a random-init model of this architecture (default: a tiny BERT)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")


def synthetic_records(n: int, *, seed: int = 0, languages: Iterable[str] = LANGUAGES) -> list[ParallelQA]:
    """``n`` aligned QA records: per record one length per field (translations are about as long), random words."""
    rng = np.random.default_rng(seed)
    langs = list(languages)
    records = []
    for i in range(n):
        counts = {field: max(low, round(rng.normal(mean, sd))) for field, (mean, sd, low) in LENGTHS.items()}
        texts = {field: {lang: " ".join(rng.choice(WORD_LISTS[lang], count)) for lang in langs}
                 for field, count in counts.items()}
        contexts = {lang: f"{texts['filler'][lang]} {texts['answer'][lang]}" for lang in langs}
        records.append(ParallelQA(f"synthetic-{i}", texts["question"], texts["answer"], contexts, group=str(i // 25)))
    return records


def record_texts(records: Iterable[ParallelQA]) -> list[str]:
    """The questions and answers of ``records`` (what the benchmark tokenizers are trained on)."""
    return [text for record in records for text in (*record.questions.values(), *record.answers.values())]


def build_model(out_dir: Path, architecture: str, texts: list[str], *, max_seq_length: int, **tiny: int) -> Path:
    """Save a random-init sentence encoder of ``architecture`` (see :data:`ARCHITECTURES`) to ``out_dir``.

    ``xlmr-base`` and ``bert-base`` get the sizes of XLM-R base (250,002 vocabulary rows) and multilingual BERT base
    (119,547 rows), so the optimizer updates as many weights as with the real models; the WordPiece tokenizer
    trained on ``texts`` uses only the first rows. ``tiny`` is :func:`polyret.models.tiny.build_tiny_model` with the
    keyword arguments ``tiny``. Mean pooling and normalisation, "Query: "/"Passage: " prompts.
    """
    from polyret.models.tiny import DEFAULT_PROMPTS, build_tiny_model

    if architecture == "tiny":
        return build_tiny_model(out_dir, texts, max_seq_length=max_seq_length, **tiny)
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoModel, AutoTokenizer

    tokenizer_source = build_tiny_model(
        out_dir / "tokenizer", [*texts, *DEFAULT_PROMPTS.values()], vocab_size=30_000, max_seq_length=max_seq_length
    )
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    hf_dir = out_dir / "hf"
    torch.manual_seed(0)
    AutoModel.from_config(_config(architecture, tokenizer.pad_token_id)).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=max_seq_length)
    model = SentenceTransformer(
        modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean"), Normalize()],
        device="cpu", prompts=dict(DEFAULT_PROMPTS),
    )
    model.save(str(out_dir / "model"))
    for scratch in (hf_dir, tokenizer_source):
        shutil.rmtree(scratch)
    return out_dir / "model"


def _config(architecture: str, pad_token_id: int):
    from transformers import BertConfig, XLMRobertaConfig

    base = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
            "pad_token_id": pad_token_id}
    if architecture == "xlmr-base":
        return XLMRobertaConfig(vocab_size=250_002, max_position_embeddings=514, type_vocab_size=1, **base)
    if architecture == "bert-base":
        return BertConfig(vocab_size=119_547, max_position_embeddings=512, type_vocab_size=2, **base)
    raise ValueError(f"unknown architecture {architecture!r}; expected one of {', '.join(ARCHITECTURES)}")

