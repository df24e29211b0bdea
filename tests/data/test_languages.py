"""Language-code mapping from the data sets' spellings to polyret's short codes."""

from __future__ import annotations

import pytest

from polyret.data.languages import normalize_language
from polyret.errors import DataError


@pytest.mark.parametrize(
    ("code", "dataset", "expected"),
    [
        ("arb", "ntrex128", "ar"),
        ("deu", "ntrex128", "de"),
        ("zho-CN", "ntrex128", "zh"),
        ("zho-TW", "ntrex128", "zh-TW"),
        ("ell", "ntrex128", "el"),
        ("srp-Latn", "ntrex128", "sr-Latn"),
        ("cmn", None, "zh"),
        ("deu", None, "de"),
        ("yue", None, "yue"),
        ("es-LA", "tico19", "es"),
        ("pt-BR", "tico19", "pt"),
        ("pt-BR", "ntrex128", "pt-BR"),  # a public data set keeps its regions
        ("pt-BR", None, "pt"),  # a user's file: the region is dropped (with a warning)
        ("pt_BR", None, "pt"),
        ("de-de", None, "de"),
        (" zh-CN ", None, "zh"),
        ("sr_latn", None, "sr-Latn"),
        ("de", None, "de"),
        ("ti-ER", "tico19", "ti-ER"),
    ],
)
def test_codes_map_to_short_codes(code: str, dataset: str | None, expected: str) -> None:
    assert normalize_language(code, dataset=dataset) == expected


def test_unknown_code_is_an_error_naming_file_and_record() -> None:
    with pytest.raises(DataError, match=r"train\.jsonl, line 3: unknown language code 'xx'"):
        normalize_language("xx", path="train.jsonl", record=3)


def test_unknown_code_passes_through_when_allowed() -> None:
    assert normalize_language("xx-Klingon", allow_unknown=True) == "xx-Klingon"
    with pytest.raises(DataError, match="unknown language code ''"):
        normalize_language("", allow_unknown=True)
